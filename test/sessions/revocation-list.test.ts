import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../../src/index.ts';
import { RevocationList } from '../../src/sessions/revocation-list.ts';

const START = Date.UTC(2030, 0, 1);

describe('RevocationList', () => {
  it('holds a revoked session until its expiry, then forgets it', () => {
    const clock = new ManualClock(START);
    const list = new RevocationList(clock);
    list.add({ kind: 'session', id: 'sid-1', expiresAt: START + 60_000 });
    assert.equal(list.isSessionRevoked('sid-1', START), true);
    assert.equal(list.isSessionRevoked('sid-2', START), false);
    assert.equal(list.isTokenRevoked('sid-1', START), false, 'sessions and token ids are separate sets');
    assert.equal(list.isSessionRevoked('sid-1', START + 59_999), true);
    assert.equal(list.isSessionRevoked('sid-1', START + 60_000), false);
    assert.equal(list.size, 0, 'the expired entry was dropped when met');
  });

  it('counts additions, which expiry never undoes', () => {
    const list = new RevocationList(new ManualClock(START));
    assert.equal(list.additions, 0);
    list.add({ kind: 'session', id: 'a', expiresAt: START + 1000 });
    list.addAll([
      { kind: 'token', id: 'j', expiresAt: START + 1000 },
      { kind: 'session', id: 'b', expiresAt: START + 1000 },
    ]);
    assert.equal(list.additions, 3);
    assert.equal(list.isSessionRevoked('a', START + 5000), false);
    list.sweep(START + 5000);
    assert.equal(list.size, 0);
    assert.equal(list.additions, 3);
  });

  it('keeps the later of two expiries for the same id', () => {
    const list = new RevocationList(new ManualClock(START));
    list.add({ kind: 'token', id: 'jti-1', expiresAt: START + 120_000 });
    list.add({ kind: 'token', id: 'jti-1', expiresAt: START + 60_000 });
    assert.equal(list.size, 1);
    assert.equal(list.isTokenRevoked('jti-1', START + 90_000), true);
  });

  it('answers exactly for a million entries, none of which a lookup of another id finds', () => {
    const list = new RevocationList(new ManualClock(START));
    const count = 1_000_000;
    for (let i = 0; i < count; i++) {
      list.add({ kind: 'session', id: `revoked-${i}`, expiresAt: START + 3_600_000 });
    }
    assert.equal(list.size, count);
    for (let i = 0; i < count; i += 997) assert.equal(list.isSessionRevoked(`revoked-${i}`, START), true);
    for (let i = 0; i < 100_000; i++) assert.equal(list.isSessionRevoked(`live-${i}`, START), false);
  });

  it('property: answers as a plain map of id -> expiry would, through growth, sweeps and expiry', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => `s${i}`);
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        first: fc.nat(ids.length - 1),
        count: fc.integer({ min: 1, max: 1500 }),
        ttl: fc.integer({ min: 1, max: 600 }),
      }),
      fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant('sweep' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const clock = new ManualClock(START);
        const list = new RevocationList(clock);
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'tick') clock.advance(o.seconds);
          else if (o.kind === 'sweep') list.sweep(clock.now());
          else {
            const expiresAt = clock.now() + o.ttl * 1000;
            for (let i = o.first; i < Math.min(ids.length, o.first + o.count); i++) {
              const id = ids[i]!;
              list.add({ kind: 'session', id, expiresAt });
              model.set(id, Math.max(model.get(id) ?? 0, expiresAt));
            }
          }
          const now = clock.now();
          for (const id of ids) {
            const expected = (model.get(id) ?? 0) > now;
            assert.equal(list.isSessionRevoked(id, now), expected, `${id} at +${(now - START) / 1000}s`);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
