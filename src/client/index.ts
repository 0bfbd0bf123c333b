/**
 * `baton-auth/client`: a browser and Node (>= 20) client for a Baton server. No
 * dependencies. `authFetch` sends the access token (bearer mode) or the CSRF
 * header (cookie mode), refreshes shortly before expiry on the server's
 * clock, and on a 401 `token_expired` refreshes once and retries once.
 * Refreshes are single-flight within a tab and, in browsers, one at a time
 * across tabs (Web Locks, else BroadcastChannel), and new tokens reach
 * every tab.
 *
 * @module baton-auth/client
 */

import { type DpopKey, type DpopKeyStore, indexedDbDpopKeys, memoryDpopKeys, signProof } from './dpop.ts';
import { decodeJwtPayload } from './jwt.ts';
import { resolveStorage, type TokenStorage } from './storage.ts';
import {
  type AuthClientOptions,
  AuthError,
  type AuthState,
  type BatonClaims,
  type FetchLike,
  type SessionEndReason,
  type SessionInfo,
  type TokenResponse,
} from './types.ts';

export {
  type DpopKey,
  type DpopKeyStore,
  indexedDbDpopKeys,
  keyObjectDpopKeys,
  memoryDpopKeys,
  type PrivateKeyObjectLike,
  signProof,
} from './dpop.ts';
export { decodeJwtPayload } from './jwt.ts';
export { memoryStorage, type StorageOption, type TokenStorage, webStorage } from './storage.ts';
export {
  type AuthClientOptions,
  AuthError,
  type AuthState,
  type BatonClaims,
  type FetchLike,
  type SessionEndReason,
  type SessionInfo,
  type TokenResponse,
} from './types.ts';

export interface AuthClient<Claims extends BatonClaims = BatonClaims> {
  login(username: string, password: string, options?: { clientId?: string }): Promise<AuthState<Claims>>;
  /** Revokes this session (works with an expired access token). Ends the session locally whatever the server says. */
  logout(): Promise<void>;
  /** Revokes every session of the user; returns how many. */
  logoutAll(): Promise<number>;
  /** Rotates the tokens now (single-flight, one tab at a time). Throws AuthError when it fails. */
  refresh(): Promise<AuthState<Claims>>;
  /** A fresh access token for the same session (password again), for routes that require one. */
  reauth(password: string): Promise<AuthState<Claims>>;
  sessions(): Promise<SessionInfo[]>;
  revokeSession(id: string): Promise<void>;
  /** The current access token's claims, or null without a session. */
  claims(): Claims | null;
  state(): AuthState<Claims> | null;
  /** Cookie mode after a page load: adopts another tab's session, else refreshes with the cookie. */
  resume(): Promise<AuthState<Claims> | null>;
  authFetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** Listens to state changes (login, refresh, other tabs, end). Returns the unsubscribe function. */
  subscribe(listener: (state: AuthState<Claims> | null) => void): () => void;
  /** Stops listening to other tabs. */
  close(): void;
}

/** What the client keeps; in storage (bearer mode) and in cross-tab messages. */
interface Held {
  /** A random version: whoever sees another one knows the tokens changed. */
  v: string;
  access?: string;
  refresh?: string;
  sessionId: string;
  claims: Record<string, unknown>;
  iat: number;
  exp: number;
  skew: number;
  /** Server epoch ms of the session's end; null: never or unknown. */
  sessionEnd: number | null;
  /** DPoP: the thumbprint of the key the access token is bound to (`token_type: "DPoP"`, `cnf.jkt`). */
  jkt?: string;
}

type Message =
  | { type: 'state'; held: Held }
  | { type: 'end'; reason: SessionEndReason; v: string | null }
  | { type: 'ask' }
  | { type: 'refreshing' };

/** Codes of a failed refresh that end the session: retrying cannot help. */
const END_REASONS: Record<string, SessionEndReason> = {
  refresh_token_reused: 'reused',
  user_disabled: 'disabled',
  token_revoked: 'revoked',
  session_expired: 'expired',
  invalid_token: 'expired',
  missing_token: 'expired',
  wrong_token_type: 'expired',
};

const UNSAFE = (method: string) => !['GET', 'HEAD', 'OPTIONS', 'TRACE'].includes(method.toUpperCase());

function randomId(): string {
  const c = globalThis.crypto;
  return typeof c?.randomUUID === 'function' ? c.randomUUID() : `${Date.now()}-${Math.random()}`;
}

async function errorCode(res: Response): Promise<string | undefined> {
  if (!(res.headers.get('content-type') ?? '').includes('json')) return undefined;
  try {
    const body: unknown = await res.clone().json();
    const code = (body as { error?: unknown } | null)?.error;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Where a Baton server keeps the CSRF value, most specific first. */
const DEFAULT_CSRF_COOKIES = ['__Host-baton_csrf', '__Secure-baton_csrf', 'baton_csrf'];

function readCookie(name: string): string | undefined {
  const doc = (globalThis as { document?: { cookie?: string } }).document;
  if (typeof doc?.cookie !== 'string') return undefined;
  for (const part of doc.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * A client for a Baton server, in browsers and Node >= 20. In `cookie` mode
 * the tokens stay in HttpOnly cookies and the client keeps nothing; in
 * `bearer` mode it holds them (`storage`: memory by default).
 *
 * @example
 * ```ts
 * import { type BatonClaims, createAuthClient } from 'baton-auth/client';
 *
 * const auth = createAuthClient<BatonClaims & { roles: string[] }>({
 *   baseUrl: 'https://api.example.com',
 *   mode: 'cookie',
 *   onSessionEnd: (reason) => console.log('signed out:', reason),
 * });
 * await auth.login('thedude', 'abides');
 * const res = await auth.authFetch('/api/protected'); // refreshes when needed, once
 * auth.claims()?.roles;
 * ```
 */
export function createAuthClient<Claims extends BatonClaims = BatonClaims>(
  options: AuthClientOptions,
): AuthClient<Claims> {
  const base = new URL(options.baseUrl, (globalThis as { location?: { href: string } }).location?.href);
  const baseText = base.href.replace(/\/+$/, '');
  const prefix = (options.prefix ?? '/auth').replace(/\/+$/, '');
  const cookieMode = options.mode === 'cookie';
  const storage: TokenStorage = cookieMode ? resolveStorage('memory') : resolveStorage(options.storage);
  const key = `baton:${baseText}${prefix}`;
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const now = options.now ?? Date.now;
  // A secure deployment prefixes its cookies (__Host-); the plain name is a plain-http one's.
  const csrfCookies = options.csrfCookie ? [options.csrfCookie] : DEFAULT_CSRF_COOKIES;
  const csrfValue = () => csrfCookies.map(readCookie).find((value) => value !== undefined);
  const csrfHeader = options.csrfHeader ?? 'X-CSRF-Token';
  const maxFailures = options.maxRefreshFailures ?? 3;
  const hasWindow = typeof (globalThis as { window?: unknown }).window !== 'undefined';
  const crossTab = options.crossTab ?? hasWindow;
  if (cookieMode && options.dpop) {
    // A proof carries the hash of its access token, which page script cannot read from an HttpOnly cookie.
    throw new Error('DPoP needs bearer mode: a proof carries the hash of the access token');
  }
  const dpopKeys: DpopKeyStore | undefined =
    options.dpop === true
      ? hasWindow
        ? indexedDbDpopKeys(key)
        : memoryDpopKeys()
      : options.dpop || undefined;
  /** The server's latest DPoP nonce (RFC 9449 section 8), sent in the next proof. */
  let dpopNonce: string | undefined;

  const listeners = new Set<(state: AuthState<Claims> | null) => void>();
  const versionWaiters = new Set<() => void>();
  let held: Held | null = null;
  let endedEmitted = false;
  let inflight: Promise<Held | null> | null = null;
  let failures = 0;
  let peerRefreshingAt = -Infinity;
  /** Cookie mode: the session ended here, so the CSRF cookie no longer means there is one to refresh. */
  let sessionOver = false;
  /** Read through a call, so that TypeScript does not keep a narrowing across awaits. */
  const current = (): Held | null => held;

  const url = (path: string) => `${baseText}${prefix}${path}`;
  const isOurs = (target: string) => {
    try {
      return new URL(target).origin === base.origin;
    } catch {
      return false;
    }
  };

  function toState(h: Held): AuthState<Claims> {
    return {
      claims: h.claims as Claims,
      sessionId: h.sessionId,
      accessExpiresAt: h.exp * 1000 - h.skew,
      sessionExpiresAt: h.sessionEnd === null ? null : h.sessionEnd - h.skew,
      skewMs: h.skew,
    };
  }

  function readStored(): Held | null {
    if (cookieMode) return null;
    const text = storage.get(key);
    if (!text) return null;
    try {
      return JSON.parse(text) as Held;
    } catch {
      return null;
    }
  }

  /** Adopts a new state (or none), without telling other tabs. */
  function setHeld(next: Held | null, persist: boolean): void {
    const changed = held?.v !== next?.v;
    held = next;
    if (persist && !cookieMode) {
      if (next) storage.set(key, JSON.stringify(next));
      else storage.remove(key);
    }
    if (!changed) return;
    for (const wake of [...versionWaiters]) wake();
    const state = next ? toState(next) : null;
    for (const listener of [...listeners]) {
      try {
        listener(state);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  // ---- cross-tab ----
  const Channel = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
  const channel = crossTab && Channel ? new Channel(key) : null;
  const post = (message: Message) => {
    try {
      channel?.postMessage(message);
    } catch {
      // A closed channel: this tab is going away.
    }
  };
  if (channel) {
    channel.onmessage = (event: MessageEvent<Message>) => {
      const message = event.data;
      if (message.type === 'state') {
        endedEmitted = false;
        sessionOver = false;
        failures = 0;
        setHeld(message.held, false);
      } else if (message.type === 'end') {
        if (held !== null) end(message.reason, false);
      } else if (message.type === 'ask') {
        if (held) post({ type: 'state', held });
      } else if (message.type === 'refreshing') {
        peerRefreshingAt = Date.now();
      }
    };
  }
  const onStorage = (event: StorageEvent) => {
    if (event.key !== key) return;
    const next = readStored();
    if (next) {
      endedEmitted = false;
      setHeld(next, false);
    }
  };
  if (storage.shared && hasWindow && crossTab) globalThis.addEventListener('storage', onStorage);

  /** Resolves when the state's version is no longer `seen`, or after `ms`. */
  function waitForChange(seen: string | undefined, ms: number): Promise<void> {
    if (held?.v !== seen) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        versionWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      versionWaiters.add(wake);
    });
  }

  /** Runs `fn` while no other tab refreshes; `contended`: another tab held the lock just before. */
  async function exclusive<T>(fn: (contended: boolean) => Promise<T>): Promise<T> {
    const locks = crossTab ? (globalThis as { navigator?: Navigator }).navigator?.locks : undefined;
    if (locks) {
      const name = `baton-refresh:${key}`;
      let done: { value: T } | undefined;
      await locks.request(name, { ifAvailable: true }, async (lock) => {
        if (lock) done = { value: await fn(false) };
      });
      if (done) return done.value;
      return locks.request(name, () => fn(true));
    }
    if (channel) {
      // Fallback: a tab that announced a refresh recently is given time to finish it.
      const contended = Date.now() - peerRefreshingAt < 10_000;
      if (contended) await waitForChange(held?.v, 5_000);
      post({ type: 'refreshing' });
      return fn(contended);
    }
    return fn(false);
  }

  // ---- state from responses ----
  function fromResponse(body: TokenResponse, previous: Held | null): Held {
    const local = now();
    // Cookie transfer: no token in the body (page script must not read them), the claims instead.
    const payload = (body.access_token ? decodeJwtPayload(body.access_token) : body.claims) ?? {};
    const iat = typeof payload.iat === 'number' ? payload.iat : Math.floor(local / 1000);
    const exp = typeof payload.exp === 'number' ? payload.exp : iat + body.expires_in;
    // The token was minted moments ago on the server's clock; iat is whole seconds, so +0.5 s on average.
    const skew = iat * 1000 + 500 - local;
    const serverNow = local + skew;
    const sessionEnd =
      body.refresh_expires_in === null || body.refresh_expires_in === undefined
        ? null
        : serverNow + body.refresh_expires_in * 1000;
    const next: Held = {
      v: randomId(),
      sessionId: body.session_id,
      claims: payload,
      iat,
      exp,
      skew,
      sessionEnd,
    };
    const cnf = payload.cnf as { jkt?: unknown } | undefined;
    if (body.token_type?.toLowerCase() === 'dpop' && typeof cnf?.jkt === 'string') next.jkt = cnf.jkt;
    if (!cookieMode) {
      if (body.access_token !== undefined) next.access = body.access_token;
      const refresh = body.refresh_token ?? previous?.refresh;
      if (refresh !== undefined) next.refresh = refresh;
    }
    return next;
  }

  function adopt(body: TokenResponse, source: 'login' | 'refresh' | 'reauth'): Held {
    const next = fromResponse(body, held);
    endedEmitted = false;
    sessionOver = false;
    failures = 0;
    setHeld(next, true);
    post({ type: 'state', held: next });
    try {
      options.onTokens?.(body, source);
    } catch {
      // The app's callback; not ours to fail on.
    }
    return next;
  }

  function end(reason: SessionEndReason, broadcast = true): void {
    const v = held?.v ?? null;
    sessionOver = true;
    setHeld(null, true);
    // The session's key goes with it (every tab's: they share it).
    dpopKeys?.drop().catch(() => undefined);
    if (broadcast) post({ type: 'end', reason, v });
    if (endedEmitted) return;
    endedEmitted = true;
    try {
      options.onSessionEnd?.(reason);
    } catch {
      // The app's callback.
    }
  }

  // ---- requests ----
  function authHeaders(headers: Headers, method: string): void {
    if (cookieMode) {
      const csrf = csrfValue();
      if (csrf !== undefined && UNSAFE(method) && !headers.has(csrfHeader)) headers.set(csrfHeader, csrf);
    } else if (held?.access && !headers.has('authorization')) {
      headers.set('authorization', `${held.jkt === undefined ? 'Bearer' : 'DPoP'} ${held.access}`);
    }
  }

  // ---- DPoP ----
  /** The key this request signs with: a new one for a login, else the session's (any kept one if unbound). */
  async function proofKey(login: boolean): Promise<DpopKey | null> {
    if (dpopKeys === undefined) return null;
    if (login) return dpopKeys.create();
    const bound = held?.jkt;
    if (bound !== undefined) return dpopKeys.load(bound);
    return (await dpopKeys.load()) ?? dpopKeys.create();
  }

  function rememberNonce(res: Response): void {
    const nonce = res.headers.get('dpop-nonce');
    if (nonce) dpopNonce = nonce;
  }

  /** Whether the server asked for (another) nonce: retry once with the one it sent. */
  async function wantsNonce(res: Response): Promise<boolean> {
    if (res.status !== 400 && res.status !== 401) return false;
    if (/error="use_dpop_nonce"/.test(res.headers.get('www-authenticate') ?? '')) return true;
    return (await errorCode(res.clone())) === 'use_dpop_nonce';
  }

  /** A request with its DPoP proof (when there is a key), retried once with the server's nonce. */
  async function withProof(
    key: DpopKey | null,
    method: string,
    target: string,
    accessToken: string | undefined,
    run: (proof: string | undefined) => Promise<Response>,
  ): Promise<Response> {
    const sign = () =>
      key === null
        ? Promise.resolve(undefined)
        : signProof(key, method, target, {
            ...(accessToken === undefined ? {} : { accessToken }),
            ...(dpopNonce === undefined ? {} : { nonce: dpopNonce }),
            now: now() + (held?.skew ?? 0),
          });
    const sentNonce = dpopNonce;
    const first = await run(await sign());
    rememberNonce(first);
    if (key === null || dpopNonce === sentNonce || !(await wantsNonce(first))) return first;
    const second = await run(await sign());
    rememberNonce(second);
    return second;
  }

  async function authRequest(path: string, method: string, body?: unknown, auth = true): Promise<Response> {
    const key = await proofKey(path === '/login');
    const attempt = (proof: string | undefined) => {
      const headers = new Headers();
      if (body !== undefined) headers.set('content-type', 'application/json');
      // Cookie mode: the login asks for its tokens as HttpOnly cookies; later calls follow the cookie.
      if (cookieMode && path === '/login') headers.set('baton-transfer', 'cookie');
      if (cookieMode) authHeaders(headers, method);
      else if (auth) authHeaders(headers, method);
      if (proof !== undefined) headers.set('dpop', proof);
      const init: RequestInit = { method, headers, credentials: cookieMode ? 'include' : 'same-origin' };
      if (body !== undefined) init.body = JSON.stringify(body);
      return fetchImpl(url(path), init);
    };
    try {
      return await withProof(key, method, url(path), undefined, attempt);
    } catch (error) {
      throw new AuthError(0, 'network_error', error instanceof Error ? error.message : String(error));
    }
  }

  async function failure(res: Response): Promise<AuthError> {
    let code = `http_${res.status}`;
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: unknown; message?: unknown };
      if (typeof body.error === 'string') code = body.error;
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // Not JSON.
    }
    return new AuthError(res.status, code, message);
  }

  /** Whether there is a session to refresh. */
  function canRefresh(): boolean {
    if (cookieMode) return held !== null || (!sessionOver && csrfValue() !== undefined);
    return held?.refresh !== undefined;
  }

  async function doRefresh(): Promise<Held | null> {
    if (!canRefresh()) return null;
    const refreshToken = cookieMode ? undefined : held?.refresh;
    let res: Response;
    try {
      res = await authRequest(
        '/refresh',
        'POST',
        refreshToken === undefined ? undefined : { refresh_token: refreshToken },
        false,
      );
    } catch (error) {
      countFailure();
      throw error;
    }
    if (res.ok) return adopt((await res.json()) as TokenResponse, 'refresh');
    const error = await failure(res);
    const reason = END_REASONS[error.code];
    if (reason !== undefined) {
      end(reason);
      throw error;
    }
    countFailure();
    throw error;
  }

  function countFailure(): void {
    failures++;
    if (failures >= maxFailures) end('expired');
  }

  /**
   * One refresh for everyone who saw version `seen`: callers in this tab
   * share the request in flight; other tabs wait for the lock, and whoever
   * finds the version changed uses the new tokens instead of refreshing.
   */
  function refreshShared(seen: string | undefined): Promise<Held | null> {
    if (inflight) return inflight;
    const run = exclusive(async (contended) => {
      if (!cookieMode && held?.v === seen) {
        const stored = readStored();
        if (stored && stored.v !== held?.v) setHeld(stored, false);
      }
      const before = current();
      if (before && before.v !== seen) return before;
      // Another tab just refreshed: its message may still be on the way.
      if (contended) await waitForChange(seen, 150);
      const after = current();
      if (after && after.v !== seen) return after;
      return doRefresh();
    });
    inflight = run;
    const clear = () => {
      if (inflight === run) inflight = null;
    };
    run.then(clear, clear);
    return run;
  }

  function needsRefresh(h: Held): boolean {
    const lifetime = Math.max(1, h.exp - h.iat);
    const margin = Math.min(options.refreshMargin ?? Math.min(30, lifetime / 5), lifetime / 2);
    return h.exp * 1000 - (now() + h.skew) <= margin * 1000;
  }

  async function send(request: Request): Promise<Response> {
    const bound =
      held?.jkt !== undefined && held.access !== undefined && !request.headers.has('authorization');
    const access = held?.access;
    const key = bound ? await proofKey(false) : null;
    return withProof(key, request.method, request.url, access, (proof) => {
      const headers = new Headers(request.headers);
      authHeaders(headers, request.method);
      if (proof !== undefined) headers.set('dpop', proof);
      const init: RequestInit = { headers };
      if (cookieMode) init.credentials = 'include';
      return fetchImpl(new Request(request.clone(), init));
    });
  }

  const refreshCodes = new Set(['token_expired', 'token_revoked', ...(cookieMode ? ['missing_token'] : [])]);

  async function authFetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
    const target = input instanceof Request ? input.url : new URL(String(input), `${baseText}/`).href;
    const request = new Request(input instanceof Request ? input : target, init);
    if (!isOurs(request.url)) return fetchImpl(request);
    if (held && canRefresh() && needsRefresh(held)) {
      try {
        await refreshShared(held.v);
      } catch {
        // The current token may still do; a real failure shows in the response.
      }
    }
    const seen = held?.v;
    const first = await send(request.clone());
    if (first.status !== 401) return first;
    const code = await errorCode(first);
    if (code === undefined || !refreshCodes.has(code) || !canRefresh()) return first;
    let next: Held | null;
    try {
      next = await refreshShared(seen);
    } catch {
      return first;
    }
    if (next === null) return first;
    return send(request);
  }

  async function tokenCall(
    path: string,
    body: unknown,
    source: 'login' | 'reauth',
  ): Promise<AuthState<Claims>> {
    const res =
      source === 'login'
        ? await authRequest(path, 'POST', body, false)
        : await authFetch(url(path), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
    if (!res.ok) throw await failure(res);
    return toState(adopt((await res.json()) as TokenResponse, source));
  }

  async function expectOk(res: Response): Promise<Response> {
    if (!res.ok) throw await failure(res);
    return res;
  }

  held = readStored();

  return {
    login: (username, password, opts) =>
      tokenCall(
        '/login',
        { username, password, ...(opts?.clientId ? { client_id: opts.clientId } : {}) },
        'login',
      ),

    async logout() {
      const refresh = held?.refresh;
      try {
        await authRequest(
          '/logout',
          'POST',
          refresh === undefined ? (cookieMode ? {} : undefined) : { refresh_token: refresh },
          false,
        );
      } finally {
        end('logged_out');
      }
    },

    async logoutAll() {
      const refresh = held?.refresh;
      const res = await authRequest(
        '/logout-all',
        'POST',
        refresh === undefined ? (cookieMode ? {} : undefined) : { refresh_token: refresh },
        false,
      );
      if (!res.ok) {
        const error = await failure(res);
        if (res.status === 401) end('logged_out');
        throw error;
      }
      const { revoked } = (await res.json()) as { revoked: number };
      end('logged_out');
      return revoked;
    },

    async refresh() {
      const next = await refreshShared(held?.v);
      if (next === null) throw new AuthError(401, 'missing_token', 'There is no session to refresh');
      return toState(next);
    },

    reauth: (password) => tokenCall('/reauth', { password }, 'reauth'),

    async sessions() {
      const res = await expectOk(await authFetch(url('/sessions')));
      return ((await res.json()) as { sessions: SessionInfo[] }).sessions;
    },

    async revokeSession(id) {
      await expectOk(await authFetch(url(`/sessions/${encodeURIComponent(id)}`), { method: 'DELETE' }));
      if (id === held?.sessionId) end('revoked');
    },

    claims: () => (held ? (held.claims as Claims) : null),
    state: () => (held ? toState(held) : null),

    async resume() {
      if (held) return toState(held);
      if (channel) {
        post({ type: 'ask' });
        await waitForChange(undefined, 150);
        const shared = current();
        if (shared) return toState(shared);
      }
      if (!canRefresh()) return null;
      const quiet = endedEmitted;
      endedEmitted = true; // no onSessionEnd for a session this tab never had
      try {
        const next = await refreshShared(undefined);
        return next ? toState(next) : null;
      } catch {
        return null;
      } finally {
        if (held === null) endedEmitted = quiet;
      }
    },

    authFetch,

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    close() {
      channel?.close();
      if (storage.shared && hasWindow && crossTab) globalThis.removeEventListener('storage', onStorage);
    },
  };
}

/**
 * A new state arrives whenever it changes; a helper for UIs that poll instead.
 *
 * @example
 * ```ts
 * import { createAuthClient, secondsLeft } from 'baton-auth/client';
 *
 * const auth = createAuthClient({ baseUrl: 'https://api.example.com', mode: 'cookie' });
 * const banner = document.querySelector('#session-ends');
 * setInterval(() => {
 *   const left = secondsLeft(auth.state()?.sessionExpiresAt ?? null); // null: no session, or no end
 *   if (banner) banner.textContent = left === null ? '' : `Signed out in ${Math.ceil(left / 60)} min`;
 * }, 1000);
 * ```
 */
export function secondsLeft(deadline: number | null, now: number = Date.now()): number | null {
  return deadline === null ? null : Math.max(0, Math.ceil((deadline - now) / 1000));
}
