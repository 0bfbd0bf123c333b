/**
 * The secret scan of the "nothing secret is written" tests (events, log
 * lines, OpenTelemetry spans and metrics): what a token gives away if
 * written, collected as the test goes, then searched for in everything that
 * was written.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { SessionStore } from '../../src/index.ts';

/** What must never be written: tokens, proofs, their secret parts, what the store keeps of them. */
export class Secrets {
  readonly values: Set<string>;

  constructor(values: Iterable<string> = []) {
    this.values = new Set(values);
  }

  /**
   * A token (or a DPoP proof): a JWT's signature is its secret part (its
   * claims are none); an opaque refresh token's secret, its hash, and the
   * hash and salt the store keeps of it (with `store`).
   */
  async addToken(token: unknown, store?: SessionStore): Promise<void> {
    if (typeof token !== 'string' || token === '') return;
    this.values.add(token);
    const parts = token.split('.');
    if (parts.length === 3) {
      this.values.add(parts[2]!);
      return;
    }
    // An opaque refresh token: `<sessionId>.<secret>` (callbacks: `<user>.<secret>[.<client>]`).
    const secret = parts[1]!;
    this.values.add(secret);
    this.values.add(createHash('sha256').update(secret).digest('base64url'));
    const session = await store?.getSession(parts[0]!);
    if (session) {
      this.values.add(session.tokenHash);
      this.values.add(session.secretSalt);
    }
  }

  /** Fails naming the first characters of any secret found in `written` (`least`: how many secrets must have been collected). */
  assertNoneIn(written: readonly string[], least: number): void {
    assert.ok(this.values.size >= least, `${this.values.size} secrets collected`);
    for (const secret of this.values) {
      const found = written.filter((text) => text.includes(secret));
      assert.deepEqual(found, [], `a secret (${secret.slice(0, 12)}…) was written`);
    }
  }
}
