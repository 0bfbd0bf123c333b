/** `baton-auth/audit` loads a driver only when its target needs one, as the stores do. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWithout } from '../support/hidden-packages.ts';

/** Runs `source` as an ES module in a child where `hidden` cannot be loaded; answers its stdout as JSON. */
function runJson(hidden: string[], source: string): unknown {
  const result = runWithout(hidden, source);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

const attempt = (target: string) => `
  try { const trail = await createAuditTrail(${JSON.stringify(target)}); await trail.close(); out.push('opened'); }
  catch (error) { out.push(error.code + ': ' + error.message); }`;

describe('audit trail drivers', () => {
  it('imports and records in memory with no driver installed; a URL needing one names it', () => {
    const out = runJson(
      ['better-sqlite3', 'ioredis', 'pg'],
      `const { createAuditTrail } = await import('baton-auth/audit');
       const out = [];
       ${attempt('memory')}
       ${attempt('sqlite:/nonexistent-baton-dir/audit.db')}
       ${attempt('redis://127.0.0.1:1')}
       ${attempt('postgres://postgres@127.0.0.1:1/none')}
       console.log(JSON.stringify(out));`,
    );
    assert.deepEqual(out, [
      'opened',
      'store_driver_missing: the SQLite store needs the "better-sqlite3" package: npm install better-sqlite3',
      'store_driver_missing: the Redis store needs the "ioredis" package: npm install ioredis',
      'store_driver_missing: the PostgreSQL store needs the "pg" package: npm install pg',
    ]);
  });
});
