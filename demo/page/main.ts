/**
 * The demo's web page: baton/client in cookie mode (bearer mode with DPoP), a log of every request,
 * live token timers, sessions, and buttons for the grace window and reuse
 * detection. Bundled by scripts/build-page.mjs into demo/public/assets/app.js.
 *
 * The page's own session travels in HttpOnly cookies only: no response body
 * carries a token, so this script never sees its refresh token. The race and
 * theft buttons therefore work on a second session that the page opens the
 * way an API client would (tokens in the body), which it can copy and replay.
 * With BATON_DPOP on, that session is DPoP-bound too, to a key of its own
 * (baton-auth/client's memory key store), which signs its login and refresh
 * proofs: the grace window and reuse detection then show the same outcomes.
 */
import {
  type AuthState,
  type BatonClaims,
  createAuthClient,
  type DpopKey,
  memoryDpopKeys,
  type SessionEndReason,
  signProof,
  type TokenResponse,
} from 'baton-auth/client';
import type { EventView } from '../routes.ts';

interface DemoClaims extends BatonClaims {
  roles?: string[];
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ---- request log ----
let seq = 0;
function logLine(method: string, path: string, status: number, code: string | undefined, note = ''): void {
  const li = document.createElement('li');
  li.className = `s${String(status).charAt(0)}`;
  li.dataset.path = path;
  li.dataset.status = String(status);
  if (code) li.dataset.code = code;
  const time = new Date().toLocaleTimeString();
  li.textContent = `#${++seq} ${time} ${method} ${path} → ${status === 0 ? 'network error' : status}`;
  if (code) {
    const span = document.createElement('span');
    span.className = 'code';
    span.textContent = ` ${code}`;
    li.append(span);
  }
  if (note) li.append(` ${note}`);
  $('log').prepend(li);
}

async function loggingFetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  const path = new URL(request.url).pathname;
  try {
    const res = await fetch(request);
    let code: string | undefined;
    if (!res.ok && (res.headers.get('content-type') ?? '').includes('json')) {
      code = (
        (await res
          .clone()
          .json()
          .catch(() => ({}))) as { error?: string }
      ).error;
    }
    logLine(request.method, path, res.status, code);
    return res;
  } catch (error) {
    logLine(request.method, path, 0, 'network_error');
    throw error;
  }
}

// ---- the client ----
/** The API-client session of the race and theft buttons (body transfer). */
let previousRefresh: { token: string; rotatedAt: number } | undefined;
let latestRefresh: string | undefined;

function banner(text: string, kind: 'bad' | 'info' = 'bad'): void {
  const el = $('banner');
  el.textContent = text;
  el.className = kind === 'info' ? 'banner info' : 'banner';
  el.hidden = false;
}

/**
 * With BATON_DPOP on (the JSON index says so), the page's session is
 * DPoP-bound: bearer mode (a proof carries the hash of its token, which page
 * script cannot take from an HttpOnly cookie), tokens in sessionStorage, and a
 * non-extractable key in IndexedDB that signs a proof for every request.
 */
const dpopMode = await fetch('/', { headers: { accept: 'application/json' } })
  .then(async (res) => ((await res.json()) as { dpop?: string }).dpop ?? 'off')
  .catch(() => 'off');
const dpop = dpopMode !== 'off';
/** The page's latest access token (DPoP mode only): the "copied token" the replay button tries. */
let copiedAccess: string | undefined;

const client = createAuthClient<DemoClaims>({
  baseUrl: location.origin,
  ...(dpop
    ? { mode: 'bearer' as const, storage: 'session' as const, dpop: true }
    : { mode: 'cookie' as const }),
  onTokens: (body: TokenResponse) => {
    copiedAccess = body.access_token ?? copiedAccess;
  },
  fetch: loggingFetch,
  onSessionEnd: (reason: SessionEndReason) => {
    const text: Record<SessionEndReason, string> = {
      logged_out: 'Logged out.',
      reused: 'Session revoked: refresh token reuse detected.',
      disabled: 'Session ended: the user is disabled.',
      expired: 'Session expired.',
      revoked: 'Session revoked.',
    };
    banner(text[reason], reason === 'logged_out' ? 'info' : 'bad');
    document.body.dataset.sessionEnd = reason;
  },
});

// ---- rendering ----
function fmt(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${m}m ${sec}s` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
}

function renderTimer(id: string, deadline: number | null | undefined): void {
  const box = $(`${id}-timer`);
  const value = $(`${id}-left`);
  if (deadline === undefined) {
    box.dataset.state = 'none';
    value.textContent = '–';
  } else if (deadline === null) {
    box.dataset.state = 'live';
    value.textContent = 'never expires';
  } else {
    const left = deadline - Date.now();
    box.dataset.state = left > 0 ? 'live' : 'expired';
    value.textContent = left > 0 ? fmt(left) : 'expired';
  }
}

function tick(): void {
  const state = client.state();
  renderTimer('access', state?.accessExpiresAt);
  renderTimer('session', state === null ? undefined : state.sessionExpiresAt);
}

function render(state: AuthState<DemoClaims> | null): void {
  $('claims').textContent = JSON.stringify(state?.claims ?? {}, null, 2);
  const jkt = (state?.claims as { cnf?: { jkt?: string } } | undefined)?.cnf?.jkt;
  const status = $('dpop-status');
  status.dataset.bound = jkt === undefined ? 'no' : 'yes';
  status.textContent =
    state === null
      ? `DPoP: ${dpopMode} (BATON_DPOP).`
      : jkt === undefined
        ? `DPoP: ${dpopMode}. This session's tokens are Bearer tokens: whoever copies one can use it.`
        : `DPoP: ${dpopMode}. This session is DPoP-bound to key ${jkt.slice(0, 12)}…: a copied token is useless without the key, which this page cannot read out either.`;
  $('replay-without-key').hidden = jkt === undefined;
  $('who').textContent = state
    ? `Logged in as user ${state.claims.sub} (roles: ${(state.claims.roles ?? []).join(', ') || 'none'}), session ${state.sessionId}. Clock skew ${Math.round(state.skewMs / 1000)} s.`
    : 'Not logged in.';
  tick();
}

client.subscribe(render);
setInterval(tick, 250);

async function show(res: Response): Promise<void> {
  if (res.ok && res.status !== 204) {
    const body = await res.json().catch(() => null);
    if (body) banner(JSON.stringify(body), 'info');
  } else if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    banner(`${res.status} ${body.error ?? ''}: ${body.message ?? ''}`);
  }
}

async function guarded(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const e = error as { status?: number; code?: string; message?: string };
    banner(`${e.status ?? ''} ${e.code ?? ''}: ${e.message ?? String(error)}`);
  }
}

async function loadSessions(): Promise<void> {
  const list = $('sessions');
  list.replaceChildren();
  if (!client.state()) return;
  const sessions = await client.sessions();
  for (const s of sessions) {
    const li = document.createElement('li');
    const text = document.createElement('span');
    text.textContent = `${s.current ? '★ this one · ' : ''}${s.id.slice(0, 10)}… · ${s.user_agent?.slice(0, 40) ?? 'unknown agent'} · last used ${new Date(s.last_used_at).toLocaleTimeString()}`;
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.className = 'secondary';
    revoke.textContent = 'Revoke';
    revoke.setAttribute('aria-label', `Revoke session ${s.id.slice(0, 10)}${s.current ? ' (this one)' : ''}`);
    revoke.addEventListener('click', () =>
      guarded(async () => {
        await client.revokeSession(s.id);
        await loadSessions();
      }),
    );
    li.append(text, revoke);
    list.append(li);
  }
}

// ---- security events (GET /api/events, from the server's audit trail) ----

const EVENTS_EVERY_MS = 2000;
const EVENT_LABELS: Record<string, string> = {
  login: 'Logged in',
  login_failed: 'Failed password',
  rate_limited: 'Rate limited',
  refresh: 'Tokens refreshed',
  refresh_grace_reuse: 'Concurrent refresh (grace window)',
  refresh_token_reused: 'Refresh token reused: theft detected, session revoked',
  session_revoked: 'Session revoked',
  user_revoked: 'All sessions revoked',
  logout: 'Logged out',
  logout_all: 'Logged out everywhere',
  token_revoked: 'Token revoked',
  reauth: 'Password confirmed (fresh token)',
  store_unavailable: 'Session store unavailable',
};
const BAD_EVENTS = new Set(['refresh_token_reused', 'login_failed', 'rate_limited', 'user_revoked']);
let shownEvents = '';
let loadingEvents = false;

function eventsStatus(text: string): void {
  const status = $('events-status');
  if (status.textContent !== text) status.textContent = text;
}

function renderEvents(events: readonly EventView[]): void {
  const key = events.map((event) => `${event.id}:${event.current}`).join(',');
  if (key === shownEvents) return;
  shownEvents = key;
  $('events').replaceChildren(
    ...events.map((event) => {
      const li = document.createElement('li');
      li.dataset.type = event.type;
      li.dataset.current = String(event.current);
      if (BAD_EVENTS.has(event.type)) li.dataset.severity = 'bad';
      const type = document.createElement('span');
      type.className = 'type';
      type.textContent = EVENT_LABELS[event.type] ?? event.type;
      const meta = document.createElement('span');
      meta.className = 'meta';
      // textContent only: user agents and reasons come from clients.
      meta.textContent = [
        new Date(event.time).toLocaleTimeString(),
        event.session_id ? `session ${event.session_id.slice(0, 10)}…` : undefined,
        event.ip ?? undefined,
        event.user_agent?.slice(0, 60),
        event.reason && event.reason !== 'password' ? `reason ${event.reason}` : undefined,
      ]
        .filter((part) => part !== undefined && part !== '')
        .join(' · ');
      li.append(type, meta);
      return li;
    }),
  );
}

/**
 * Polls the caller's events. A plain GET with the page's cookies, outside
 * the request log and without authFetch: the panel must never refresh the
 * session itself (the page shows expiry on purpose), so an expired access
 * token pauses it until the next refresh.
 */
async function loadEvents(): Promise<void> {
  if (loadingEvents || document.hidden) return;
  if (!client.state()) {
    shownEvents = '';
    $('events').replaceChildren();
    eventsStatus('Log in to see your security events.');
    return;
  }
  loadingEvents = true;
  try {
    const res = await fetch('/api/events', { headers: { accept: 'application/json' } });
    if (res.status === 401) {
      eventsStatus('Paused: the access token has expired (a refresh resumes it).');
      return;
    }
    if (!res.ok) {
      eventsStatus(`Events unavailable (${res.status}); retrying.`);
      return;
    }
    const body = (await res.json()) as { events: EventView[] };
    renderEvents(body.events);
    const n = body.events.length;
    eventsStatus(`Live: the ${n === 1 ? 'last event' : `last ${n} events`}, newest first.`);
  } catch {
    eventsStatus('Events unavailable (network); retrying.');
  } finally {
    loadingEvents = false;
  }
}

setInterval(() => void loadEvents(), EVENTS_EVERY_MS);
// After a login, refresh or logout: its event is written just after the answer.
client.subscribe(() => setTimeout(() => void loadEvents(), 250));

// ---- wiring ----
function on(id: string, action: () => Promise<void>): void {
  $(id).addEventListener('click', () => guarded(action));
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void guarded(async () => {
    $('banner').hidden = true;
    previousRefresh = undefined;
    latestRefresh = undefined;
    await client.login($<HTMLInputElement>('username').value, $<HTMLInputElement>('password').value);
    await loadSessions();
  });
});
for (const [id, user, password] of [
  ['as-dude', 'thedude', 'abides'],
  ['as-walter', 'walter', 'calmerthanyouare'],
] as const) {
  $(id).addEventListener('click', () => {
    $<HTMLInputElement>('username').value = user;
    $<HTMLInputElement>('password').value = password;
    $<HTMLFormElement>('login-form').requestSubmit();
  });
}

on('call-protected', async () => show(await client.authFetch('/api/protected')));
on('call-sensitive', async () =>
  show(
    await client.authFetch('/api/sensitive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }),
  ),
);
on('do-refresh', async () => {
  await client.refresh();
});
on('do-reauth', async () => {
  await client.reauth($<HTMLInputElement>('password').value);
});
on('do-logout', async () => {
  await client.logout();
  $('sessions').replaceChildren();
});
on('do-logout-all', async () => {
  const n = await client.logoutAll();
  banner(`Revoked ${n} session(s).`, 'info');
  $('sessions').replaceChildren();
});
on('replay-without-key', async () => {
  // What a thief with a copied token can do: send it without the key's proof.
  if (copiedAccess === undefined) throw new Error('Log in first');
  const res = await loggingFetch('/api/protected', {
    headers: { authorization: `Bearer ${copiedAccess}` },
    credentials: 'omit',
  });
  banner(
    res.status === 401
      ? 'The copied token was refused without the key (401 invalid_dpop_proof): DPoP binds it to this page.'
      : `The copied token was accepted (${res.status}).`,
    res.status === 401 ? 'info' : 'bad',
  );
});
on('load-sessions', loadSessions);
on('clear-log', async () => {
  $('log').replaceChildren();
});

/** Rotates the API-client session's refresh token: the one it replaces becomes `previousRefresh`. */
function rotated(next: string | undefined): void {
  if (next && next !== latestRefresh) {
    if (latestRefresh) previousRefresh = { token: latestRefresh, rotatedAt: Date.now() };
    latestRefresh = next;
  }
}

/** DPoP on: the API-client session's key (a new one per login of it) and the server's latest nonce. */
const apiKeys = memoryDpopKeys();
let apiKey: DpopKey | undefined;
let apiNonce: string | undefined;

/**
 * A POST of the API-client session, tokens in the body. DPoP on: with a proof
 * by its key, retried once when the server asks for its nonce (`use_dpop_nonce`).
 */
async function apiPost(path: string, json: unknown): Promise<Response> {
  const send = async () => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (apiKey !== undefined) {
      headers.dpop = await signProof(apiKey, 'POST', new URL(path, location.origin).href, {
        now: Date.now(),
        ...(apiNonce === undefined ? {} : { nonce: apiNonce }),
      });
    }
    const res = await loggingFetch(path, {
      method: 'POST',
      headers,
      body: JSON.stringify(json),
      credentials: 'omit',
    });
    apiNonce = res.headers.get('dpop-nonce') ?? apiNonce;
    return res;
  };
  const first = await send();
  if (apiKey === undefined || first.status !== 401 || first.headers.get('dpop-nonce') === null) return first;
  const { error } = (await first
    .clone()
    .json()
    .catch(() => ({}))) as { error?: string };
  return error === 'use_dpop_nonce' ? send() : first;
}

/** The API-client session: opened with the credentials above, tokens in the body (no Baton-Transfer header). */
async function apiSession(): Promise<string> {
  if (latestRefresh) return latestRefresh;
  apiKey = dpop ? await apiKeys.create() : undefined;
  const res = await apiPost('/auth/login', {
    username: $<HTMLInputElement>('username').value,
    password: $<HTMLInputElement>('password').value,
  });
  const body = (await res.json().catch(() => ({}))) as TokenResponse & { error?: string };
  if (!res.ok || !body.refresh_token) throw new Error(`API-client login failed: ${body.error ?? res.status}`);
  rotated(body.refresh_token);
  return body.refresh_token;
}

function bodyRefresh(token: string) {
  return apiPost('/auth/refresh', { refresh_token: token }).then(async (res) => ({
    status: res.status,
    body: (await res.json().catch(() => ({}))) as TokenResponse & { error?: string },
  }));
}

on('refresh-burst', async () => {
  // Five refreshes of the same refresh token, at once: the first rotates, the
  // other four fall in the grace window and receive the same successor.
  const token = await apiSession();
  const results = await Promise.all(Array.from({ length: 5 }, () => bodyRefresh(token)));
  const ok = results.filter((r) => r.status === 200);
  const successors = new Set(ok.map((r) => r.body.refresh_token));
  rotated(ok.at(-1)?.body.refresh_token);
  banner(
    `${ok.length} of 5 refreshes succeeded with ${successors.size} distinct successor token(s): the grace window made concurrent callers converge.`,
    'info',
  );
});

on('replay', async () => {
  if (!previousRefresh) {
    // Make an old token: rotate once, keeping the one it replaces.
    rotated((await bodyRefresh(await apiSession())).body.refresh_token);
  }
  if (!previousRefresh) throw new Error('No earlier refresh token to replay yet');
  const age = Math.round((Date.now() - previousRefresh.rotatedAt) / 1000);
  const { status, body } = await bodyRefresh(previousRefresh.token);
  if (status === 200) {
    banner(
      `Replayed a token rotated ${age} s ago: inside the grace window, the server answered with the successor.`,
      'info',
    );
    return;
  }
  banner(`Replay rejected: ${body.error}. The API-client session is revoked, its successor token too.`);
  document.body.dataset.replay = body.error ?? 'failed';
  previousRefresh = undefined;
  latestRefresh = undefined;
  if (client.state()) await loadSessions();
});

$('disable-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void guarded(async () => {
    const username = $<HTMLInputElement>('disable-username').value;
    show(
      await client.authFetch('/api/admin/disable-user', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username }),
      }),
    );
  });
});

void client.resume().then(async (state) => {
  render(state);
  if (state) await loadSessions().catch(() => undefined);
  document.body.dataset.ready = 'true';
});
