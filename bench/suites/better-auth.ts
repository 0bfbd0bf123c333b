/**
 * Baton and better-auth side by side (issue 20): one child process
 * (bench/better-auth/server.ts) serves both on Hono (@hono/node-server) and
 * on Fastify, each on SQLite (better-sqlite3) with the same pragmas and the
 * same password hash (bench/lib/passwords.ts); this process loads them over
 * 127.0.0.1 in interleaved rounds (every case once per round, the order
 * reversed every other round), so each Baton/better-auth ratio compares
 * neighbours in time.
 *
 * - Authenticated requests/s on a protected GET: Baton's adapter guard with
 *   the verified-token cache (token reused) and without it (every request a
 *   full verify), better-auth's `getSession` with its cookie cache off (its
 *   default: a database read per request) and on. autocannon, fixed headers.
 * - Login/s and refresh/s: closed loops of HTTP clients (bench/lib/http-client.ts),
 *   as each refresh must present what the previous one returned. Baton's
 *   refresh rotates the refresh token; better-auth's renewal is `get-session`
 *   with `updateAge: 0`, so that every call extends the session (a database
 *   write and a new signed cookie), which is its refresh.
 * - Logout, then the old credentials again: how long the server still accepts
 *   them, polled every few milliseconds until the first 401.
 * - SQLite file bytes per 100 000 live sessions in each store (measured by the
 *   server process before it listens: bench/better-auth/footprint.ts).
 *
 * The server runs pinned to the last core and this process (the load) to the
 * others when taskset is there. Its CPU time is read over every thread
 * (/proc/<pid>/task/<tid>/schedstat): better-auth's HMACs run on WebCrypto,
 * and both sides' scrypt on the libuv pool, off the main thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import {
  BA_ORIGIN,
  benchUserCredentials,
  type Footprint,
  type ServerConfig,
  type ServerHello,
  USER_AGENT,
} from '../better-auth/shared.ts';
import { canPin, currentAffinity, pinSelf } from '../lib/affinity.ts';
import { type ChildServer, startChildServer } from '../lib/child-server.ts';
import {
  type Answer,
  closedLoop,
  cookieHeader,
  cookiesOf,
  type Exchange,
  HttpClient,
  type Step,
} from '../lib/http-client.ts';
import { latencyUs, type Spread, spread } from '../lib/measure.ts';

export type BaFrameworkName = 'hono' | 'fastify';

export interface BetterAuthConfig {
  frameworks: readonly BaFrameworkName[];
  /** Seconds of load per case per round. */
  seconds: number;
  /** Seconds of untimed load per case before the first round. */
  warmupSeconds: number;
  rounds: number;
  /** autocannon connections, and concurrent clients of the login and refresh loops. */
  connections: number;
  /** Users on each side (logins cycle through them). */
  users: number;
  revocation: {
    /** better-auth's cookie cache `maxAge` for this figure (its default is 300 s). */
    cacheMaxAgeSeconds: number;
    /** Logouts per system. */
    samples: number;
    /** Pause between two requests with the old credentials. */
    pollMs: number;
  };
  /** Sessions created in each store for the footprint (reported per 100 000). */
  footprintSessions: number;
}

export type BaCaseId =
  | 'noauth'
  | 'baton'
  | 'baton-cold'
  | 'ba'
  | 'ba-cache'
  | 'baton-login'
  | 'ba-login'
  | 'baton-refresh'
  | 'ba-renew';

export interface BaCase {
  id: BaCaseId;
  label: string;
  reqPerSec: Spread;
  /** Requests per CPU-second of the whole server process (every thread); null where the kernel does not say. */
  reqPerCpuSec: Spread | null;
  p99Ms: Spread;
}

export type BaRatioId =
  | 'auth-vs-nocache'
  | 'auth-vs-cookiecache'
  | 'cold-vs-nocache'
  | 'cold-vs-cookiecache'
  | 'login'
  | 'refresh';

export interface BaRatio {
  id: BaRatioId;
  label: string;
  /** Per round: Baton's throughput over better-auth's (per server CPU-second when known). */
  value: Spread;
}

export interface BaFramework {
  framework: BaFrameworkName;
  cases: BaCase[];
  ratios: BaRatio[];
}

export interface BaRevocationFigure {
  system: 'baton' | 'better-auth' | 'better-auth-cookie-cache';
  label: string;
  samples: number;
  /** Per logout: requests with the old credentials answered 200 after the logout was answered. */
  acceptedRequests: Spread;
  /** Per logout: ms from the logout's answer to the answer of the last request still accepted (0: none). */
  acceptedMs: Spread;
  /** Logouts after which the old credentials were still accepted when polling gave up. */
  neverRejected: number;
}

export type BaFootprint = Footprint;

export interface BetterAuthResult {
  pinned: boolean;
  costBasis: 'server-cpu' | 'wall';
  connections: number;
  frameworks: BaFramework[];
  revocation: {
    framework: BaFrameworkName;
    cacheMaxAgeSeconds: number;
    pollMs: number;
    figures: BaRevocationFigure[];
  } | null;
  footprint: BaFootprint[];
  notes: string[];
}

const LABELS: Record<BaCaseId, string> = {
  noauth: 'no auth (the framework alone)',
  baton: "Baton: adapter's requireAuth(), verify cache on (token reused)",
  'baton-cold': "Baton: adapter's requireAuth(), verify cache off",
  ba: 'better-auth: getSession, cookie cache off (its default)',
  'ba-cache': 'better-auth: getSession, cookie cache on',
  'baton-login': 'Baton: POST /auth/login',
  'ba-login': 'better-auth: POST /sign-in/email',
  'baton-refresh': 'Baton: POST /auth/refresh (rotates the refresh token)',
  'ba-renew': 'better-auth: GET /get-session with updateAge 0 (renews the session)',
};

const RATIOS: readonly [BaRatioId, BaCaseId, BaCaseId, string][] = [
  [
    'auth-vs-nocache',
    'baton',
    'ba',
    'authenticated requests, Baton (cache on) vs better-auth (cookie cache off)',
  ],
  [
    'auth-vs-cookiecache',
    'baton',
    'ba-cache',
    'authenticated requests, Baton (cache on) vs better-auth (cookie cache on)',
  ],
  [
    'cold-vs-nocache',
    'baton-cold',
    'ba',
    'authenticated requests, Baton (cache off) vs better-auth (cookie cache off)',
  ],
  [
    'cold-vs-cookiecache',
    'baton-cold',
    'ba-cache',
    'authenticated requests, Baton (cache off) vs better-auth (cookie cache on)',
  ],
  ['login', 'baton-login', 'ba-login', 'logins'],
  ['refresh', 'baton-refresh', 'ba-renew', "refreshes, Baton's refresh vs better-auth's session renewal"],
];

const SESSION_TOKEN = 'better-auth.session_token';
const SESSION_DATA = 'better-auth.session_data';

type Hello = ServerHello;

interface Figure {
  reqPerSec: number;
  reqPerCpuSec: number;
  p99Ms: number;
}

type Server = ChildServer<Hello>;

/** CPU-seconds of the whole server process around `run`. */
async function withCpu<T>(server: Server, run: () => Promise<T>): Promise<{ value: T; cpuSeconds: number }> {
  const before = server.cpuNs(true);
  const value = await run();
  const after = server.cpuNs(true);
  return {
    value,
    cpuSeconds: before === null || after === null ? Number.NaN : (after - before) / 1e9,
  };
}

/** A case: run it for `seconds`, return its figure. */
type Runner = (seconds: number) => Promise<Figure>;

function fixedRunner(
  server: Server,
  port: number,
  path: string,
  headers: Record<string, string>,
  connections: number,
): Runner {
  const once = (seconds: number) =>
    withCpu(server, () =>
      autocannon({
        url: `http://127.0.0.1:${port}${path}`,
        connections,
        duration: seconds,
        // The run ends at the first sample after `duration`; the default 1 s sampling would stretch short runs.
        sampleInt: 50,
        headers,
      }),
    );
  return async (seconds) => {
    let { value: result, cpuSeconds } = await once(seconds);
    const failures = () => result.errors - result.timeouts + result.non2xx;
    // A very short run on a starved machine can end before the first answer: that is speed,
    // not breakage, so measure once more for a full second before calling it broken.
    if (result['2xx'] === 0 && failures() === 0)
      ({ value: result, cpuSeconds } = await once(Math.max(seconds, 1)));
    if (failures() > 0 || result['2xx'] === 0) {
      throw new Error(
        `${path}: ${result['2xx']} answers 2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
      );
    }
    return {
      reqPerSec: result['2xx'] / Math.max(result.duration, 1e-3),
      reqPerCpuSec: cpuSeconds > 0 ? result['2xx'] / cpuSeconds : Number.NaN,
      p99Ms: result.latency.p99,
    };
  };
}

/** A closed-loop case: `prepare` (untimed) gives the clients' steps for one run. */
function loopRunner(server: Server, prepare: () => Promise<Step[]>): Runner {
  return async (seconds) => {
    const steps = await prepare();
    const { value: run, cpuSeconds } = await withCpu(server, () => closedLoop(steps, seconds * 1000));
    if (run.requests === 0) throw new Error('no request completed');
    return {
      reqPerSec: run.perSec,
      reqPerCpuSec: cpuSeconds > 0 ? run.requests / cpuSeconds : Number.NaN,
      p99Ms: latencyUs(run.latencies).p99 / 1000,
    };
  };
}

interface Sides {
  batonLogin(index: number): Promise<{ access_token: string; refresh_token: string }>;
  baLogin(base: string, index: number): Promise<Record<string, string>>;
}

function sides(client: HttpClient): Sides {
  return {
    async batonLogin(index) {
      const { email, password } = benchUserCredentials(index);
      const answer = await client.expect({
        method: 'POST',
        path: '/auth/login',
        headers: { 'user-agent': USER_AGENT },
        body: { username: email, password },
      });
      return JSON.parse(answer.body) as { access_token: string; refresh_token: string };
    },
    async baLogin(base, index) {
      const { email, password } = benchUserCredentials(index);
      const answer = await client.expect({
        method: 'POST',
        path: `${base}/sign-in/email`,
        headers: { origin: BA_ORIGIN, 'user-agent': USER_AGENT },
        body: { email, password },
      });
      return cookiesOf(answer);
    },
  };
}

async function measureFramework(
  server: Server,
  framework: BaFrameworkName,
  config: BetterAuthConfig,
  costBasis: { cpuKnown: boolean },
): Promise<BaFramework> {
  const port = server.hello.ports[framework];
  if (port === undefined) throw new Error(`no ${framework} server`);
  const client = new HttpClient(port, config.connections * 2);
  try {
    const { batonLogin, baLogin } = sides(client);
    const baton = await batonLogin(0);
    const ba = await baLogin('/api/auth', 0);
    const baCache = await baLogin('/api/auth-cache', 0);
    let nextUser = 0;
    const user = () => nextUser++ % config.users;

    const loginStep = (exchange: (index: number) => Exchange): Step[] =>
      Array.from({ length: config.connections }, () => async () => {
        await client.expect(exchange(user()));
      });

    const runners: Record<BaCaseId, Runner> = {
      noauth: fixedRunner(server, port, '/noauth', {}, config.connections),
      baton: fixedRunner(
        server,
        port,
        '/baton/me',
        { authorization: `Bearer ${baton.access_token}` },
        config.connections,
      ),
      'baton-cold': fixedRunner(
        server,
        port,
        '/cold/baton/me',
        { authorization: `Bearer ${baton.access_token}` },
        config.connections,
      ),
      // Only the session cookie: with the cache off, a session_data cookie would make better-auth clear it on every request.
      ba: fixedRunner(
        server,
        port,
        '/ba/me',
        { cookie: cookieHeader(ba, [SESSION_TOKEN]) },
        config.connections,
      ),
      'ba-cache': fixedRunner(
        server,
        port,
        '/ba-cache/me',
        { cookie: cookieHeader(baCache, [SESSION_TOKEN, SESSION_DATA]) },
        config.connections,
      ),
      'baton-login': loopRunner(server, async () =>
        loginStep((index) => {
          const { email, password } = benchUserCredentials(index);
          return {
            method: 'POST',
            path: '/auth/login',
            headers: { 'user-agent': USER_AGENT },
            body: { username: email, password },
          };
        }),
      ),
      'ba-login': loopRunner(server, async () =>
        loginStep((index) => {
          const { email, password } = benchUserCredentials(index);
          return {
            method: 'POST',
            path: '/api/auth/sign-in/email',
            headers: { origin: BA_ORIGIN, 'user-agent': USER_AGENT },
            body: { email, password },
          };
        }),
      ),
      // A session per client, made before the run: every refresh presents the token the previous one returned.
      'baton-refresh': loopRunner(server, async () => {
        const steps: Step[] = [];
        for (let c = 0; c < config.connections; c++) {
          let token = (await batonLogin(user())).refresh_token;
          steps.push(async () => {
            const answer = await client.expect({
              method: 'POST',
              path: '/auth/refresh',
              headers: { 'user-agent': USER_AGENT },
              body: { refresh_token: token },
            });
            token = (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
          });
        }
        return steps;
      }),
      'ba-renew': loopRunner(server, async () => {
        const steps: Step[] = [];
        for (let c = 0; c < config.connections; c++) {
          const cookie = cookieHeader(await baLogin('/api/auth', user()), [SESSION_TOKEN]);
          steps.push(async () => {
            const answer = await client.expect({
              method: 'GET',
              path: '/api/auth-renew/get-session',
              headers: { cookie, 'user-agent': USER_AGENT },
            });
            // Renewed: a new expiry in the database and the session cookie set again.
            if (!renewed(answer)) throw new Error('better-auth did not renew the session');
          });
        }
        return steps;
      }),
    };

    const ids = Object.keys(runners) as BaCaseId[];
    for (const id of ids) await runners[id](config.warmupSeconds);
    const figures = new Map<BaCaseId, Figure[]>(ids.map((id) => [id, []]));
    for (let round = 0; round < config.rounds; round++) {
      const order = round % 2 === 0 ? ids : [...ids].reverse();
      for (const id of order) figures.get(id)!.push(await runners[id](config.seconds));
    }
    const cpuKnown = [...figures.values()].every((list) =>
      list.every((f) => Number.isFinite(f.reqPerCpuSec)),
    );
    if (!cpuKnown) costBasis.cpuKnown = false;
    const basis = (id: BaCaseId) => figures.get(id)!.map((f) => (cpuKnown ? f.reqPerCpuSec : f.reqPerSec));
    const cases: BaCase[] = ids.map((id) => {
      const list = figures.get(id)!;
      return {
        id,
        label: LABELS[id],
        reqPerSec: spread(list.map((f) => f.reqPerSec)),
        reqPerCpuSec: cpuKnown ? spread(list.map((f) => f.reqPerCpuSec)) : null,
        p99Ms: spread(list.map((f) => f.p99Ms)),
      };
    });
    const ratios: BaRatio[] = RATIOS.map(([id, a, b, label]) => {
      const over = basis(b);
      return { id, label, value: spread(basis(a).map((value, index) => value / over[index]!)) };
    });
    return { framework, cases, ratios };
  } finally {
    client.close();
  }
}

function renewed(answer: Answer): boolean {
  return (answer.headers['set-cookie'] ?? []).some((line) => line.startsWith(`${SESSION_TOKEN}=`));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Probe {
  /** Logs in, checks the protected route accepts, logs out; returns the request that checks again. */
  session(index: number): Promise<() => Promise<number>>;
}

/**
 * Logout, then the old credentials again and again (as another tab, device
 * or a copied cookie would present them), until the first 401.
 */
async function revocationSamples(
  probe: Probe,
  samples: number,
  pollMs: number,
  giveUpMs: number,
  first: number,
): Promise<{ accepted: number[]; acceptedMs: number[]; neverRejected: number }> {
  const accepted: number[] = [];
  const acceptedMs: number[] = [];
  let neverRejected = 0;
  for (let sample = 0; sample < samples; sample++) {
    const check = await probe.session(first + sample);
    const loggedOut = performance.now();
    let count = 0;
    let lastAccepted = loggedOut;
    let rejected = false;
    while (performance.now() - loggedOut < giveUpMs) {
      const status = await check();
      if (status === 401) {
        rejected = true;
        break;
      }
      if (status !== 200) throw new Error(`unexpected ${status} after logout`);
      count++;
      lastAccepted = performance.now();
      await sleep(pollMs);
    }
    if (!rejected) neverRejected++;
    accepted.push(count);
    acceptedMs.push(count === 0 ? 0 : lastAccepted - loggedOut);
  }
  return { accepted, acceptedMs, neverRejected };
}

async function measureRevocation(
  server: Server,
  framework: BaFrameworkName,
  config: BetterAuthConfig,
): Promise<NonNullable<BetterAuthResult['revocation']>> {
  const port = server.hello.ports[framework]!;
  const client = new HttpClient(port, 2);
  const { cacheMaxAgeSeconds, samples, pollMs } = config.revocation;
  const giveUpMs = cacheMaxAgeSeconds * 1000 + 3000;
  try {
    const { batonLogin, baLogin } = sides(client);
    const baProbe = (base: string, route: string, names: readonly string[]): Probe => ({
      async session(index) {
        const cookie = cookieHeader(await baLogin(base, index % config.users), names);
        const check = async () =>
          (await client.send({ method: 'GET', path: route, headers: { cookie } })).status;
        if ((await check()) !== 200) throw new Error(`${route} refused a fresh session`);
        await client.expect({
          method: 'POST',
          path: `${base}/sign-out`,
          headers: { cookie, origin: BA_ORIGIN },
        });
        return check;
      },
    });
    const probes: [BaRevocationFigure['system'], string, Probe][] = [
      [
        'baton',
        'Baton (verify cache on; the token had just been verified): POST /auth/logout, then the access token',
        {
          async session(index) {
            const tokens = await batonLogin(index % config.users);
            const authorization = `Bearer ${tokens.access_token}`;
            const check = async () =>
              (await client.send({ method: 'GET', path: '/baton/me', headers: { authorization } })).status;
            if ((await check()) !== 200) throw new Error('/baton/me refused a fresh token');
            await client.expect(
              { method: 'POST', path: '/auth/logout', body: { refresh_token: tokens.refresh_token } },
              204,
            );
            return check;
          },
        },
      ],
      [
        'better-auth',
        'better-auth, cookie cache off: POST /sign-out, then the session cookie',
        baProbe('/api/auth', '/ba/me', [SESSION_TOKEN]),
      ],
      [
        'better-auth-cookie-cache',
        `better-auth, cookie cache on (maxAge ${cacheMaxAgeSeconds} s): POST /sign-out, then both cookies`,
        baProbe('/api/auth-short', '/ba-short/me', [SESSION_TOKEN, SESSION_DATA]),
      ],
    ];
    const figures: BaRevocationFigure[] = [];
    for (const [system, label, probe] of probes) {
      const result = await revocationSamples(probe, samples, pollMs, giveUpMs, figures.length * samples);
      figures.push({
        system,
        label,
        samples,
        acceptedRequests: spread(result.accepted),
        acceptedMs: spread(result.acceptedMs),
        neverRejected: result.neverRejected,
      });
    }
    return { framework, cacheMaxAgeSeconds, pollMs, figures };
  } finally {
    client.close();
  }
}

export async function runBetterAuth(
  config: BetterAuthConfig,
  log: (line: string) => void,
): Promise<BetterAuthResult> {
  const pinned = canPin();
  const cores = cpus().length;
  const serverCore = pinned ? String(cores - 1) : null;
  const before = pinned ? currentAffinity() : null;
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-better-auth-'));
  const serverConfig: ServerConfig = {
    dir,
    shortCacheSeconds: config.revocation.cacheMaxAgeSeconds,
    users: config.users,
    footprintSessions: config.footprintSessions,
  };
  const frameworks: BaFramework[] = [];
  const basis = { cpuKnown: true };
  let revocation: BetterAuthResult['revocation'] = null;
  let footprint: BaFootprint[] = [];
  try {
    if (pinned) pinSelf(cores === 2 ? '0' : `0-${cores - 2}`);
    const server = await startChildServer<Hello>(
      new URL('../better-auth/server.ts', import.meta.url),
      [config.frameworks.join(','), JSON.stringify(serverConfig)],
      serverCore,
      'the better-auth comparison server',
      // It measures the store footprint first: up to 2 × 100 000 sessions on a busy machine.
      300,
    );
    footprint = server.hello.footprint;
    log(
      `  SQLite bytes per 100k sessions: ${footprint.map((f) => `${f.system} ${(f.bytesPer100k / 2 ** 20).toFixed(1)} MiB`).join(', ')}`,
    );
    try {
      for (const framework of config.frameworks) {
        const figures = await measureFramework(server, framework, config, basis);
        frameworks.push(figures);
        const ratio = (id: BaRatioId) => figures.ratios.find((r) => r.id === id)!.value.median.toFixed(2);
        log(
          `  ${framework}: Baton ${ratio('auth-vs-nocache')}x better-auth (cookie cache off), ${ratio('auth-vs-cookiecache')}x (cookie cache on); refresh ${ratio('refresh')}x its renewal; login ${ratio('login')}x`,
        );
      }
      const first = config.frameworks[0];
      if (first !== undefined) {
        revocation = await measureRevocation(server, first, config);
        log(
          `  after logout, still accepted: ${revocation.figures.map((f) => `${f.system} ${Math.round(f.acceptedMs.max)} ms (${f.acceptedRequests.max} requests)`).join(', ')}`,
        );
      }
    } finally {
      await server.stop();
    }
  } finally {
    if (pinned) pinSelf(before ?? `0-${cores - 1}`);
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    pinned,
    costBasis: basis.cpuKnown ? 'server-cpu' : 'wall',
    connections: config.connections,
    frameworks,
    revocation,
    footprint,
    notes: [
      `better-auth with email and password on better-sqlite3 (WAL, synchronous=NORMAL, as Baton's SqliteStore), rate limit and telemetry off; Baton: SessionManager on SqliteStore (HS256, access tokens 2 h), users in a table of the same file. Both hash passwords with the same scrypt at a negligible cost (bench/lib/passwords.ts): hashing is left out of the login figures.`,
      'Ratios are per round, per server CPU-second (all threads) when the kernel says, else per wall-clock second; each is the median over rounds.',
    ],
  };
}
