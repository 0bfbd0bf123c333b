/** Demo settings from the environment. Bad values fail fast with one clear line (exit code 2). */
import {
  type Algorithm,
  type DpopMode,
  type Duration,
  isBatonError,
  parseDuration,
  parseStoreUrl,
  StoreUrlError,
} from 'baton-auth';
import { DEMO_ADAPTERS, type DemoAdapter } from './app.ts';
import { DEMO_LOG_LEVELS, type DemoLogLevel } from './logger.ts';

export const DEMO_ALGORITHMS: readonly Algorithm[] = ['EdDSA', 'HS256', 'ES256', 'RS256'];

/** BATON_STRATEGY: the refresh-token design the demo runs (see createAuthManager). */
export const DEMO_STRATEGIES = ['rotating', 'jwt', 'single-token', 'per-client', 'callbacks'] as const;
export type DemoStrategy = (typeof DEMO_STRATEGIES)[number];

export class DemoConfigError extends Error {
  override readonly name = 'DemoConfigError';
}

/** What the environment can set; every field is also a `startDemo` option. */
export interface DemoEnvConfig {
  port: number;
  host: string;
  accessTtl?: Duration;
  refreshTtl?: Duration | null;
  grace?: Duration;
  alg: Algorithm;
  store: string;
  dataDir: string;
  signingKey?: string;
  /** BATON_REFRESH_KEY: 32+ bytes in base64url or hex, for processes that share a store; otherwise generated in `dataDir`. */
  refreshKey?: string;
  cookies: boolean;
  /** Cookie mode: renew access cookies expiring within this window (BATON_IMPLICIT_REFRESH; unset or 0: off). */
  implicitRefresh?: Duration;
  adapter: DemoAdapter;
  /** BATON_STRATEGY; default `rotating`. */
  strategy: DemoStrategy;
  /** BATON_LOG_LEVEL: JSON lines on stdout; `info` (default) a line per security event, `debug` also per request. */
  logLevel: DemoLogLevel;
  /**
   * BATON_AUDIT: where the audit trail behind the page's events panel lives:
   * `memory` (default: the last 1000 events, in this process), `store` (the
   * session store's database), or a store URL.
   */
  audit: string;
  /** BATON_METRICS=1: `GET /metrics` in Prometheus' format (needs the OpenTelemetry packages, see demo/metrics.ts). */
  metrics?: boolean;
  /** BATON_DPOP: sender-constrained tokens (`off` default, `allowed`, `required`). */
  dpop: DpopMode;
  /** BATON_PUBLIC_URL: the URL clients reach the demo at (DPoP proofs name it). Default the listening URL. */
  publicUrl?: string;
}

/** BATON_DPOP's values. */
export const DEMO_DPOP_MODES: readonly DpopMode[] = ['off', 'allowed', 'required'];

function duration(env: Record<string, string | undefined>, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  try {
    return parseDuration(value, name);
  } catch (error) {
    throw new DemoConfigError(isBatonError(error) ? error.message : `${name} is not a duration`);
  }
}

function flag(env: Record<string, string | undefined>, name: string, fallback: boolean): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new DemoConfigError(`${name} must be 1 or 0, got ${JSON.stringify(env[name])}`);
}

/**
 * The bytes of a refresh key given as text (BATON_REFRESH_KEY): hex (an even
 * number of hex digits) or base64url (standard base64 and padding accepted),
 * at least 32 bytes. The message never repeats the value: it is a secret.
 */
export function parseRefreshKey(value: string, name = 'BATON_REFRESH_KEY'): Uint8Array {
  const text = value.trim();
  const usage = `${name} must be at least 32 random bytes in hex or base64url (e.g. \`openssl rand -hex 32\`)`;
  let key: Buffer;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9_+/-]+={0,2}$/.test(text)) key = Buffer.from(text, 'base64url');
  else throw new DemoConfigError(`${usage}; it is neither`);
  if (key.byteLength < 32) throw new DemoConfigError(`${usage}; it is ${key.byteLength} bytes`);
  return key;
}

/**
 * Checks a store spec with the library's parser: `memory`, `sqlite:<path>`,
 * `redis://...` or `postgres://...`.
 */
export function checkStoreSpec(spec: string): string {
  try {
    parseStoreUrl(spec, { label: 'BATON_STORE' });
  } catch (error) {
    if (error instanceof StoreUrlError) throw new DemoConfigError(error.message);
    throw error;
  }
  return spec;
}

/** Checks BATON_AUDIT: `memory`, `store`, or a store URL. */
export function checkAuditSpec(spec: string): string {
  if (spec === 'store') return spec;
  try {
    parseStoreUrl(spec, { label: 'BATON_AUDIT' });
  } catch (error) {
    if (error instanceof StoreUrlError) throw new DemoConfigError(`${error.message} or store`);
    throw error;
  }
  return spec;
}

export function configFromEnv(env: Record<string, string | undefined>): DemoEnvConfig {
  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new DemoConfigError(`PORT must be a port number (0-65535), got ${JSON.stringify(env.PORT)}`);
  }
  const alg = (env.BATON_ALG?.trim() || 'EdDSA') as Algorithm;
  if (!DEMO_ALGORITHMS.includes(alg)) {
    throw new DemoConfigError(
      `BATON_ALG must be one of ${DEMO_ALGORITHMS.join(', ')}, got ${JSON.stringify(env.BATON_ALG)}`,
    );
  }
  const strategy = (env.BATON_STRATEGY?.trim().toLowerCase() || 'rotating') as DemoStrategy;
  if (!DEMO_STRATEGIES.includes(strategy)) {
    throw new DemoConfigError(
      `BATON_STRATEGY must be one of ${DEMO_STRATEGIES.join(', ')}, got ${JSON.stringify(env.BATON_STRATEGY)}`,
    );
  }
  const adapter = (env.BATON_ADAPTER?.trim().toLowerCase() || 'hono') as DemoAdapter;
  if (!DEMO_ADAPTERS.includes(adapter)) {
    throw new DemoConfigError(
      `BATON_ADAPTER must be one of ${DEMO_ADAPTERS.join(', ')}, got ${JSON.stringify(env.BATON_ADAPTER)}`,
    );
  }
  const logLevel = (env.BATON_LOG_LEVEL?.trim().toLowerCase() || 'info') as DemoLogLevel;
  if (!DEMO_LOG_LEVELS.includes(logLevel)) {
    throw new DemoConfigError(
      `BATON_LOG_LEVEL must be one of ${DEMO_LOG_LEVELS.join(', ')}, got ${JSON.stringify(env.BATON_LOG_LEVEL)}`,
    );
  }
  const implicitRefresh = duration(env, 'BATON_IMPLICIT_REFRESH');
  const refreshText = env.BATON_REFRESH_TTL?.trim().toLowerCase();
  const accessTtl = duration(env, 'BATON_ACCESS_TTL');
  if (accessTtl === 0) throw new DemoConfigError('BATON_ACCESS_TTL must be positive');
  const grace = duration(env, 'BATON_GRACE');
  const refreshTtl =
    refreshText === 'never' || refreshText === 'null' ? null : duration(env, 'BATON_REFRESH_TTL');
  const signingKey = env.BATON_SIGNING_KEY?.trim();
  const refreshKey = env.BATON_REFRESH_KEY?.trim();
  if (refreshKey) parseRefreshKey(refreshKey);
  const metrics = flag(env, 'BATON_METRICS', false);
  const dpop = (env.BATON_DPOP?.trim().toLowerCase() || 'off') as DpopMode;
  if (!DEMO_DPOP_MODES.includes(dpop)) {
    throw new DemoConfigError(
      `BATON_DPOP must be one of ${DEMO_DPOP_MODES.join(', ')}, got ${JSON.stringify(env.BATON_DPOP)}`,
    );
  }
  const publicUrl = env.BATON_PUBLIC_URL?.trim();
  return {
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    alg,
    store: checkStoreSpec(env.BATON_STORE?.trim() || 'sqlite:./baton.db'),
    dataDir: env.BATON_DATA_DIR?.trim() || './.baton',
    cookies: flag(env, 'BATON_COOKIES', true),
    adapter,
    strategy,
    logLevel,
    audit: checkAuditSpec(env.BATON_AUDIT?.trim() || 'memory'),
    dpop,
    ...(publicUrl ? { publicUrl } : {}),
    ...(implicitRefresh === undefined ? {} : { implicitRefresh }),
    ...(accessTtl === undefined ? {} : { accessTtl }),
    ...(refreshTtl === undefined ? {} : { refreshTtl }),
    ...(grace === undefined ? {} : { grace }),
    ...(signingKey ? { signingKey } : {}),
    ...(refreshKey ? { refreshKey } : {}),
    ...(metrics ? { metrics } : {}),
  };
}
