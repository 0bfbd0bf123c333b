// A TCP proxy on 127.0.0.1 in front of a real server, for the network's
// failure modes that a server cannot produce by itself:
//   pass        bytes flow both ways;
//   delay N     every chunk arrives N ms late (both ways, order kept);
//   blackhole   every connection, existing and new, swallows what it gets both
//               ways and stays open: a silent network, nothing is refused;
//   half-open   the connections open now stay blackholed for good (a peer that
//               vanished without a FIN or RST); new ones pass;
//   cut()       destroys every connection at once (new ones follow the mode).
// A connection once blackholed never passes bytes again: what it swallowed is
// gone, so its protocol stream could not resume. close() ends everything.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'half-open' | { delayMs: number };

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  dead: boolean;
  /** Per direction, when the last delayed chunk is due: later chunks never overtake it. */
  dueUp: number;
  dueDown: number;
}

export interface TcpProxy {
  host: '127.0.0.1';
  port: number;
  readonly mode: ProxyMode;
  setMode(mode: ProxyMode): void;
  /** Connections currently open (blackholed ones included). */
  readonly connections: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  const timers = new Set<NodeJS.Timeout>();
  let mode: ProxyMode = 'pass';
  let accepted = 0;
  const delayOf = () => (typeof mode === 'object' ? mode.delayMs : 0);

  const drop = (link: Link) => {
    links.delete(link);
    link.client.destroy();
    link.upstream?.destroy();
  };

  const forward = (link: Link, chunk: Buffer, to: Socket, direction: 'dueUp' | 'dueDown') => {
    if (link.dead) return;
    const delay = delayOf();
    const now = Date.now();
    if (delay <= 0 && link[direction] <= now) {
      to.write(chunk);
      return;
    }
    const due = Math.max(now + delay, link[direction]);
    link[direction] = due;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!link.dead && !to.destroyed) to.write(chunk);
    }, due - now);
    timers.add(timer);
  };

  const server: Server = createServer((client) => {
    accepted += 1;
    const link: Link = { client, upstream: undefined, dead: mode === 'blackhole', dueUp: 0, dueDown: 0 };
    links.add(link);
    client.on('error', () => drop(link));
    client.on('close', () => drop(link));
    client.on('data', (chunk) => {
      if (link.upstream) forward(link, chunk, link.upstream, 'dueUp');
    });
    // A blackholed connection needs no upstream: it only swallows.
    if (link.dead) return;
    const upstream = createConnection(target);
    link.upstream = upstream;
    upstream.on('error', () => drop(link));
    upstream.on('close', () => drop(link));
    upstream.on('data', (chunk) => forward(link, chunk, client, 'dueDown'));
    // Bytes sent before the upstream connected are buffered by the socket.
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');

  return {
    host: '127.0.0.1',
    port: address.port,
    get mode() {
      return mode;
    },
    setMode(next) {
      mode = next;
      if (next === 'blackhole' || next === 'half-open') {
        for (const link of links) link.dead = true;
      }
    },
    get connections() {
      return links.size;
    },
    get accepted() {
      return accepted;
    },
    cut() {
      for (const link of [...links]) drop(link);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
