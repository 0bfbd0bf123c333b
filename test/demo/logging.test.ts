// The demo logs JSON lines in pino's format: one per security event (info,
// warn), and at debug one per request (Baton's routes by Baton, the demo's
// own by the demo), never a token; `logLevel` alone (as BATON_LOG_LEVEL
// gives it) turns it on, on every adapter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_ADAPTERS } from '../../demo/app.ts';
import { jsonLogger } from '../../demo/logger.ts';
import { call, login, startHarness } from './helpers.ts';

type Line = Record<string, unknown> & { level: number; time: number; msg?: string };

function capture() {
  const lines: Line[] = [];
  const logger = jsonLogger('debug', (line) => {
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line per entry');
    lines.push(JSON.parse(line) as Line);
  });
  return { lines, logger };
}

describe('the demo’s JSON-lines logger', () => {
  it('writes pino’s line format: level number, time, pid, hostname, bindings, msg, err as { type, message, stack }', () => {
    const { lines, logger } = capture();
    const child = logger.child({ component: 'baton' });
    child.info({ event: { type: 'login' } }, 'baton: login');
    child.error({ err: Object.assign(new Error('down'), { code: 'ECONNREFUSED' }) }, 'failed');
    logger.warn('plain message');
    const [info, error, warn] = lines;
    assert.ok(info && error && warn);
    assert.equal(info.level, 30);
    assert.equal(typeof info.time, 'number');
    assert.equal(info.pid, process.pid);
    assert.equal(typeof info.hostname, 'string');
    assert.equal(info.component, 'baton');
    assert.deepEqual(info.event, { type: 'login' });
    assert.equal(info.msg, 'baton: login');
    assert.equal(error.level, 50);
    const err = error.err as Record<string, unknown>;
    assert.equal(err.type, 'Error');
    assert.equal(err.message, 'down');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.match(String(err.stack), /down/);
    assert.equal(warn.level, 40);
    assert.equal(warn.msg, 'plain message');
  });

  it('drops what is below its level; silent drops everything', () => {
    const written: string[] = [];
    const info = jsonLogger('info', (line) => written.push(line));
    info.debug({}, 'hidden');
    info.info({}, 'shown');
    const silent = jsonLogger('silent', (line) => written.push(line));
    silent.error({}, 'hidden too');
    assert.equal(written.length, 1);
  });

  for (const adapter of DEMO_ADAPTERS) {
    it(`${adapter}: a line per event, a line per request at debug, no token anywhere`, async () => {
      const { lines, logger } = capture();
      const h = await startHarness({ adapter, logger });
      try {
        const tokens = await login(h.demo.url);
        const access = String(tokens.access_token);
        const refresh = String(tokens.refresh_token);
        assert.equal((await call(h.demo.url, '/api/protected', { token: access })).status, 200);
        assert.equal((await call(h.demo.url, `/api/protected?jwt=${access}`, { token: access })).status, 200);
        await call(h.demo.url, '/auth/logout', { json: { refresh_token: refresh } });
        await h.demo.manager.events.flush();
        // Responses are written before `finish` fires on the server: give it a turn.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const events = lines.filter((line) => line.event !== undefined);
        assert.deepEqual(
          events.map((line) => (line.event as { type: string }).type),
          ['login', 'logout'],
        );
        assert.ok(events.every((line) => line.level === 30 && line.component === 'baton'));
        const batonRequests = lines.filter((line) => line.msg === 'baton: request');
        assert.deepEqual(
          batonRequests.map((line) => `${line.method} ${line.path} ${line.status}`),
          ['POST /auth/login 200', 'POST /auth/logout 204'],
        );
        const demoRequests = lines.filter((line) => line.msg === 'request');
        assert.deepEqual(
          demoRequests.map((line) => {
            const req = line.req as { method: string; path: string };
            return `${req.method} ${req.path} ${(line.res as { statusCode: number }).statusCode}`;
          }),
          ['GET /api/protected 200', 'GET /api/protected 200'],
        );
        assert.ok(demoRequests.every((line) => line.level === 20 && line.component === 'demo'));
        const text = lines.map((line) => JSON.stringify(line)).join('\n');
        for (const secret of [access, refresh, access.split('.')[2]!, 'abides']) {
          assert.ok(!text.includes(secret), 'a token or password was logged');
        }
      } finally {
        await h.close();
      }
    });
  }

  it('logLevel alone (BATON_LOG_LEVEL) logs to stdout', async () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.startsWith('{"level"')) {
        written.push(text);
        return true;
      }
      return original(chunk, ...(rest as []));
    }) as typeof process.stdout.write;
    try {
      const h = await startHarness({ logLevel: 'info' });
      try {
        await login(h.demo.url);
        await h.demo.manager.events.flush();
      } finally {
        await h.close();
      }
    } finally {
      process.stdout.write = original;
    }
    assert.equal(written.length, 1);
    assert.match(written[0] ?? '', /"msg":"baton: login"/);
  });
});
