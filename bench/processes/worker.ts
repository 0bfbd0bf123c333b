/**
 * One worker of the multi-process benchmark (bench/suites/processes.ts):
 *   node --import tsx bench/processes/worker.ts <store-url> <hs256-secret>
 * A SessionManager on the store the URL names (the same URL for every worker:
 * SQLite file, Redis prefix, Redis Cluster seeds, PostgreSQL schema), with the
 * same signing key and refresh key as the others, behind a plain node:http
 * server on a free 127.0.0.1 port, which its first stdout line announces as
 * `{"port":...}`. Routes:
 *   POST /session   {"user":"..."}         -> a new session's tokens (setup only)
 *   POST /refresh   {"refresh_token":"..."} -> the rotated pair (401 on a Baton error)
 *   GET  /protected Authorization: Bearer   -> 200 {"sub":...}  (verify, cache on)
 * SIGTERM closes the server and the manager, then exits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isBatonError } from '../../src/core/errors.ts';
import { openStore } from '../../src/stores/open.ts';
import { hsFixtureFromText, managerFor } from '../lib/fixtures.ts';

const [url, secret] = process.argv.slice(2);
if (!url || !secret) {
  process.stderr.write('usage: worker.ts <store-url> <hs256-secret>\n');
  process.exit(2);
}
const fixture = await hsFixtureFromText(secret);
const manager = managerFor(
  fixture,
  // Every bench user exists: clients are spread over users (on a cluster, over shards).
  { loadUser: (id) => (id.startsWith('user-') ? { id, roles: ['user'] } : null) },
  await openStore(url),
);
await manager.ready;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string>);
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method === 'GET' && req.url === '/protected') {
      const header = req.headers.authorization ?? '';
      const claims = manager.verifyAccessToken(header.slice(7));
      reply(res, 200, { sub: claims.sub });
    } else if (req.method === 'POST' && req.url === '/refresh') {
      const pair = await manager.refresh((await readJson(req)).refresh_token ?? '');
      reply(res, 200, { access_token: pair.accessToken, refresh_token: pair.refreshToken });
    } else if (req.method === 'POST' && req.url === '/session') {
      const user = (await readJson(req)).user ?? '';
      const pair = await manager.issueSession({ id: user, roles: ['user'] });
      reply(res, 200, { access_token: pair.accessToken, refresh_token: pair.refreshToken });
    } else {
      reply(res, 404, { error: 'not_found' });
    }
  } catch (error) {
    if (isBatonError(error))
      reply(res, error.code === 'store_unavailable' ? 503 : 401, { error: error.code });
    else reply(res, 500, { error: error instanceof Error ? error.message : String(error) });
  }
}

const server = createServer((req, res) => void handle(req, res));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' ? address?.port : null })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  manager.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
