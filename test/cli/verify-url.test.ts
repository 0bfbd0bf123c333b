import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { assertOk, assertOneErrorLine, baton, type KeyFixture, keyFixture } from './support.ts';

let fixture: KeyFixture;
before(async () => {
  fixture = await keyFixture();
});
after(() => fixture.dir.remove());

describe('verify --jwks URL', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((request, response) => {
      if (request.url === '/.well-known/jwks.json') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(readFileSync(fixture.jwksFile));
      } else if (request.url !== '/slow') {
        response.writeHead(404).end();
      }
      // /slow never answers: the CLI's timeout has to end it.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('fetched with fetch: valid -> 0', async () => {
    assertOk(await baton(['verify', fixture.token, '--jwks', `${base}/.well-known/jwks.json`]));
  });

  test('HTTP error, timeout and refused connection: exit 1, one line', async () => {
    const [missing, slow, refused] = await Promise.all([
      baton(['verify', fixture.token, '--jwks', `${base}/missing`]),
      baton(['verify', fixture.token, '--jwks', `${base}/slow`, '--timeout', '1s']),
      baton(['verify', fixture.token, '--jwks', 'http://127.0.0.1:1/jwks.json']),
    ]);
    assertOneErrorLine(missing, 1, /HTTP 404/);
    assertOneErrorLine(slow, 1, /timed out after 1s/);
    assertOneErrorLine(refused, 1, /cannot fetch/);
  });
});

describe('verify --jwks URL with a body over the limit', () => {
  let server: Server;
  let base: string;
  let sent = 0;
  before(async () => {
    // 100 MiB, without a Content-Length.
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      let left = 1600;
      const pump = () => {
        while (left > 0) {
          left--;
          sent += chunk.byteLength;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      response.on('close', () => {
        left = 0;
      });
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('stops reading at 1 MiB: exit 1, one line naming the limit', async () => {
    const result = await baton(['verify', fixture.token, '--jwks', `${base}/huge.json`]);
    assertOneErrorLine(result, 1, /larger than 1 MiB/);
    assert.ok(sent < 32 * 1024 * 1024, `the server sent ${sent} bytes before the CLI hung up`);
  });
});
