import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomId } from '../../src/tokens/random.ts';

describe('randomId', () => {
  it('returns base64url ids of the requested size, never twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = randomId(16);
      assert.match(id, /^[A-Za-z0-9_-]{22}$/);
      assert.ok(!seen.has(id));
      seen.add(id);
    }
    assert.equal(Buffer.from(randomId(32), 'base64url').length, 32);
    assert.equal(Buffer.from(randomId(1), 'base64url').length, 1);
    assert.equal(Buffer.from(randomId(256), 'base64url').length, 256);
  });

  it('looks uniform: every byte value turns up, no byte dominates', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2000; i++) for (const byte of Buffer.from(randomId(32), 'base64url')) counts[byte]!++;
    // 64 000 bytes: 250 expected per value.
    assert.ok(
      Math.min(...counts) > 150 && Math.max(...counts) < 360,
      `${Math.min(...counts)}..${Math.max(...counts)}`,
    );
  });

  it('refuses sizes outside 1..256', () => {
    for (const bad of [0, -1, 257, 1.5, Number.NaN]) assert.throws(() => randomId(bad), RangeError);
  });
});
