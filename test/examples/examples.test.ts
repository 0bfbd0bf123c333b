/**
 * examples/{express,fastify,hono}/server.ts run as they are (a child process
 * on a free port): log in, call a protected route, stop by PID. And the
 * README's framework sections are copied from them, not written apart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { assertError, call } from '../adapters/client.ts';
import { killExamples, linesInOrder, startExample, stopExample } from '../support/examples.ts';

const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
after(killExamples);

describe('examples', () => {
  it('each example starts, logs in, and guards its routes', async () => {
    // In parallel: three tsx start-ups are most of the time.
    const started = await Promise.allSettled(
      FRAMEWORKS.map((framework) => startExample(`examples/${framework}/server.ts`)),
    );
    try {
      for (const [i, result] of started.entries()) {
        if (result.status === 'rejected') throw result.reason;
        const { url } = result.value;
        const label = FRAMEWORKS[i];
        const login = await call(url, '/auth/login', { json: { username: 'thedude', password: 'abides' } });
        assert.equal(login.status, 200, `${label}: ${login.text}`);
        assert.deepEqual(login.headers.getSetCookie(), [], `${label}: body transfer sets no cookie`);
        const browser = await call(url, '/auth/login', {
          json: { username: 'thedude', password: 'abides' },
          headers: { 'baton-transfer': 'cookie' },
        });
        assert.equal(browser.headers.getSetCookie().length, 3, `${label}: cookie transfer`);
        assert.equal(browser.json.access_token, undefined, `${label}: cookie transfer, no token in the body`);
        assert.equal(
          browser.json.refresh_token,
          undefined,
          `${label}: cookie transfer, no token in the body`,
        );
        const token = String(login.json.access_token);
        const me = await call(url, '/api/me', { token });
        assert.equal(me.status, 200, `${label}: ${me.text}`);
        assert.deepEqual(me.json, { user: '1', roles: ['user'] }, label);
        assertError(await call(url, '/api/me'), 401, 'missing_token');
        assertError(await call(url, '/api/admin', { method: 'POST', token }), 403, 'insufficient_scope');
        assertError(
          await call(url, '/auth/login', { json: { username: 'thedude', password: 'nope' } }),
          401,
          'invalid_credentials',
        );
      }
    } finally {
      await Promise.all(
        started.map((r) => (r.status === 'fulfilled' ? stopExample(r.value.child) : undefined)),
      );
    }
  });

  it('each is a single file under 60 lines', () => {
    for (const framework of FRAMEWORKS) {
      const lines = readFileSync(`examples/${framework}/server.ts`, 'utf8').trimEnd().split('\n');
      assert.ok(lines.length < 60, `${framework}: ${lines.length} lines`);
    }
  });
});

describe('README "Frameworks"', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('\n## Frameworks\n'));
  const body = section.slice(0, section.indexOf('\n## ', 1) === -1 ? undefined : section.indexOf('\n## ', 1));

  for (const framework of FRAMEWORKS) {
    it(`${framework}: at most 20 lines, its code copied from the tested example`, () => {
      const title = `### ${framework[0]?.toUpperCase()}${framework.slice(1)}`;
      const start = body.indexOf(`\n${title}`);
      assert.ok(start >= 0, `README has "${title}" under "## Frameworks"`);
      const rest = body.slice(start + 1);
      const end = rest.indexOf('\n### ', 1);
      const subsection = (end === -1 ? rest : rest.slice(0, end)).trimEnd();
      assert.ok(subsection.split('\n').length <= 20, `${title}: ${subsection.split('\n').length} lines`);
      const code = /```ts\n([\s\S]*?)```/.exec(subsection)?.[1];
      assert.ok(code, `${title} has a ts code block`);
      const missing = linesInOrder(code, readFileSync(`examples/${framework}/server.ts`, 'utf8'));
      assert.equal(
        missing,
        undefined,
        `${title}: not in examples/${framework}/server.ts (in order): ${missing}`,
      );
    });
  }
});
