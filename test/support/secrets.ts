/**
 * The secret scan of the "nothing secret is written" tests (events, log
 * lines, OpenTelemetry spans and metrics): what a token gives away if
 * written, collected as the test goes, then searched for in everything that
 * was written.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponse } from '../../src/http/index.ts';
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

export interface RecordedReply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Requests to an auth handler from one client (`userAgent`, 192.0.2.10) whose
 * answered tokens are added to `secrets` as they come: `send` POSTs `json`
 * (GETs without it), with a Bearer `token` and a `query` if given; `login`
 * logs thedude in and answers his tokens.
 */
export function recordingClient(
  handler: (req: HttpRequest) => Promise<HttpResponse | undefined>,
  secrets: Secrets,
  store: SessionStore,
  userAgent: string,
) {
  const send = async (
    path: string,
    json: Record<string, unknown> | undefined,
    token?: string,
    query = '',
  ): Promise<RecordedReply> => {
    const req: HttpRequest = {
      method: json === undefined ? 'GET' : 'POST',
      path,
      headers: {
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        'user-agent': userAgent,
      },
      query: new URLSearchParams(query),
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      ip: '192.0.2.10',
    };
    const response = await handler(req);
    assert.ok(response, path);
    const body = response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {};
    for (const field of ['access_token', 'refresh_token']) await secrets.addToken(body[field], store);
    return { status: response.status, body };
  };
  const login = async () => {
    const { status, body } = await send('/auth/login', { username: 'thedude', password: 'abides' });
    assert.equal(status, 200, JSON.stringify(body));
    return { access: body.access_token as string, refresh: body.refresh_token as string };
  };
  return { send, login };
}
