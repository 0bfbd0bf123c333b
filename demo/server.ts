/**
 * The Baton demo server (`npm start`). Configured from the environment;
 * `startDemo` runs it in-process for tests.
 */

import { createHmac } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Algorithm,
  type AnyAuthManager,
  type BatonLogger,
  type CallbacksStrategy,
  type Clock,
  createAuthManager,
  type DpopMode,
  type Duration,
  isBatonError,
  type JwtStrategy,
  openStore,
  type PerClientStrategy,
  type RateLimitOptions,
  type SessionManager,
  type SessionStore,
  type SingleTokenStrategy,
  StoreUrlError,
  type StrategyBaseOptions,
} from 'baton-auth';
import { type AuditTrail, createAuditTrail } from 'baton-auth/audit';
import type { CookieModeOptions } from 'baton-auth/http';
import { createDemoApp, DEMO_CLIENT, type DemoAdapter } from './app.ts';
import {
  checkAuditSpec,
  checkStoreSpec,
  configFromEnv,
  DemoConfigError,
  type DemoStrategy,
  parseRefreshKey,
} from './config.ts';
import { keyFromValue, loadRefreshKey, loadSigningKey } from './keys.ts';
import { type DemoLogLevel, jsonLogger } from './logger.ts';
import { startMetrics } from './metrics.ts';
import type { DemoMetrics } from './routes.ts';
import { DEFAULT_SCRYPT_COST, type DemoUser, DemoUsers, type ScryptCost } from './users.ts';

export interface DemoOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  accessTtl?: Duration;
  refreshTtl?: Duration | null;
  grace?: Duration;
  /** Default EdDSA. */
  alg?: Algorithm;
  /** `memory`, `sqlite:<path>` (relative to `dataDir`), `redis://...` or `postgres://...`. Default `sqlite:./baton.db`. */
  store?: string;
  /** Default `./.baton`. */
  dataDir?: string;
  /** A JWK, PEM private key or HS* secret; otherwise a key is generated and saved in `dataDir`. */
  signingKey?: string;
  /**
   * The refresh key (BATON_REFRESH_KEY): bytes, or 32+ bytes in hex or
   * base64url; otherwise a key is generated and saved in `dataDir`. Processes
   * that share a store must share it (and the signing key).
   */
  refreshKey?: string | Uint8Array;
  /** Default true (with `Secure` cookies, which browsers accept from http://localhost). */
  cookies?: boolean | CookieModeOptions;
  /**
   * Cookie mode: renew the access cookie of requests whose token expires
   * within this window. Default off (the demo page shows explicit refresh);
   * an `implicitRefresh` in `cookies` wins.
   */
  implicitRefresh?: Duration | false;
  /** The framework the demo runs on, through its Baton adapter. Default `hono`. */
  adapter?: DemoAdapter;
  /** The refresh-token design (BATON_STRATEGY). Default `rotating`; `grace` applies to it only. */
  strategy?: DemoStrategy;
  clock?: Clock;
  /** Tests lower it; the demo keeps scrypt's default cost. */
  passwordCost?: ScryptCost;
  rateLimit?: RateLimitOptions | false;
  /** Receives unexpected errors (default: stderr). */
  onUnexpectedError?: (error: unknown) => void;
  /** Receives one-line warnings, e.g. a store that is away at startup (default: stderr). */
  onWarning?: (line: string) => void;
  /**
   * Where Baton's events, the requests and unexpected errors are logged: a
   * pino-compatible logger. Default: JSON lines on stdout at `logLevel` when
   * that is given (as `npm start` and `baton serve` do), else Baton's default
   * (errors to stderr, nothing else).
   */
  logger?: BatonLogger;
  /** BATON_LOG_LEVEL: `info` a JSON line per security event, `debug` also per request; `silent` none. */
  logLevel?: DemoLogLevel;
  /**
   * BATON_AUDIT: the audit trail behind `GET /api/events` (the page's events
   * panel). `memory` (default): the last 1000 events, in this process;
   * `store`: the session store's database; or a store URL (a relative SQLite
   * path is relative to `dataDir`).
   */
  audit?: string;
  /**
   * BATON_METRICS=1: serve `GET /metrics` in Prometheus' text format
   * (baton-auth/otel). Needs @opentelemetry/api, @opentelemetry/sdk-metrics
   * and @opentelemetry/exporter-prometheus installed; without them the demo
   * does not start, and says what to install.
   */
  metrics?: boolean;
  /**
   * BATON_DPOP: sender-constrained tokens (RFC 9449). Default `off`. On, the
   * demo asks for server nonces too (their secret derived from the refresh key).
   */
  dpop?: DpopMode;
  /**
   * BATON_PUBLIC_URL: the URL clients reach the demo at; DPoP proofs name it.
   * Default the listening URL (`http://127.0.0.1:3000`); needed with DPoP on port 0.
   */
  publicUrl?: string;
}

/** The manager each strategy runs on. */
export type DemoManagerFor<S extends DemoStrategy> = {
  rotating: SessionManager<DemoUser>;
  jwt: JwtStrategy<DemoUser>;
  'single-token': SingleTokenStrategy<DemoUser>;
  'per-client': PerClientStrategy<DemoUser>;
  callbacks: CallbacksStrategy<DemoUser>;
}[S];

export type DemoManager = AnyAuthManager<DemoUser>;

export interface RunningDemo<M extends DemoManager = SessionManager<DemoUser>> {
  url: string;
  manager: M;
  users: DemoUsers;
  /** The callbacks strategy's store (user id -> refresh token), as a sanic-jwt app keeps it; empty otherwise. */
  refreshTokens: Map<string, string>;
  /** The audit trail the manager's events are recorded in (`GET /api/events` reads it). */
  audit: AuditTrail;
  close(): Promise<void>;
}

export const DEMO_ISSUER = 'baton-demo';
export const DEMO_AUDIENCE = 'baton-demo-api';

/** The demo's store; relative SQLite paths are relative to the data dir. */
async function openDemoStore(spec: string, dataDir: string): Promise<SessionStore> {
  checkStoreSpec(spec);
  try {
    return await openStore(spec, { baseDir: dataDir, label: 'BATON_STORE' });
  } catch (error) {
    if (error instanceof StoreUrlError) throw new DemoConfigError(error.message);
    throw error;
  }
}

/** The demo's audit trail: BATON_AUDIT, with `store` meaning the session store's URL. */
async function openDemoAudit(options: DemoOptions, dataDir: string): Promise<AuditTrail> {
  const spec = checkAuditSpec(options.audit ?? 'memory');
  const target = spec === 'store' ? (options.store ?? 'sqlite:./baton.db') : spec;
  return createAuditTrail(target, {
    baseDir: dataDir,
    ...(target === 'memory' ? { maxEntries: 1000 } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  }).catch((error: unknown) => {
    if (error instanceof StoreUrlError) throw new DemoConfigError(error.message);
    throw error;
  });
}

/** Runs `create`; if it throws, the store and trail it was given are closed (nothing else owns them yet). */
function withClosedOnThrow<T>(owned: readonly { close(): Promise<void> }[], create: () => T): T {
  try {
    return create();
  } catch (error) {
    for (const resource of owned) resource.close().catch(() => undefined);
    throw error;
  }
}

export async function startDemo<S extends DemoStrategy = 'rotating'>(
  options: DemoOptions & { strategy?: S } = {},
): Promise<RunningDemo<DemoManagerFor<S>>> {
  const alg = options.alg ?? 'EdDSA';
  const dataDir = resolve(options.dataDir ?? './.baton');
  const key = options.signingKey
    ? await keyFromValue(options.signingKey, alg)
    : await loadSigningKey(dataDir, alg);
  const refreshKey =
    options.refreshKey === undefined
      ? await loadRefreshKey(dataDir)
      : typeof options.refreshKey === 'string'
        ? parseRefreshKey(options.refreshKey)
        : options.refreshKey;
  const users = await DemoUsers.create(options.passwordCost ?? DEFAULT_SCRYPT_COST);
  const refreshTokens = new Map<string, string>();
  const logger =
    options.logger ?? (options.logLevel === undefined ? undefined : jsonLogger(options.logLevel));
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 3000;
  const dpopMode = options.dpop ?? 'off';
  const publicUrl = options.publicUrl ?? (port === 0 ? undefined : `http://${shownHostOf(host)}:${port}`);
  if (dpopMode !== 'off' && publicUrl === undefined) {
    throw new DemoConfigError('BATON_DPOP needs BATON_PUBLIC_URL when the port is picked at random (PORT=0)');
  }
  const store = await openDemoStore(options.store ?? 'sqlite:./baton.db', dataDir);
  const audit = await openDemoAudit(options, dataDir).catch(async (error: unknown) => {
    await store.close().catch(() => undefined);
    throw error;
  });
  const manager = withClosedOnThrow([store, audit], () =>
    createManager(
      options.strategy ?? 'rotating',
      options,
      {
        issuer: DEMO_ISSUER,
        audience: DEMO_AUDIENCE,
        keys: [key],
        refreshKey,
        store,
        loadUser: users.load,
        verifyCredentials: users.verify,
        ...(logger ? { logger } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.accessTtl === undefined ? {} : { accessTokenTtl: options.accessTtl }),
        ...(options.refreshTtl === undefined ? {} : { refreshTokenTtl: options.refreshTtl }),
        ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
        ...(dpopMode === 'off'
          ? {}
          : {
              dpop: {
                mode: dpopMode,
                nonce: { secret: createHmac('sha256', refreshKey).update('demo dpop nonces').digest() },
              },
            }),
      },
      refreshTokens,
    ),
  ) as DemoManagerFor<S>;
  // Every event of the manager, recorded after the answer (the page's events panel reads it back).
  audit.attach(manager);
  let metrics: DemoMetrics | undefined;
  const shutdown = async () => {
    await metrics?.close();
    await manager.events.flush();
    await audit.close();
    await manager.close();
  };
  try {
    await manager.ready;
  } catch (error) {
    // A store that is away at startup is an outage, not a misconfiguration:
    // serve 503 store_unavailable meanwhile; the next request that finds the store back loads the revoked set.
    if (!isBatonError(error) || error.code !== 'store_unavailable') {
      await shutdown().catch(() => undefined);
      throw error;
    }
    (options.onWarning ?? printWarning)(
      `the session store is unavailable (${oneLine(error.message)}); answering 503 store_unavailable until it is reachable`,
    );
  }
  if (options.metrics) {
    metrics = await startMetrics(manager).catch(async (error: unknown) => {
      await shutdown().catch(() => undefined);
      throw error;
    });
  }
  const listening = await createDemoApp(options.adapter ?? 'hono', {
    manager,
    users,
    audit,
    ...(metrics ? { metrics } : {}),
    // The manager's logger is a child bound to Baton's component; requests are the demo's own.
    ...(logger ? { logger: logger.child({ component: 'demo' }) } : {}),
    authOptions: {
      cookies: cookieMode(options),
      clients: [DEMO_CLIENT],
      ...(options.onUnexpectedError ? { onUnexpectedError: options.onUnexpectedError } : {}),
      // DPoP proofs name the public URL; the demo's issuer is no https URL, so no RFC 8414 metadata.
      ...(dpopMode === 'off' || publicUrl === undefined ? {} : { publicUrl, serverMetadata: false }),
    },
  })
    .then((app) => app.listen(port, host))
    .catch(async (error: unknown) => {
      await shutdown().catch(() => undefined);
      throw error;
    });
  const shownHost = shownHostOf(host);
  let closed: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${listening.port}`,
    manager,
    users,
    refreshTokens,
    audit,
    close() {
      closed ??= listening.close().then(shutdown);
      return closed;
    },
  };
}

type DemoBaseOptions = StrategyBaseOptions<DemoUser> & { refreshKey: Uint8Array };

/**
 * The manager of one strategy over the demo's users, keys and store. The
 * callbacks strategy keeps its refresh tokens in a Map, the way a sanic-jwt
 * app keeps them in Redis (one per user).
 */
function createManager(
  strategy: DemoStrategy,
  options: DemoOptions,
  base: DemoBaseOptions,
  refreshTokens: Map<string, string>,
): DemoManager {
  switch (strategy) {
    case 'rotating':
      return createAuthManager<DemoUser, { strategy: 'rotating' } & typeof base>({
        ...base,
        strategy,
        ...(options.grace === undefined ? {} : { graceWindow: options.grace }),
      });
    case 'jwt':
      return createAuthManager<DemoUser, { strategy: 'jwt' } & typeof base>({ ...base, strategy });
    case 'single-token':
      return createAuthManager<DemoUser, { strategy: 'single-token' } & typeof base>({ ...base, strategy });
    case 'per-client':
      return createAuthManager<DemoUser, { strategy: 'per-client' } & typeof base>({ ...base, strategy });
    case 'callbacks':
      return createAuthManager({
        ...base,
        strategy,
        storeRefreshToken: (userId: string, token: string) => refreshTokens.set(userId, token),
        retrieveRefreshToken: (userId: string) => refreshTokens.get(userId),
        revokeRefreshToken: (userId: string) => refreshTokens.delete(userId),
      });
  }
}

function cookieMode(options: DemoOptions): boolean | CookieModeOptions {
  const cookies = options.cookies ?? true;
  if (cookies === false) return false;
  const within = options.implicitRefresh ?? false;
  const implicit = within === false || within === 0 || within === '0' ? false : { within };
  return { implicitRefresh: implicit, ...(cookies === true ? {} : cookies) };
}

function shownHostOf(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function printWarning(line: string): void {
  console.error(`baton demo: warning: ${line}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function printBanner(url: string, adapter: DemoAdapter, strategy: DemoStrategy, dpop: DpopMode): void {
  const lines = [
    `Baton demo listening on ${url}`,
    `Running on ${adapter} (BATON_ADAPTER=express|fastify|hono)`,
    `Strategy: ${strategy} (BATON_STRATEGY=rotating|jwt|single-token|per-client|callbacks)`,
    `DPoP: ${dpop} (BATON_DPOP=off|allowed|required; proofs name BATON_PUBLIC_URL, default this URL)`,
    '',
    'Demo users:',
    ...DemoUsers.accounts.map((a) => `  ${a.username} / ${a.password}  (roles: ${a.roles.join(', ')})`),
    `Introspection client: ${DEMO_CLIENT.id} / ${DEMO_CLIENT.secret}`,
    '',
    'Try:',
    `  curl -s -X POST ${url}/auth/login -H 'content-type: application/json' \\`,
    `       -d '{"username":"thedude","password":"abides"}'`,
    `  curl -s ${url}/api/protected -H 'authorization: Bearer <access_token>'`,
  ];
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  let config: ReturnType<typeof configFromEnv>;
  try {
    config = configFromEnv(process.env);
  } catch (error) {
    console.error(`baton demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  let demo: RunningDemo<DemoManager>;
  try {
    demo = await startDemo(config);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`baton demo: ${reason}`);
    const code = (error as { code?: string }).code;
    const misconfigured =
      error instanceof DemoConfigError || code === 'invalid_options' || code === 'store_driver_missing';
    process.exit(misconfigured ? 2 : 1);
  }
  printBanner(demo.url, config.adapter, config.strategy, config.dpop);
  const stop = () => {
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) await main();
