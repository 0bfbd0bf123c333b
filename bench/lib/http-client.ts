/**
 * A small keep-alive HTTP client for load whose every request depends on the
 * answer to the previous one (a refresh presents the token the last refresh
 * returned), which autocannon's fixed requests cannot do: `clients` async
 * loops, each waiting for its answer before sending again (a closed loop, as
 * autocannon's connections are), over at most `connections` sockets to
 * 127.0.0.1. Every answer must have the expected status: an unexpected one
 * fails the run, so a case that breaks can never look fast.
 */
import { Agent, type IncomingHttpHeaders, request } from 'node:http';

export interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON (content-type set) when an object, as it is when a string. */
  body?: unknown;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export class HttpClient {
  readonly #agent: Agent;
  readonly #port: number;

  constructor(port: number, connections: number) {
    this.#port = port;
    this.#agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  send(exchange: Exchange): Promise<Answer> {
    const headers: Record<string, string> = { ...exchange.headers };
    let payload: string | undefined;
    if (exchange.body !== undefined) {
      payload = typeof exchange.body === 'string' ? exchange.body : JSON.stringify(exchange.body);
      if (typeof exchange.body !== 'string') headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.#port,
          method: exchange.method,
          path: exchange.path,
          headers,
          agent: this.#agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** `send`, throwing unless the answer has the `expected` status. */
  async expect(exchange: Exchange, expected = 200): Promise<Answer> {
    const answer = await this.send(exchange);
    if (answer.status !== expected) {
      throw new Error(
        `${exchange.method} ${exchange.path}: ${answer.status} (expected ${expected}) ${answer.body.slice(0, 200)}`,
      );
    }
    return answer;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** The `name=value` pairs of an answer's Set-Cookie headers, as a Cookie header would send them back. */
export function cookiesOf(answer: Answer): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const line of answer.headers['set-cookie'] ?? []) {
    const pair = line.split(';', 1)[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) cookies[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return cookies;
}

export function cookieHeader(cookies: Record<string, string>, names: readonly string[]): string {
  return names
    .map((name) => {
      const value = cookies[name];
      if (value === undefined) throw new Error(`no ${name} cookie`);
      return `${name}=${value}`;
    })
    .join('; ');
}

/** One step of a client's loop. */
export type Step = () => Promise<void>;

export interface LoopFigure {
  requests: number;
  perSec: number;
  /** Every step's duration, ns. */
  latencies: number[];
}

/** Runs every client's loop for `ms`; each step is one request and its answer. */
export async function closedLoop(clients: readonly Step[], ms: number): Promise<LoopFigure> {
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  await Promise.all(
    clients.map(async (step) => {
      for (;;) {
        const t0 = process.hrtime.bigint();
        if (t0 >= deadline) return;
        await step();
        latencies.push(Number(process.hrtime.bigint() - t0));
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start);
  return { requests: latencies.length, perSec: (latencies.length * 1e9) / elapsed, latencies };
}
