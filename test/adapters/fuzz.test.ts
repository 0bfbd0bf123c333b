/**
 * Property-based fuzzing of the demo contract on every adapter and store:
 * random methods, paths, headers, cookies, bodies (JSON, form, garbage, huge,
 * deeply nested) and tokens (real ones, mutated). Whatever comes in: never a
 * 5xx, never a stack trace, errors always in Baton's `{error, message}` shape
 * (the OAuth routes' `{error, error_description}`), an answer within bounds,
 * and nothing reported to onUnexpectedError.
 *
 * Seeded: a failure prints its seed; replay with BATON_FUZZ_SEED=<seed>.
 * BATON_FUZZ_RUNS=<n> runs longer (default 300 requests per server).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DEMO_ADAPTERS } from '../../demo/app.ts';
import { DEMO_INDEX } from '../../demo/routes.ts';
import { FAST_SCRYPT, type Harness, startHarness } from '../demo/helpers.ts';
import { basic } from './client.ts';

const RUNS = Number(process.env.BATON_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.BATON_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** The longest any one answer may take, even for a huge or deep body on a loaded machine. */
const ANSWER_WITHIN_MS = 3000;
const OAUTH_ROUTES = new Set(['/auth/token', '/auth/revoke', '/auth/introspect']);
const STACK = /\n\s+at |"stack"|node:internal|\.ts:\d+:\d+|FST_ERR/i;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, not fetch: any method (TRACE too), any header value, a body on any method. */
function send(base: string, req: FuzzRequest): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: {
          ...req.headers,
          'content-length': String(Buffer.byteLength(req.body)),
          connection: 'close',
        },
        agent: false,
        timeout: ANSWER_WITHIN_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/** The contract's paths, from the demo's own index. */
const ROUTE_PATHS = [
  ...new Set(DEMO_INDEX.routes.map((route) => (route.split(' ')[1] ?? '/').replace(':id', 'abc'))),
];

interface Tokens {
  access: string[];
  refresh: string[];
}

/** A real token, or one changed the ways attackers and broken clients change them. */
function tokenArb(tokens: Tokens): fc.Arbitrary<string> {
  const real = fc.constantFrom(...tokens.access, ...tokens.refresh);
  return fc.oneof(
    real,
    fc
      .tuple(real, fc.nat(), fc.constantFrom('A', '_', '.', '=', '%', ' ', '\u00e9'))
      .map(
        ([token, at, char]) =>
          token.slice(0, at % token.length) + char + token.slice((at % token.length) + 1),
      ),
    fc.tuple(real, fc.nat()).map(([token, at]) => token.slice(0, at % token.length)),
    real.map((token) => token.split('.').reverse().join('.')),
    real.map((token) => `${token}.${token}`),
    fc.constantFrom('', 'null', 'undefined', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.', 'a.b', 'a'.repeat(9000)),
    fc.string({ maxLength: 40 }),
  );
}

const FIELD_NAMES = [
  'username',
  'password',
  'refresh_token',
  'access_token',
  'token',
  'token_type_hint',
  'grant_type',
  'client_id',
  'client_secret',
  'assertion',
  'scope',
  '__proto__',
  'constructor',
];

function jsonValue(token: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(
    token,
    fc.constantFrom('thedude', 'walter', 'abides', 'password', 'refresh_token', 'demo-client'),
    fc.jsonValue({ maxDepth: 2 }),
  );
}

function bodyArb(token: fc.Arbitrary<string>): fc.Arbitrary<{ type?: string; body: string }> {
  const fields = fc.dictionary(fc.constantFrom(...FIELD_NAMES), jsonValue(token), { maxKeys: 4 });
  return fc.oneof(
    { weight: 4, arbitrary: fields.map((f) => ({ type: 'application/json', body: JSON.stringify(f) })) },
    {
      weight: 3,
      arbitrary: fields.map((f) => ({
        type: 'application/x-www-form-urlencoded',
        body: new URLSearchParams(Object.entries(f).map(([k, v]) => [k, String(v)])).toString(),
      })),
    },
    { weight: 1, arbitrary: fc.constant({ body: '' }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/json; charset=latin1',
            'nonsense',
            '',
          ),
          fc.string({ maxLength: 64 }),
        )
        .map(([type, body]) => ({ type, body })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('[', '{"a":'), fc.integer({ min: 100, max: 8000 }))
        .map(([open, depth]) => ({ type: 'application/json', body: open.repeat(depth) })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 10_000, max: 40_000 }).map((size) => ({
        type: 'application/json',
        body: JSON.stringify({ username: 'thedude', password: 'x'.repeat(size) }),
      })),
    },
  );
}

function pathArb(): fc.Arbitrary<string> {
  const route = fc.constantFrom(...ROUTE_PATHS, '/auth/sessions/..%2f', '/nope', '/auth', '/auth/');
  return fc.oneof(
    { weight: 6, arbitrary: route },
    { weight: 1, arbitrary: route.map((p) => `${p}/`) },
    { weight: 1, arbitrary: route.map((p) => `/x/..${p}`) },
    { weight: 1, arbitrary: route.map((p) => p.toUpperCase()) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(route, fc.string({ maxLength: 20 }))
        .map(([p, q]) => `${p}?${encodeURIComponent(q)}=1&jwt=x`),
    },
    { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
  );
}

/** Header values as a client may send them: printable Latin-1 only (node:http refuses others itself). */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '');
}

function requestArb(tokens: Tokens): fc.Arbitrary<FuzzRequest> {
  const token = tokenArb(tokens);
  const authorization = fc.oneof(
    token.map((t) => `Bearer ${t}`),
    token.map((t) => `DPoP ${t}`),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Basic',
      basic('demo-client', 'demo-secret'),
      basic('demo-client', 'x'),
    ),
    fc.string({ maxLength: 30 }),
  );
  const cookie = fc
    .array(
      fc.tuple(
        fc.constantFrom('baton_access', 'baton_refresh', 'baton_csrf', '__Host-baton_csrf', 'x'),
        token,
      ),
      { maxLength: 3 },
    )
    .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('; '));
  return fc
    .record({
      method: fc.constantFrom(
        'GET',
        'POST',
        'POST',
        'POST',
        'PUT',
        'DELETE',
        'PATCH',
        'HEAD',
        'OPTIONS',
        'TRACE',
        'PROPFIND',
      ),
      path: pathArb(),
      authorization: fc.option(authorization, { nil: undefined }),
      cookie: fc.option(cookie, { nil: undefined }),
      csrf: fc.option(token, { nil: undefined }),
      transfer: fc.option(fc.constantFrom('cookie', 'body', 'junk'), { nil: undefined }),
      accept: fc.option(fc.constantFrom('text/html', 'application/json', '*/*'), { nil: undefined }),
      body: bodyArb(token),
    })
    .map((r) => {
      const headers: Record<string, string> = {};
      if (r.authorization !== undefined) headers.authorization = headerSafe(r.authorization);
      if (r.cookie !== undefined) headers.cookie = headerSafe(r.cookie);
      if (r.csrf !== undefined) headers['x-csrf-token'] = headerSafe(r.csrf);
      if (r.transfer !== undefined) headers['baton-transfer'] = r.transfer;
      if (r.accept !== undefined) headers.accept = r.accept;
      if (r.body.type !== undefined) headers['content-type'] = r.body.type;
      return { method: r.method, path: r.path, headers, body: r.body.body };
    });
}

/** What every answer must be, whatever was asked. */
function checkAnswer(req: FuzzRequest, answer: Answer): void {
  const label = `${req.method} ${req.path} -> ${answer.status} ${answer.body.slice(0, 300)}`;
  assert.ok(answer.status >= 100 && answer.status < 500, `no 5xx: ${label}`);
  assert.doesNotMatch(answer.body, STACK, `no stack trace: ${label}`);
  if (answer.status < 400 || req.method === 'HEAD') return;
  const type = String(answer.headers['content-type'] ?? '');
  assert.match(type, /^application\/json/, `errors are JSON: ${label}`);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  const keys = Object.keys(body).sort().join(',');
  // OAuth routes answer their RFC shape (a wrong method there too); a refused target is Baton's own answer.
  const path = req.path.split('?')[0] ?? '';
  const oauth = OAUTH_ROUTES.has(path);
  const shapes =
    oauth && answer.status === 405
      ? ['error,error_description']
      : oauth && req.method === 'POST'
        ? ['error,error_description', 'error,message']
        : ['error,message'];
  assert.ok(shapes.includes(keys), `error shape ${keys}: ${label}`);
  assert.equal(typeof body.error, 'string', label);
}

async function realTokens(base: string): Promise<Tokens> {
  const tokens: Tokens = { access: [], refresh: [] };
  for (const [username, password] of [
    ['thedude', 'abides'],
    ['walter', 'calmerthanyouare'],
  ]) {
    const reply = await send(base, {
      method: 'POST',
      path: '/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    assert.equal(reply.status, 200, reply.body);
    const json = JSON.parse(reply.body) as { access_token: string; refresh_token: string };
    tokens.access.push(json.access_token);
    tokens.refresh.push(json.refresh_token);
  }
  return tokens;
}

for (const adapter of DEMO_ADAPTERS) {
  for (const store of ['memory', 'sqlite:./baton.db']) {
    describe(`fuzzing the demo on ${adapter} (${store})`, () => {
      let h: Harness;
      before(async () => {
        h = await startHarness({
          adapter,
          store,
          cookies: { implicitRefresh: { within: 30 } },
          passwordCost: FAST_SCRYPT,
          rateLimit: { perUsername: 1000, perIp: 1000 },
        });
      });
      after(() => h.close());

      it(`never a 5xx, a stack trace or an off-shape error, for ${RUNS} random requests (seed ${SEED})`, async () => {
        const tokens = await realTokens(h.demo.url);
        try {
          await fc.assert(
            fc.asyncProperty(requestArb(tokens), async (req) => {
              checkAnswer(req, await send(h.demo.url, req));
            }),
            { seed: SEED, numRuns: RUNS, endOnFailure: true },
          );
        } catch (error) {
          const cause = (error as { cause?: unknown }).cause;
          throw new Error(
            `fuzz failed; replay with BATON_FUZZ_SEED=${SEED}\n${String(cause ?? '')}\n${String(error)}`,
          );
        }
        assert.deepEqual(h.unexpected, [], `nothing unexpected (BATON_FUZZ_SEED=${SEED})`);
      });
    });
  }
}
