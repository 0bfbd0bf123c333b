/**
 * The URLs of `RedisStore` (internal to `baton-auth/stores/redis`): parsed
 * without loading ioredis, so that `parseStoreUrl` can check them.
 */

/** A store's deadline when none is given: no call waits longer for Redis. */
export { DEFAULT_TIMEOUT_MS } from './deadline.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** What a store URL names. */
export type RedisTarget =
  | { kind: 'node'; url: string }
  | {
      kind: 'cluster';
      nodes: HostPort[];
      username?: string;
      password?: string;
      tls: boolean;
    }
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      name: string;
      db?: number;
      username?: string;
      password?: string;
      tls: boolean;
    };

const MULTI_HOST = /^(rediss?)-(cluster|sentinel):\/\/(.*)$/i;

/**
 * Parses a store URL: `redis://` / `rediss://` (one node), `redis-cluster://`
 * (seed nodes of a Redis Cluster), `redis-sentinel://` (sentinels, then the
 * master's name); the `s` forms use TLS. Returns a reason string when the URL
 * cannot be used (never echoing it: it may carry a password).
 *
 * `redis-cluster://[user:password@]host:port[,host:port...]`
 * `redis-sentinel://[user:password@]host:port[,host:port...]/MASTER_NAME[/db]`
 */
export function parseRedisTarget(url: string): RedisTarget | string {
  if (/^rediss?:\/\//i.test(url)) {
    return URL.canParse(url) ? { kind: 'node', url } : 'is not a valid redis:// URL';
  }
  const match = MULTI_HOST.exec(url);
  if (!match) return 'must be a redis://, rediss://, redis-cluster:// or redis-sentinel:// URL';
  const [, scheme, kindName, rest] = match as unknown as [string, string, string, string];
  const kind = kindName.toLowerCase() as 'cluster' | 'sentinel';
  const tls = scheme.toLowerCase() === 'rediss';
  if (/[?#]/.test(rest)) return 'takes no query or fragment (prefix and timeout are options of their own)';
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const userInfo = at < 0 ? undefined : authority.slice(0, at);
  const hostList = at < 0 ? authority : authority.slice(at + 1);
  const credentials: { username?: string; password?: string } = {};
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    try {
      const username = decodeURIComponent(colon < 0 ? userInfo : userInfo.slice(0, colon));
      const password = colon < 0 ? undefined : decodeURIComponent(userInfo.slice(colon + 1));
      if (username !== '') credentials.username = username;
      if (password !== undefined && password !== '') credentials.password = password;
    } catch {
      return 'has a badly escaped user name or password';
    }
  }
  const defaultPort = kind === 'cluster' ? 6379 : 26379;
  const hosts: HostPort[] = [];
  for (const part of hostList.split(',')) {
    const host = parseHostPort(part.trim(), defaultPort);
    if (!host) return `needs host:port[,host:port...] (${kind === 'cluster' ? 'seed nodes' : 'sentinels'})`;
    hosts.push(host);
  }
  if (kind === 'cluster') {
    if (path !== '') return 'takes no path (a Redis Cluster has only database 0)';
    return { kind, nodes: hosts, tls, ...credentials };
  }
  const [name, db, ...extra] = path.split('/');
  if (!name || extra.length > 0) return 'needs the master name: redis-sentinel://host:port,.../MASTER_NAME';
  let decoded: string;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    return 'has a badly escaped master name';
  }
  const target: RedisTarget = { kind, sentinels: hosts, name: decoded, tls, ...credentials };
  if (db !== undefined && db !== '') {
    if (!/^\d{1,5}$/.test(db)) return 'has a database that is not a number (/MASTER_NAME/db)';
    target.db = Number(db);
  }
  return target;
}

function parseHostPort(text: string, defaultPort: number): HostPort | null {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text);
  const plain = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
  const found = bracketed ?? plain;
  if (!found) return null;
  const port = found[2] === undefined ? defaultPort : Number(found[2]);
  if (port < 1 || port > 65535) return null;
  return { host: found[1]!, port };
}

/** `host:port`, IPv6 in brackets. */
export function hostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where a Redis Cluster node that announces `announced` is reached from here (ioredis's `natMap` entry). */
export type NatMapFunction = (announced: string) => HostPort | null;

/**
 * A Redis Cluster's announced node addresses (`host:port`, as CLUSTER SLOTS
 * gives them: IPv6 without brackets) mapped to the addresses this process
 * reaches them at, or a function that maps one (null: as announced).
 */
export type NatMap = Record<string, HostPort> | NatMapFunction;

/**
 * Why `value` cannot be a natMap, or undefined if it can. Messages name the
 * announced address, never anything else of the configuration.
 */
export function natMapProblem(value: unknown): string | undefined {
  if (typeof value === 'function') return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return "must be an object mapping announced 'host:port' to { host, port }, or a function (address) => { host, port } | null";
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return 'is empty: leave it out, or map at least one announced address';
  for (const [announced, target] of entries) {
    const key = /^(.+):(\d{1,5})$/.exec(announced);
    if (!key || /[\s[\]]/.test(key[1]!) || Number(key[2]) < 1 || Number(key[2]) > 65535) {
      return `has the key ${JSON.stringify(announced)}: keys are the addresses the cluster announces, 'host:port' (IPv6 without brackets, as CLUSTER SLOTS gives them)`;
    }
    const { host, port, ...extra } = (target ?? {}) as Partial<HostPort> & Record<string, unknown>;
    if (
      typeof target !== 'object' ||
      target === null ||
      typeof host !== 'string' ||
      !/^[^\s/@]+$/.test(host) ||
      !Number.isInteger(port) ||
      (port as number) < 1 ||
      (port as number) > 65535 ||
      Object.keys(extra).length > 0
    ) {
      return `maps ${JSON.stringify(announced)} to something other than { host: string, port: 1-65535 }`;
    }
  }
  return undefined;
}

/**
 * The `natMap` query of a `redis-cluster://` URL:
 * `announced=reachable[,announced=reachable...]`, each a `host:port`
 * (`10.0.0.5:6379=203.0.113.7:30001`; IPv6 in brackets). Returns a reason
 * string when it cannot be used.
 */
export function parseNatMapQuery(text: string): Record<string, HostPort> | string {
  const map: Record<string, HostPort> = {};
  for (const pair of text.split(',')) {
    const [from, to, ...extra] = pair.trim().split('=');
    const announced = parseHostPort(from ?? '', 0);
    const reached = parseHostPort(to ?? '', 0);
    if (!announced || !reached || extra.length > 0 || announced.port === 0 || reached.port === 0) {
      return 'has a natMap that is not announced=reachable[,...], each a host:port (10.0.0.5:6379=203.0.113.7:30001)';
    }
    // ioredis's keys: host:port as CLUSTER SLOTS gives it, IPv6 without brackets.
    const key = `${announced.host}:${announced.port}`;
    if (key in map) return `has a natMap that maps ${key} twice`;
    map[key] = reached;
  }
  return map;
}
