import assert from 'node:assert/strict';
import type { AuthManager, HttpRequest, HttpResponse } from '../../src/http/index.ts';
import {
  type AuthHandlerOptions,
  authenticate,
  createAuthHandler,
  errorResponse,
} from '../../src/http/index.ts';
import { type AuthManagerOptions, createAuthManager, ManualClock } from '../../src/index.ts';
import { builtOrCleaned, type StoreKind, signingKey, type TestUser, Users } from '../sessions/support.ts';

export { storeKinds, storeKindsWithServices } from '../sessions/support.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  json: Record<string, unknown>;
}

export type Send = (
  method: string,
  path: string,
  init?: Omit<RequestInit, 'headers'> & { token?: string },
) => Promise<Reply>;

/** The seed apps' protected routes, served next to Baton's auth routes. */
function appRoutes(manager: AuthManager) {
  return (req: HttpRequest): HttpResponse | undefined => {
    const guard = { '/protected': {}, '/sensitive_operation': { fresh: true } }[req.path];
    if (guard === undefined) return undefined;
    try {
      const claims = authenticate(manager, req, guard);
      return { status: 200, headers: {}, body: JSON.stringify({ sub: claims.sub }) };
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/** What a test request carries: a JSON or form body, headers. */
export interface RequestInit {
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

/** An HttpRequest as an adapter would hand it over, from 127.0.0.1, with a JSON or form body. */
export function testRequest(method: string, path: string, init: RequestInit = {}): HttpRequest {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  }
  if (init.form !== undefined) {
    body = new URLSearchParams(init.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return {
    method,
    path,
    headers,
    query: new URLSearchParams(),
    ...(body === undefined ? {} : { body }),
    ip: '127.0.0.1',
  };
}

/** Requests as HttpRequest objects: no sockets. Unexpected errors (500) fail the test. */
export function sender(
  manager: AuthManager,
  options: AuthHandlerOptions = {},
  extra?: (req: HttpRequest) => Promise<HttpResponse | undefined>,
): Send {
  const unexpected: unknown[] = [];
  const handler = createAuthHandler(manager, { onUnexpectedError: (e) => unexpected.push(e), ...options });
  const app = appRoutes(manager);
  return async (method, path, init = {}) => {
    const req = testRequest(method, path, {
      ...init,
      ...(init.token === undefined ? {} : { headers: { authorization: `Bearer ${init.token}` } }),
    });
    const res = (await extra?.(req)) ?? (await handler(req)) ?? app(req);
    assert.ok(res, `no route for ${method} ${path}`);
    assert.ok(
      res.status < 500 || res.status === 503,
      `${method} ${path} answered ${res.status}: ${res.body} ${unexpected.join()}`,
    );
    return { status: res.status, headers: res.headers, json: res.body ? JSON.parse(res.body) : {} };
  };
}

export function expectError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.json));
  assert.equal(reply.json.error, code, JSON.stringify(reply.json));
}

type StrategyOptions = AuthManagerOptions<TestUser>;

export async function strategyHarness<O extends StrategyOptions>(
  kind: StoreKind,
  options: (base: BaseOptions) => O,
) {
  const clock = new ManualClock();
  const users = new Users();
  const { store, cleanup } = await kind.make();
  const base: BaseOptions = {
    issuer: 'https://baton.test',
    audience: 'baton-api',
    keys: [await signingKey()],
    store,
    clock,
    loadUser: users.load,
    verifyCredentials: users.verify,
  };
  const manager = await builtOrCleaned(cleanup, async () => {
    const built = createAuthManager<TestUser, O>(options(base));
    await built.ready;
    return built;
  });
  return {
    manager,
    clock,
    users,
    store,
    async close() {
      await manager.close();
      await cleanup();
    },
  };
}

export type BaseOptions = Pick<
  StrategyOptions,
  'issuer' | 'audience' | 'keys' | 'store' | 'clock' | 'loadUser' | 'verifyCredentials'
>;
