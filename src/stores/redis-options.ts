/**
 * The options of `RedisStore`, checked at construction (internal to
 * `baton-auth/stores/redis`; the README's options table is generated from it).
 */
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { explainAliases } from '../core/options.ts';
import { storeTimeoutSchema } from './deadline.ts';
import { type NatMap, natMapProblem, parseRedisTarget } from './redis-url.ts';

export interface RedisStoreOptions {
  /**
   * Where Redis is: `redis://` or `rediss://` (one server),
   * `redis-cluster://host:port,host:port,...` (seed nodes of a Redis Cluster;
   * the client finds the rest), `redis-sentinel://host:port,.../MASTER_NAME`
   * (the sentinels, then the name of the master they watch). User and
   * password go before the hosts: `redis-cluster://user:password@h1:7000,h2:7000`.
   * Default: ioredis's default, 127.0.0.1:6379.
   */
  url?: string;
  /**
   * A connection to use instead of `url`: an ioredis `Redis` (one server, or
   * Sentinel-managed) or `Cluster`. The store never closes it (close it
   * yourself after `store.close()`) and keeps its options: for fast 503s while
   * Redis is down, create it with `enableOfflineQueue: false` and
   * `maxRetriesPerRequest: 0` (a Cluster: `retryDelayOnFailover: 0`, so that a
   * command lost with a node is not sent again, and the default `scaleReads:
   * 'master'`: a replica may not have the latest rotation yet). The store's
   * `timeout` still bounds every call. Must not use ioredis's `keyPrefix`
   * (use `prefix`).
   */
  client?: Redis | Cluster;
  /** Prefix of every key and of the revocation channels. Default `'baton:'`. */
  prefix?: string;
  /**
   * The deadline of every call, in milliseconds: a call Redis has not answered
   * by then (a slow, unreachable or silent server, a half-open connection)
   * fails with `store_unavailable` (503, `Retry-After: 1`), and the silent
   * connection is replaced. The revocation feed's heartbeat uses it too.
   * Default 5000.
   */
  timeout?: number;
  /**
   * A Redis Cluster reached through other addresses than the ones its nodes
   * announce (CLUSTER SLOTS): behind Docker's port mapping, a Kubernetes
   * NodePort or LoadBalancer, a cloud NAT. Maps each announced `'host:port'`
   * (IPv6 without brackets, as CLUSTER SLOTS gives it) to the address this
   * process reaches that node at, `{ host, port }`; or a function from the
   * announced `'host:port'` to that address (`null`: use it as announced),
   * for nodes that come and go. Without it, every call after the client
   * learns the cluster's layout goes to the announced addresses, and answers
   * `store_unavailable` when they cannot be reached. ioredis's Cluster option
   * `natMap`; only with a `redis-cluster://` URL (a `client` you build takes
   * it in its own options). In a store URL: the query
   * `?natMap=10.0.0.5:6379=203.0.113.7:30001,10.0.0.6:6379=203.0.113.7:30002`.
   */
  natMap?:
    | Record<string, { host: string; port: number }>
    | ((announced: string) => { host: string; port: number } | null);
}

/** Duck-typed: the application's ioredis may be another copy than Baton's. */
function looksLikeClient(client: unknown): boolean {
  const candidate = client as { evalsha?: unknown; duplicate?: unknown; isCluster?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.evalsha === 'function' &&
    typeof candidate.duplicate === 'function'
  );
}

// Messages never echo the URL: it may carry a password.
export const redisStoreOptionsSchema = z
  .strictObject({
    url: z.string().optional().meta({
      accepts:
        'a redis://, rediss://, redis-cluster://host:port,... or redis-sentinel://host:port,.../MASTER_NAME URL (default: 127.0.0.1:6379)',
      description:
        'where Redis is: `redis://`/`rediss://` (one server), `redis-cluster://host:port,host:port` (seed nodes of a Redis Cluster), `redis-sentinel://host:port,.../MASTER_NAME` (Sentinel); user and password before the hosts',
      default: '`redis://127.0.0.1:6379`',
    }),
    client: z.custom<Redis | Cluster>(looksLikeClient).optional().meta({
      accepts: 'an ioredis Redis or Cluster instance',
      description:
        'an ioredis `Redis` or `Cluster` to use instead of `url`; the store leaves it open on `close()`',
    }),
    prefix: z
      .string()
      .regex(/^[!-~]{1,100}$/)
      .optional()
      .meta({
        accepts: "1 to 100 printable ASCII characters without spaces (default 'baton:')",
        description:
          'prefix of every key and revocation channel; on a Redis Cluster without `{` `}` (the store adds hash tags of its own)',
        default: "`'baton:'`",
      }),
    timeout: storeTimeoutSchema(
      '; past it the call is `store_unavailable` (503, `Retry-After: 1`) and a silent connection is replaced; also the revocation feed heartbeat',
    ),
    natMap: z
      .custom<NatMap>((value) => natMapProblem(value) === undefined, {
        error: (issue) => natMapProblem(issue.input),
      })
      .optional()
      .meta({
        accepts:
          "an object mapping a cluster node's announced 'host:port' to { host, port }, or a function (address) => { host, port } | null",
        description:
          "Redis Cluster behind address translation (Docker, Kubernetes, a cloud NAT): each announced `'host:port'` (as CLUSTER SLOTS gives it) to the `{ host, port }` this process reaches it at, or a function doing that; only with a `redis-cluster://` URL",
      }),
  })
  .superRefine(({ url, client, prefix, natMap }, ctx) => {
    const fail = (option: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [option], message });
    if (url !== undefined && client !== undefined) fail('client', 'give either url or client, not both');
    if (client?.status === 'end') fail('client', 'must be an open ioredis connection: this one is closed');
    if (client?.options && 'keyPrefix' in client.options && client.options.keyPrefix) {
      fail('client', 'has a keyPrefix, which scripts and SCAN would not see; use the prefix option instead');
    }
    const clusterKeyPrefix = (client as { options?: { redisOptions?: { keyPrefix?: unknown } } } | undefined)
      ?.options?.redisOptions?.keyPrefix;
    if (clusterKeyPrefix) {
      fail('client', 'has a keyPrefix, which scripts and SCAN would not see; use the prefix option instead');
    }
    const scaleReads = (client as { isCluster?: unknown; options?: { scaleReads?: unknown } } | undefined)
      ?.options?.scaleReads;
    if (
      (client as { isCluster?: unknown } | undefined)?.isCluster === true &&
      (scaleReads ?? 'master') !== 'master'
    ) {
      fail(
        'client',
        "reads from replicas (scaleReads), which may not have the latest rotation yet: use scaleReads: 'master'",
      );
    }
    const target = url === undefined ? undefined : parseRedisTarget(url);
    if (typeof target === 'string') {
      // The reason, never the URL itself (it may carry a password).
      const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url ?? '')?.[0] ?? '';
      fail('url', target.startsWith('must') ? target : `this ${scheme} URL ${target}`);
    }
    if (natMap !== undefined) {
      if (client !== undefined) {
        fail(
          'natMap',
          'goes with url; a client you build takes it in its own options: new Cluster(nodes, { natMap })',
        );
      } else if (typeof target !== 'object' || target.kind !== 'cluster') {
        fail(
          'natMap',
          'is for a Redis Cluster (a redis-cluster:// URL): one server or Sentinel is reached at the address you give',
        );
      }
    }
    const onCluster =
      (client as { isCluster?: unknown } | undefined)?.isCluster === true ||
      (typeof target === 'object' && target.kind === 'cluster');
    if (onCluster && prefix !== undefined && /[{}]/.test(prefix)) {
      fail(
        'prefix',
        'must not contain { or } on a Redis Cluster: the store adds a hash tag of its own to each key',
      );
    }
  });

const IN_THE_URL = "RedisStore takes it in url: 'redis://user:password@host:port/db'";
export const explainUnknown = explainAliases({
  host: IN_THE_URL,
  port: IN_THE_URL,
  username: IN_THE_URL,
  password: IN_THE_URL,
  db: IN_THE_URL,
  nodes: "RedisStore takes a cluster's nodes in url: 'redis-cluster://host:port,host:port'",
  cluster:
    "RedisStore takes a cluster in url ('redis-cluster://host:port,...') or client (an ioredis Cluster)",
  sentinels: "RedisStore takes sentinels in url: 'redis-sentinel://host:port,host:port/MASTER_NAME'",
  name: "RedisStore takes the master's name in url: 'redis-sentinel://host:port,.../MASTER_NAME'",
  commandTimeout: "RedisStore's is timeout (milliseconds)",
  connectionString: "RedisStore's is url (a redis://, redis-cluster:// or redis-sentinel:// URL)",
  keyPrefix: "RedisStore's is prefix (a client with ioredis's keyPrefix is refused)",
  redis: "RedisStore's is client (an ioredis Redis or Cluster instance)",
  connection: "RedisStore's is client (an ioredis Redis or Cluster instance)",
});
