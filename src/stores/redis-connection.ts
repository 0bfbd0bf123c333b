/**
 * How `RedisStore` reaches Redis (internal to `baton-auth/stores/redis`): its
 * URLs (one node, a Redis Cluster, a Sentinel-managed master), the client
 * options that make every call fail fast and within the store's deadline, and
 * the messages that say where the trouble is, never with a password.
 */
import type * as IoRedis from 'ioredis';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { BatonError } from '../core/errors.ts';
import { loadDriver } from './driver.ts';
import { hostPort, type NatMap, type RedisTarget } from './redis-url.ts';

const driver = loadDriver<typeof IoRedis>('Redis', 'ioredis');

// ------------------------------------------------------------------ clients

/**
 * Options every connection of a store shares: commands are never queued nor
 * replayed (a queued request would hang while Redis is away, and a write
 * replayed after a reconnect may already have been applied), and a command or
 * a silent socket ends at the deadline: a connection that stops answering
 * (a half-open TCP connection, a blackholed network) is destroyed and
 * replaced, not waited on.
 */
export function failFastOptions(timeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    keepAlive: 10_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  };
}

/** A client for a parsed URL (the store owns it); `natMap` only for a cluster (checked by the options). */
export function createClient(target: RedisTarget, timeoutMs: number, natMap?: NatMap): Redis | Cluster {
  const failFast = failFastOptions(timeoutMs);
  switch (target.kind) {
    case 'node':
      return new driver.Redis(target.url, failFast);
    case 'sentinel':
      return new driver.Redis({
        ...failFast,
        sentinels: target.sentinels,
        name: target.name,
        role: 'master',
        ...(target.db === undefined ? {} : { db: target.db }),
        ...(target.username === undefined ? {} : { username: target.username }),
        ...(target.password === undefined ? {} : { password: target.password }),
        ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
        sentinelCommandTimeout: timeoutMs,
        // Told by the sentinels of a switch, the client moves to the new master at once
        // instead of waiting for the old one's connection to fail.
        failoverDetector: true,
      });
    case 'cluster': {
      const { retryStrategy: _, enableOfflineQueue: __, ...nodeOptions } = failFast;
      const options: ClusterOptions = {
        // The store sends nothing until the cluster is ready (see #whenReady); this queue
        // only holds a command for a node whose connection is being made, which ioredis
        // opens on first use (otherwise the second command to a new node would fail).
        enableOfflineQueue: true,
        // A command lost with a node's connection is not sent again (it may have been
        // applied); the caller gets a 503 and retries. Redirections (MOVED, ASK) and
        // TRYAGAIN are followed: those commands did not run.
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        slotsRefreshTimeout: Math.min(timeoutMs, 2000),
        clusterRetryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
        // The announced addresses of the nodes (CLUSTER SLOTS, MOVED, ASK) to the ones reached from here.
        ...(natMap === undefined ? {} : { natMap }),
        redisOptions: {
          ...nodeOptions,
          ...(target.username === undefined ? {} : { username: target.username }),
          ...(target.password === undefined ? {} : { password: target.password }),
          ...(target.tls ? { tls: {} } : {}),
        },
      };
      return new driver.Cluster(target.nodes, options);
    }
  }
}

/** Whether an ioredis client is a Cluster. */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/** The servers a client talks to, for messages: `host:port/db`, `cluster h:p,...`, `sentinel name@h:p,...`. Never a password. */
export function whereOf(client: Redis | Cluster): string {
  if (isCluster(client)) {
    const seeds = (client as unknown as { startupNodes?: unknown[] }).startupNodes ?? [];
    const shown = seeds.map((seed) => {
      if (typeof seed === 'string') return seed.replace(/^.*@/, '');
      if (typeof seed === 'number') return `127.0.0.1:${seed}`;
      const { host = '127.0.0.1', port = 6379 } = (seed ?? {}) as { host?: string; port?: number };
      return hostPort({ host, port: Number(port) });
    });
    return `cluster ${shown.join(',')}`;
  }
  const { host, port, db, path, sentinels, name } = client.options;
  if (sentinels && sentinels.length > 0) {
    const list = sentinels.map((s) =>
      hostPort({ host: s.host ?? 'localhost', port: Number(s.port ?? 26379) }),
    );
    return `sentinel ${name ?? 'mymaster'}@${list.join(',')}${db ? `/${db}` : ''}`;
  }
  const server = path ? String(path) : hostPort({ host: host ?? 'localhost', port: port ?? 6379 });
  return db ? `${server}/${db}` : server;
}

// ----------------------------------------------------------------- failures

/** Reply errors that mean "not now" rather than "wrong command". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|OOM)\b/;

/** `Redis <where>: message`: says which server, so an operator can tell a wrong address from an outage. */
export function unavailable(message: string, where: string, cause?: unknown): BatonError {
  return new BatonError('store_unavailable', `Redis ${where}: ${message}`, { retryAfter: 1, cause });
}

/**
 * A driver's failure as Baton's: connection trouble, timeouts and transient
 * replies are a retryable 503; a redirection on a store that is not a cluster
 * store is a 503 that says which URL to use; other reply errors are bugs.
 */
export function translate(error: unknown, where: string, clusterStore: boolean): unknown {
  if (error instanceof BatonError) return error;
  if (error instanceof Error && error.name === 'ReplyError') {
    if (!clusterStore && /^(MOVED|ASK) /.test(error.message)) {
      return unavailable(
        clusterNodeAdvice(where, `it answered ${error.message.split(' ')[0]}`),
        where,
        error,
      );
    }
    if (!TRANSIENT_REPLY.test(error.message)) return error;
  }
  return unavailable(error instanceof Error ? error.message : String(error), where, error);
}

/** A redis:// URL that names a node of a Redis Cluster: what to use instead. */
export function clusterNodeAdvice(where: string, evidence: string): string {
  const node = where.replace(/\/\d+$/, '');
  return (
    `this is a Redis Cluster node (${evidence}), and a redis:// URL talks to that one node only: ` +
    `use redis-cluster://${node} (any of its nodes, comma-separated), so that every key goes to the node that serves its slot`
  );
}

/** A redis:// URL that names a Sentinel: what to use instead. */
export function sentinelAdvice(where: string): string {
  return `this is a Redis Sentinel, not a Redis server: use redis-sentinel://${where.replace(/\/\d+$/, '')}/MASTER_NAME`;
}

/** A redis-cluster:// URL whose nodes are not a cluster: what to use instead. */
export function notClusterAdvice(where: string): string {
  const first = where.replace(/^cluster /, '').split(',')[0] ?? '';
  return `this is not a Redis Cluster (cluster support disabled): use redis://${first}`;
}

/** Resolves true once `client` is ready, false after `timeoutMs` or if it gives up. */
export function waitForReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      resolve(ready);
    };
    const onReady = () => done(true);
    const onEnd = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  promise.catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
