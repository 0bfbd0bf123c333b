import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DemoOptions, type RunningDemo, startDemo } from '../../demo/server.ts';
import { ManualClock } from '../../src/core/clock.ts';

export const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };
export const STORES = ['memory', 'sqlite:./baton.db'] as const;

export interface Harness {
  demo: RunningDemo;
  /** Errors that reached the generic 500 path; a contract test expects none. */
  unexpected: unknown[];
  clock: ManualClock;
  dataDir: string;
  close(): Promise<void>;
}

/** A demo on port 0 with a temp data dir, a manual clock, short TTLs and a cheap password hash. */
export async function startHarness(options: DemoOptions = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'baton-demo-'));
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2030, 0, 1));
  const unexpected: unknown[] = [];
  const demo = await startDemo({
    port: 0,
    dataDir,
    clock,
    store: 'memory',
    accessTtl: 60,
    refreshTtl: 3600,
    grace: 10,
    cookies: false,
    passwordCost: FAST_SCRYPT,
    onUnexpectedError: (error) => {
      console.error('unexpected error:', error);
      unexpected.push(error);
    },
    ...options,
  });
  return {
    demo,
    unexpected,
    clock,
    dataDir,
    async close() {
      await demo.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  form?: Record<string, string>;
  /** Raw body; give `contentType` with it. */
  body?: string | Uint8Array;
  contentType?: string;
  token?: string;
  headers?: Record<string, string>;
}

export async function call(base: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Uint8Array | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  if (options.form !== undefined) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(base + path, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : Buffer.from(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  if (text !== '') {
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      assert.fail(`response to ${path} is not JSON: ${text.slice(0, 200)}`);
    }
  }
  assert.equal(res.headers.get('x-powered-by'), null, 'no X-Powered-By');
  assert.doesNotMatch(text, /"stack"|\n\s+at /, 'no stack trace');
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts a Baton error response: status, `{error, message}`, JSON. */
export function assertError(reply: Reply, status: number, error: string): void {
  assert.equal(reply.status, status, `expected ${status} ${error}, got ${reply.status} ${reply.text}`);
  assert.equal(reply.json.error, error, reply.text);
  assert.equal(typeof reply.json.message, 'string', reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
}

/** Asserts an RFC 6749 error response: status, exactly `{error, error_description}`. */
export function assertOAuthError(reply: Reply, status: number, error: string): void {
  assert.equal(reply.status, status, `expected ${status} ${error}, got ${reply.status} ${reply.text}`);
  assert.deepEqual(Object.keys(reply.json).sort(), ['error', 'error_description'], reply.text);
  assert.equal(reply.json.error, error, reply.text);
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  session_id: string;
  [key: string]: unknown;
}

export async function login(
  base: string,
  username = 'thedude',
  password = 'abides',
  headers: Record<string, string> = {},
): Promise<Tokens> {
  const reply = await call(base, '/auth/login', { json: { username, password }, headers });
  assert.equal(reply.status, 200, reply.text);
  return reply.json as Tokens;
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

export function setCookies(reply: Reply): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of reply.headers.getSetCookie()) map.set(line.slice(0, line.indexOf('=')), line);
  return map;
}

export function cookieValue(setCookie: string | undefined): string {
  assert.ok(setCookie, 'cookie set');
  return decodeURIComponent(setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';')));
}
