/**
 * The revocation feeds behind `RedisStore.subscribeRevocations` (internal to
 * `baton-auth/stores/redis`): one subscriber connection on one node (or a
 * Sentinel-managed master), one per master on a Redis Cluster.
 *
 * The rule both follow: a connection subscribes first and then reloads the
 * revocations it serves from the store, every time it (re)connects, so a
 * revocation published while it was away still arrives. A heartbeat (PING,
 * answered within the store's deadline) finds a connection that went silent
 * (half-open TCP, a blackholed network), which is then replaced: the same
 * subscribe-then-reload follows.
 */
import type * as IoRedis from 'ioredis';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { loadDriver } from './driver.ts';
import { withDeadline } from './redis-connection.ts';
import { type KeyLayout, keySlot } from './redis-keys.ts';
import { parseRevocations } from './revocation-payload.ts';
import type { Revocation, RevocationListener } from './types.ts';

const driver = loadDriver<typeof IoRedis>('Redis', 'ioredis');

/** Backoff between attempts to bring a feed back: short, since revocations wait on it. */
function backoff(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function connectionName(prefix: string): string {
  return `baton-revocations:${prefix}`.replace(/[^!-~]/g, '_').slice(0, 120);
}

/** What a feed does with what arrives. */
export interface FeedSink {
  deliver(revocations: readonly Revocation[]): void;
}

/** The listeners of one store, each shielded from the others. */
export class FeedListeners implements FeedSink {
  readonly #listeners = new Set<RevocationListener>();

  add(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  clear(): void {
    this.#listeners.clear();
  }

  deliver(revocations: readonly Revocation[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(revocations);
      } catch {
        // One listener's bug must not stop the others, nor the feed.
      }
    }
  }
}

export interface Feed {
  close(): void;
}

export interface FeedOptions {
  prefix: string;
  /** The store's deadline: a PING unanswered within it means the connection is dead. */
  timeoutMs: number;
  /** How often the heartbeat PINGs. */
  heartbeatMs: number;
}

// ------------------------------------------------------------------ one node

/** The subscriber connection of a store on one node or a Sentinel-managed master. */
export class NodeFeed implements Feed {
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #sink: FeedSink;
  readonly #reload: () => Promise<Revocation[]>;
  readonly #timeoutMs: number;
  readonly #heartbeat: NodeJS.Timeout;
  /** Bumped on every (re)connect, so the retries of an older reload give up. */
  #epoch = 0;
  #beating = false;
  #closed = false;

  constructor(
    source: Redis,
    channel: string,
    sink: FeedSink,
    reload: () => Promise<Revocation[]>,
    options: FeedOptions,
  ) {
    this.#channel = channel;
    this.#sink = sink;
    this.#reload = reload;
    this.#timeoutMs = options.timeoutMs;
    const overrides: Partial<RedisOptions> = {
      // RESP2 makes it a classic subscriber connection (CLIENT LIST TYPE pubsub),
      // named so that operators can tell it apart.
      protocol: 2,
      connectionName: connectionName(options.prefix),
      // Resubscribing is done by hand on 'ready', so that the reload can follow it.
      autoResubscribe: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: false,
      commandTimeout: options.timeoutMs,
      // A PING that gets no answer in time destroys the socket: a reconnect follows.
      socketTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      // Unlike commands, the feed must come back however long Redis is away.
      retryStrategy: (attempt: number) => backoff(attempt - 1),
    };
    this.#subscriber = source.duplicate(overrides);
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('ready', () => void this.#resync());
    this.#subscriber.on('message', (from: string, message: string) => {
      if (from !== this.#channel) return;
      const revocations = parseRevocations(message);
      if (revocations.length > 0) this.#sink.deliver(revocations);
    });
    this.#heartbeat = setInterval(() => void this.#beat(), options.heartbeatMs);
    this.#heartbeat.unref();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#subscriber.disconnect();
  }

  /** Subscribe, then reload: in that order nothing published in between is lost. */
  async #resync(): Promise<void> {
    const epoch = ++this.#epoch;
    for (let attempt = 0; !this.#closed && epoch === this.#epoch; attempt++) {
      try {
        await this.#subscriber.subscribe(this.#channel);
        const revocations = await this.#reload();
        if (epoch === this.#epoch && !this.#closed) this.#sink.deliver(revocations);
        return;
      } catch {
        // The main connection may still be down while this one is back: try again.
        await sleep(backoff(attempt));
      }
    }
  }

  /** A connection that stopped answering is replaced; 'ready' then resubscribes and reloads. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#closed || this.#subscriber.status !== 'ready') return;
    this.#beating = true;
    try {
      await withDeadline(this.#subscriber.ping(), this.#timeoutMs, () => new Error('heartbeat timed out'));
    } catch {
      if (!this.#closed && this.#subscriber.status === 'ready') this.#subscriber.disconnect(true);
    } finally {
      this.#beating = false;
    }
  }
}

// ------------------------------------------------------------------- cluster

interface Shard {
  /** `host:port` of the master, as the cluster client knows it. */
  node: string;
  /** The buckets whose slots this master serves, ascending. */
  buckets: number[];
}

/**
 * The feed of a cluster store: one subscriber connection per master, each
 * SSUBSCRIBEd to the shard channels of the buckets that master serves, each
 * reloading those buckets' revocations after it subscribed. A connection that
 * closes, misses a heartbeat, or hears that its slots moved (an unsolicited
 * SUNSUBSCRIBE) sends the feed back to the cluster's slot map: shards whose
 * master changed get a new connection (and their reload); the others keep
 * theirs.
 */
export class ClusterFeed implements Feed {
  readonly #cluster: Cluster;
  readonly #layout: KeyLayout;
  readonly #sink: FeedSink;
  readonly #reload: (buckets: readonly number[]) => Promise<Revocation[]>;
  readonly #options: FeedOptions;
  readonly #subscribers = new Map<string, ShardSubscriber>();
  readonly #heartbeat: NodeJS.Timeout;
  /** The slot of each bucket's channel. */
  readonly #slots: number[];
  #resyncing: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(
    cluster: Cluster,
    layout: KeyLayout,
    sink: FeedSink,
    reload: (buckets: readonly number[]) => Promise<Revocation[]>,
    options: FeedOptions,
  ) {
    this.#cluster = cluster;
    this.#layout = layout;
    this.#sink = sink;
    this.#reload = reload;
    this.#options = options;
    this.#slots = layout.all().map(({ keys }) => keySlot(keys.channel));
    this.#heartbeat = setInterval(() => void this.#beat(), options.heartbeatMs);
    this.#heartbeat.unref();
    this.#trouble();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const subscriber of this.#subscribers.values()) subscriber.close();
    this.#subscribers.clear();
  }

  /** Something changed or failed: bring every shard's subscriber in line with the slot map, until that succeeds. */
  #trouble(): void {
    if (this.#closed) return;
    if (this.#resyncing) {
      this.#again = true;
      return;
    }
    this.#resyncing = (async () => {
      for (let attempt = 0; !this.#closed; attempt++) {
        this.#again = false;
        const ok = await this.#resync().catch(() => false);
        if (ok && !this.#again) return;
        if (!ok) await sleep(backoff(attempt));
      }
    })().finally(() => {
      this.#resyncing = undefined;
    });
  }

  /** One pass: true when every shard has a live, reloaded subscriber. */
  async #resync(): Promise<boolean> {
    const shards = await this.#shards();
    for (const [node, subscriber] of this.#subscribers) {
      const wanted = shards.get(node);
      if (subscriber.healthy && wanted && sameBuckets(wanted.buckets, subscriber.buckets)) continue;
      subscriber.close();
      this.#subscribers.delete(node);
    }
    const starting: Promise<void>[] = [];
    for (const shard of shards.values()) {
      if (this.#subscribers.has(shard.node)) continue;
      const subscriber = new ShardSubscriber(this.#cluster, shard, this.#layout, this.#options, {
        deliver: (revocations) => {
          if (!this.#closed) this.#sink.deliver(revocations);
        },
        reload: this.#reload,
        trouble: () => this.#trouble(),
      });
      this.#subscribers.set(shard.node, subscriber);
      starting.push(subscriber.start());
    }
    const results = await Promise.allSettled(starting);
    return results.every((result) => result.status === 'fulfilled');
  }

  /** Which master serves which buckets, from a fresh copy of the cluster's slot map. */
  async #shards(): Promise<Map<string, Shard>> {
    if (this.#cluster.status !== 'ready') throw new Error(`cluster client ${this.#cluster.status}`);
    await withDeadline(
      new Promise<void>((resolve, reject) =>
        this.#cluster.refreshSlotsCache((error) => (error ? reject(error) : resolve())),
      ),
      this.#options.timeoutMs,
      () => new Error('no slot map in time'),
    );
    const shards = new Map<string, Shard>();
    this.#slots.forEach((slot, bucket) => {
      const node = this.#cluster.slots[slot]?.[0];
      if (node === undefined) throw new Error(`slot ${slot} is not served`);
      let shard = shards.get(node);
      if (!shard) {
        shard = { node, buckets: [] };
        shards.set(node, shard);
      }
      shard.buckets.push(bucket);
    });
    return shards;
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const beats = [...this.#subscribers.values()].map((subscriber) => subscriber.beat());
    const results = await Promise.all(beats);
    if (results.includes(false)) this.#trouble();
  }
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bucket, i) => bucket === b[i]);
}

interface ShardHooks {
  deliver(revocations: readonly Revocation[]): void;
  reload(buckets: readonly number[]): Promise<Revocation[]>;
  trouble(): void;
}

/** The subscriber connection to one master: its buckets' shard channels, then their reload. */
class ShardSubscriber {
  readonly node: string;
  readonly buckets: readonly number[];
  readonly #connection: Redis;
  readonly #channels: Map<number, string[]>;
  readonly #known: Set<string>;
  readonly #hooks: ShardHooks;
  readonly #timeoutMs: number;
  #healthy = false;
  #closed = false;
  #beating = false;

  constructor(cluster: Cluster, shard: Shard, layout: KeyLayout, options: FeedOptions, hooks: ShardHooks) {
    this.node = shard.node;
    this.buckets = shard.buckets;
    this.#hooks = hooks;
    this.#timeoutMs = options.timeoutMs;
    // SSUBSCRIBE takes the channels of one slot at a time.
    this.#channels = new Map();
    for (const bucket of shard.buckets) {
      const channel = layout.keys(bucket).channel;
      const slot = keySlot(channel);
      this.#channels.set(slot, [...(this.#channels.get(slot) ?? []), channel]);
    }
    this.#known = new Set([...this.#channels.values()].flat());
    const overrides: Partial<RedisOptions> = {
      protocol: 2,
      connectionName: connectionName(options.prefix),
      autoResubscribe: false,
      enableOfflineQueue: true,
      enableReadyCheck: false,
      lazyConnect: true,
      // The feed decides when and where to reconnect: the master may have changed.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      readOnly: false,
      commandTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
    };
    const pooled = cluster
      .nodes('master')
      .find((node) => `${node.options.host}:${node.options.port}` === shard.node);
    if (pooled) {
      this.#connection = pooled.duplicate(overrides);
    } else {
      const colon = shard.node.lastIndexOf(':');
      this.#connection = new driver.Redis({
        ...(cluster.options.redisOptions ?? {}),
        host: shard.node.slice(0, colon),
        port: Number(shard.node.slice(colon + 1)),
        ...overrides,
      });
    }
    this.#connection.on('error', () => {});
    this.#connection.on('smessage', (channel: string, message: string) => {
      if (!this.#known.has(channel)) return;
      const revocations = parseRevocations(message);
      if (revocations.length > 0) this.#hooks.deliver(revocations);
    });
    // The slots moved (resharding, failover): SUNSUBSCRIBE pushed by the server.
    this.#connection.on('moved', () => this.#lost());
    this.#connection.on('close', () => this.#lost());
  }

  get healthy(): boolean {
    return this.#healthy && !this.#closed;
  }

  /** Connect, subscribe every channel, then reload: a failure anywhere leaves it unhealthy. */
  async start(): Promise<void> {
    try {
      await withDeadline(this.#connection.connect(), this.#timeoutMs, () => new Error('connect timed out'));
      for (const channels of this.#channels.values()) await this.#connection.ssubscribe(...channels);
      const revocations = await this.#hooks.reload(this.buckets);
      if (this.#closed) return;
      this.#hooks.deliver(revocations);
      this.#healthy = true;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** True if it answered a PING in time (or is not up yet); false if it has to be replaced. */
  async beat(): Promise<boolean> {
    if (!this.healthy) return !this.#closed || this.#healthy;
    if (this.#beating) return true;
    this.#beating = true;
    try {
      await withDeadline(this.#connection.ping(), this.#timeoutMs, () => new Error('heartbeat timed out'));
      return true;
    } catch {
      this.close();
      return false;
    } finally {
      this.#beating = false;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#healthy = false;
    this.#connection.disconnect();
  }

  #lost(): void {
    if (this.#closed) return;
    const wasHealthy = this.#healthy;
    this.close();
    if (wasHealthy) this.#hooks.trouble();
  }
}
