import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { MemoryStore } from '../../src/index.ts';
import { storeConformanceSuite } from '../../src/testing/index.ts';

storeConformanceSuite('MemoryStore', () => new MemoryStore(), {
  describe,
  it,
  before,
  after,
  beforeEach,
  afterEach,
});
