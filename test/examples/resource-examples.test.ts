/**
 * examples/resource/{express,fastify,hono}.ts run as they are, against the
 * demo as the issuer: a token from the demo's login opens their routes. And
 * the README's "Resource servers" snippets are copied from them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/index.ts';
import { assertError, call } from '../adapters/client.ts';
import { login, startHarness } from '../demo/helpers.ts';
import { killExamples, linesInOrder, startExample, stopExample } from '../support/examples.ts';

const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
after(killExamples);

describe('resource server examples', () => {
  it('each verifies the demo’s tokens through its JWKS and guards its routes by role', async () => {
    // The examples run on the real clock, so the issuer does too.
    const issuer = await startHarness({ clock: systemClock });
    const started = await Promise.allSettled(
      FRAMEWORKS.map((framework) =>
        startExample(`examples/resource/${framework}.ts`, { ISSUER_URL: issuer.demo.url }),
      ),
    );
    try {
      const user = await login(issuer.demo.url);
      const admin = await login(issuer.demo.url, 'walter', 'calmerthanyouare');
      for (const [i, result] of started.entries()) {
        if (result.status === 'rejected') throw result.reason;
        const { url } = result.value;
        const label = FRAMEWORKS[i];
        const orders = await call(url, '/orders', { token: user.access_token });
        assert.equal(orders.status, 200, `${label}: ${orders.text}`);
        assert.deepEqual(orders.json, { user: '1' }, label);
        assertError(await call(url, '/orders'), 401, 'missing_token');
        assertError(await call(url, '/orders', { token: user.refresh_token }), 401, 'wrong_token_type');
        assertError(
          await call(url, '/admin', { method: 'POST', token: user.access_token }),
          403,
          'insufficient_scope',
        );
        const done = await call(url, '/admin', { method: 'POST', token: admin.access_token });
        assert.equal(done.status, 200, `${label}: ${done.text}`);
      }
    } finally {
      await Promise.all(
        started.map((r) => (r.status === 'fulfilled' ? stopExample(r.value.child) : undefined)),
      );
      await issuer.close();
    }
  });
});

describe('README "Resource servers (verify only)"', () => {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('\n### Resource servers (verify only)\n');
  const rest = readme.slice(start + 1);
  const section = rest.slice(0, rest.search(/\n#{2,3} /));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');

  it('has a snippet per framework', () => {
    assert.ok(start >= 0, 'the subsection exists');
    for (const framework of FRAMEWORKS) {
      assert.ok(
        blocks.some((block) => block.startsWith(`// examples/resource/${framework}.ts\n`)),
        framework,
      );
    }
  });

  it('every snippet is copied, in order, from the example its first line names', () => {
    for (const block of blocks) {
      const [first, ...code] = block.split('\n');
      const path = /^\/\/ (examples\/resource\/\w+\.ts)$/.exec(first ?? '')?.[1];
      assert.ok(path, `a snippet names its example: ${first}`);
      const missing = linesInOrder(code.join('\n'), readFileSync(path, 'utf8'));
      assert.equal(missing, undefined, `not in ${path} (in order): ${missing}`);
    }
  });
});
