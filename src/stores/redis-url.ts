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
