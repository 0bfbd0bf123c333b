// Redis servers of a test's own: a Redis Cluster (masters and replicas) or a
// Sentinel setup, each process started by the test on free 127.0.0.1 ports in
// a temp dir, and stopped by its PID: by stop() (call it in after()), and, for
// whatever a crashed or timed-out test leaves, when this process exits. The
// shared Redis of the other tests is never touched.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** Every server process this module started and has not seen exit. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** A port nothing listens on right now (the kernel's pick). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** `redis-server` and `redis-cli` are installed and recent enough (7: sharded pub/sub). */
export function checkRedisBinaries(): void {
  for (const binary of ['redis-server', 'redis-cli']) {
    const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`${binary} --version exited with ${result.status}`);
    const major = Number(/v=(\d+)\./.exec(result.stdout)?.[1] ?? /(\d+)\.\d+\.\d+/.exec(result.stdout)?.[1]);
    if (!(major >= 7)) throw new Error(`${binary} is older than 7.0 (${result.stdout.trim()})`);
  }
}

/** One redis-server process. */
export class ServerProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #log = '';

  constructor(port: number, args: readonly string[], cwd: string) {
    this.port = port;
    this.#child = spawn('redis-server', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this.#child);
    const keep = (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString('utf8')).slice(-8000);
    };
    this.#child.stdout?.on('data', keep);
    this.#child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) =>
      this.#child.once('exit', () => {
        running.delete(this.#child);
        resolve();
      }),
    );
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get log(): string {
    return this.#log;
  }

  /** SIGKILL by PID: the server dies as in a crash. */
  async kill(): Promise<void> {
    if (this.alive && this.pid !== undefined) process.kill(this.pid, 'SIGKILL');
    await Promise.race([this.#exited, sleep(5000)]);
  }

  /** SIGTERM, then SIGKILL if it is still there after 3 s. */
  async stop(): Promise<void> {
    if (!this.alive || this.pid === undefined) return;
    process.kill(this.pid, 'SIGTERM');
    const exited = await Promise.race([this.#exited.then(() => true), sleep(3000).then(() => false)]);
    if (!exited) await this.kill();
  }
}

/** A short-lived connection to one server (never the shared one). */
export async function withNode<T>(port: number, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

/** Polls `probe` until it returns true, for at most `ms`; throws `what` with the last error. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    try {
      if (await probe()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) break;
    await sleep(100);
  }
  const reason = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`${what}: not within ${ms} ms${reason}`);
}

/** Runs a command to its end (SIGKILL by PID after `ms`), without blocking this process's event loop. */
async function runBounded(
  command: string,
  args: readonly string[],
  ms: number,
): Promise<{ status: number | null; output: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, ms);
  const [status] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { status, output };
}

const COMMON = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];

async function startServer(
  dir: string,
  chosenPort: number | undefined,
  extra: (port: number) => string[],
): Promise<ServerProcess> {
  const port = chosenPort ?? (await freePort());
  const server = new ServerProcess(
    port,
    ['--port', String(port), ...COMMON, '--dir', dir, ...extra(port)],
    dir,
  );
  try {
    await waitUntil(
      `redis-server on ${port}`,
      async () => {
        if (!server.alive) throw new Error(`exited: ${server.log}`);
        return (await withNode(port, (c) => c.ping())) === 'PONG';
      },
      10_000,
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

// ------------------------------------------------------------------- cluster

export interface TestCluster {
  /** Every node, masters first as created (their roles change with failovers). */
  nodes: ServerProcess[];
  /** `redis-cluster://` URL naming the first three nodes as seeds. */
  url: string;
  /** The current masters and the slot ranges each serves, from a live node. */
  masters(): Promise<{ port: number; slots: [number, number][] }[]>;
  /** Waits until every live node says `cluster_state:ok` and the masters number `count`. */
  waitHealthy(count: number, ms: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `masters` masters with `replicas` replicas each; cluster-node-timeout `nodeTimeoutMs` (short: fast
 * failovers). `announcePort`, called with each node's port before it starts, gives the port the node
 * announces to clients instead (`cluster-announce-port`: CLUSTER SLOTS, MOVED), as a node behind
 * address translation does; the cluster bus keeps the real ports. With it, `masters()` names the
 * announced ports, and the cluster is created through them (so they must reach the nodes then).
 */
export async function startCluster(
  options: {
    masters?: number;
    replicas?: number;
    nodeTimeoutMs?: number;
    announcePort?: (port: number) => Promise<number>;
  } = {},
): Promise<TestCluster> {
  const { masters = 3, replicas = 1, nodeTimeoutMs = 1000, announcePort } = options;
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-cluster-'));
  const nodes: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const busPort = await freePort();
      const port = await freePort();
      const announced = announcePort ? ['--cluster-announce-port', String(await announcePort(port))] : [];
      nodes.push(
        await startServer(dir, port, (port) => [
          ...announced,
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPort),
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          // A replica takes over however stale it thinks it is: the test kills masters on purpose.
          '--cluster-replica-validity-factor',
          '0',
          '--cluster-allow-replica-migration',
          'no',
          '--repl-diskless-sync',
          'yes',
          '--repl-diskless-sync-delay',
          '0',
        ]),
      );
    }
    // Not spawnSync: with announcePort, what redis-cli reaches may be served by this process.
    const create = await runBounded(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      30_000,
    );
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed (${create.status}): ${create.output}`);
    }
    const cluster: TestCluster = {
      nodes,
      url: `redis-cluster://${nodes
        .slice(0, 3)
        .map((node) => `127.0.0.1:${node.port}`)
        .join(',')}`,
      async masters() {
        for (const node of nodes.filter((n) => n.alive)) {
          try {
            const slots = (await withNode(node.port, (c) => c.call('CLUSTER', 'SLOTS'))) as [
              number,
              number,
              [string, number],
            ][];
            const byPort = new Map<number, [number, number][]>();
            for (const [start, end, [, port]] of slots) {
              byPort.set(Number(port), [...(byPort.get(Number(port)) ?? []), [start, end]]);
            }
            return [...byPort].map(([port, ranges]) => ({ port, slots: ranges }));
          } catch {
            // Try the next node.
          }
        }
        throw new Error('no live cluster node answers CLUSTER SLOTS');
      },
      async waitHealthy(count, ms) {
        await waitUntil(
          `cluster_state:ok with ${count} masters`,
          async () => {
            for (const node of nodes.filter((n) => n.alive)) {
              const info = await withNode(node.port, (c) => c.call('CLUSTER', 'INFO'));
              if (!/cluster_state:ok/.test(String(info))) return false;
            }
            const current = await cluster.masters();
            if (current.length !== count) return false;
            // Every replica of a live master has its link up, so that a failover has a candidate.
            for (const node of nodes.filter((n) => n.alive)) {
              const replication = String(await withNode(node.port, (c) => c.info('replication')));
              if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) {
                const master = Number(/master_port:(\d+)/.exec(replication)?.[1]);
                if (nodes.some((n) => n.port === master && n.alive)) return false;
              }
            }
            return true;
          },
          ms,
        );
      },
      stop,
    };
    await cluster.waitHealthy(masters, 20_000);
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

// ------------------------------------------------------------------ sentinel

export interface TestSentinel {
  master: ServerProcess;
  replica: ServerProcess;
  sentinels: ServerProcess[];
  name: string;
  /** `redis-sentinel://` URL naming every sentinel and the master's name. */
  url: string;
  /** The port the sentinels currently name as the master. */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

/** One master, one replica and three sentinels (quorum 2), down-after `downAfterMs`. */
export async function startSentinel(options: { downAfterMs?: number } = {}): Promise<TestSentinel> {
  const { downAfterMs = 1000 } = options;
  const name = 'batonmaster';
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-sentinel-'));
  const all: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(all.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await startServer(dir, undefined, () => []);
    all.push(master);
    const replica = await startServer(dir, undefined, () => [
      '--replicaof',
      '127.0.0.1',
      String(master.port),
      '--repl-diskless-sync',
      'yes',
      '--repl-diskless-sync-delay',
      '0',
    ]);
    all.push(replica);
    await waitUntil(
      'the replica is in sync',
      async () => /master_link_status:up/.test(await withNode(replica.port, (c) => c.info('replication'))),
      10_000,
    );
    const sentinels: ServerProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const config = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        config,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = new ServerProcess(port, [config, '--sentinel'], dir);
      all.push(sentinel);
      sentinels.push(sentinel);
    }
    // Sentinels find the replica and each other by hello messages (every 2 s): failover needs both.
    for (const sentinel of sentinels) {
      await waitUntil(
        `sentinel ${sentinel.port} sees the replica and the other sentinels`,
        async () => {
          if (!sentinel.alive) throw new Error(`exited: ${sentinel.log}`);
          return withNode(sentinel.port, async (c) => {
            const replicas = (await c.call('SENTINEL', 'REPLICAS', name)) as unknown[];
            const others = (await c.call('SENTINEL', 'SENTINELS', name)) as unknown[];
            return replicas.length >= 1 && others.length >= 2;
          });
        },
        15_000,
      );
    }
    return {
      master,
      replica,
      sentinels,
      name,
      url: `redis-sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${name}`,
      async masterPort() {
        for (const sentinel of sentinels.filter((s) => s.alive)) {
          try {
            const [, port] = (await withNode(sentinel.port, (c) =>
              c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name),
            )) as [string, string];
            return Number(port);
          } catch {
            // Try the next one.
          }
        }
        throw new Error('no sentinel answers');
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
