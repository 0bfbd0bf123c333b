/** The adapters' neutral request: fields computed once, on first read; Node's headers used as they are. */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { LazyHttpRequest, nodeRequestHeaders } from '../../src/http/lazy-request.ts';

describe('LazyHttpRequest', () => {
  it('reads the target and the peer address once, on first read', () => {
    const reads: string[] = [];
    const source = { url: '/a/../b?x=1&x=2', peer: '10.0.0.3' };
    const req = new LazyHttpRequest(
      source,
      {
        target: (s) => {
          reads.push('target');
          const url = new URL(`http://localhost${s.url}`);
          return { path: url.pathname, query: url.searchParams };
        },
        ip: (s) => {
          reads.push('ip');
          return s.peer;
        },
      },
      { method: 'GET', headers: { authorization: 'Bearer x' } },
    );
    assert.deepEqual(reads, []);
    assert.equal(req.path, '/b');
    assert.deepEqual(req.query.getAll('x'), ['1', '2']);
    assert.equal(req.ip, '10.0.0.3');
    assert.equal(req.ip, '10.0.0.3');
    assert.deepEqual(reads, ['target', 'ip']);
    assert.equal(req.headers.authorization, 'Bearer x');
    assert.equal(req.body, undefined);
  });

  it('an absent peer address is read once too', () => {
    let reads = 0;
    const req = new LazyHttpRequest(
      null,
      {
        target: () => ({ path: '/', query: new URLSearchParams() }),
        ip: () => {
          reads++;
          return undefined;
        },
      },
      { method: 'GET', headers: {} },
    );
    assert.equal(req.ip, undefined);
    assert.equal(req.ip, undefined);
    assert.equal(reads, 1);
  });
});

describe('nodeRequestHeaders', () => {
  it("Node's own object, unless the request carries Set-Cookie (an array), which is joined in a copy", () => {
    const plain: IncomingHttpHeaders = { authorization: 'Bearer x', cookie: 'a=1; b=2' };
    assert.equal(nodeRequestHeaders(plain), plain);
    const odd: IncomingHttpHeaders = { authorization: 'Bearer x', 'set-cookie': ['a=1', 'b=2'] };
    const headers = nodeRequestHeaders(odd);
    assert.notEqual(headers, odd);
    assert.deepEqual(headers, { authorization: 'Bearer x', 'set-cookie': 'a=1, b=2' });
    assert.deepEqual(odd['set-cookie'], ['a=1', 'b=2'], "Node's object is left alone");
  });
});
