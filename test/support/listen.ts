/** Test servers on an ephemeral 127.0.0.1 port, closed with their keep-alive connections. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export interface Listening {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** What both Node's http.Server and @hono/node-server's server offer. */
type Closable = Pick<Server, 'close' | 'address'> & { closeAllConnections?: () => void };

function listening(server: Closable): Listening {
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections?.();
      }),
  };
}

/** Starts a Node server (an Express app's, a plain handler's). */
export async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return listening(server);
}

/** Serves a Hono app's `fetch` with @hono/node-server. */
export function serveHono(fetch: (request: Request) => Response | Promise<Response>): Promise<Listening> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(listening(server as Closable)),
    );
  });
}
