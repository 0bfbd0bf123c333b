// Built by scripts/build-page.mjs from demo/page/main.ts and src/client; do not edit.

// src/client/dpop.ts
function subtle() {
  const value = globalThis.crypto?.subtle;
  if (value === void 0) throw new Error("DPoP needs WebCrypto (crypto.subtle): a secure context");
  return value;
}
function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
var encoder = new TextEncoder();
function base64urlText(text) {
  return base64url(encoder.encode(text));
}
async function sha256(text) {
  return base64url(new Uint8Array(await subtle().digest("SHA-256", encoder.encode(text))));
}
async function generatePair() {
  try {
    const pair = await subtle().generateKey({ name: "Ed25519" }, false, [
      "sign",
      "verify"
    ]);
    return { alg: "EdDSA", pair };
  } catch {
    const pair = await subtle().generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify"
    ]);
    return { alg: "ES256", pair };
  }
}
async function keyOf(stored) {
  const exported = await subtle().exportKey("jwk", stored.pair.publicKey);
  const jwk = stored.alg === "ES256" ? { crv: "P-256", kty: "EC", x: exported.x ?? "", y: exported.y ?? "" } : { crv: "Ed25519", kty: "OKP", x: exported.x ?? "" };
  const jkt = await sha256(JSON.stringify(jwk));
  const algorithm = stored.alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
  return {
    alg: stored.alg,
    jkt,
    jwk,
    sign: async (data) => new Uint8Array(await subtle().sign(algorithm, stored.pair.privateKey, data))
  };
}
function memoryDpopKeys() {
  let current = null;
  return {
    async create() {
      current = await keyOf(await generatePair());
      return current;
    },
    async load(jkt) {
      return current !== null && (jkt === void 0 || current.jkt === jkt) ? current : null;
    },
    async drop() {
      current = null;
    }
  };
}
var DB_NAME = "baton-dpop";
var STORE = "keys";
function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
function openDb(factory) {
  const open = factory.open(DB_NAME, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(STORE);
  };
  return request(open);
}
function indexedDbDpopKeys(name, factory) {
  const idb = factory ?? globalThis.indexedDB;
  if (idb === void 0) return memoryDpopKeys();
  let db;
  const cache = /* @__PURE__ */ new Map();
  const database = () => {
    db ??= openDb(idb);
    return db;
  };
  const transaction = async (mode) => (await database()).transaction(STORE, mode).objectStore(STORE);
  return {
    async create() {
      const stored = await generatePair();
      const key = await keyOf(stored);
      await request((await transaction("readwrite")).put(stored, name));
      cache.clear();
      cache.set(key.jkt, key);
      return key;
    },
    async load(jkt) {
      if (jkt !== void 0 && cache.has(jkt)) return cache.get(jkt) ?? null;
      const stored = await request((await transaction("readonly")).get(name));
      if (stored === void 0) return null;
      const key = await keyOf(stored);
      cache.set(key.jkt, key);
      return jkt === void 0 || key.jkt === jkt ? key : null;
    },
    async drop() {
      cache.clear();
      await request((await transaction("readwrite")).delete(name));
    }
  };
}
async function signProof(key, method, url, options) {
  const target = new URL(url);
  const htu = `${target.protocol}//${target.host}${target.pathname}`;
  const claims = {
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    htm: method.toUpperCase(),
    htu,
    iat: Math.floor(options.now / 1e3)
  };
  if (options.accessToken !== void 0) claims.ath = await sha256(options.accessToken);
  if (options.nonce !== void 0) claims.nonce = options.nonce;
  const header = { typ: "dpop+jwt", alg: key.alg, jwk: key.jwk };
  const input = `${base64urlText(JSON.stringify(header))}.${base64urlText(JSON.stringify(claims))}`;
  return `${input}.${base64url(await key.sign(encoder.encode(input)))}`;
}

// src/client/jwt.ts
function base64UrlDecode(segment) {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - base64.length % 4) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}
function decodeJwtPayload(token) {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === void 0) return void 0;
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1]));
    return payload !== null && typeof payload === "object" && !Array.isArray(payload) ? payload : void 0;
  } catch {
    return void 0;
  }
}

// src/client/storage.ts
function memoryStorage() {
  const map = /* @__PURE__ */ new Map();
  return {
    get: (key) => map.get(key) ?? null,
    set: (key, value) => void map.set(key, value),
    remove: (key) => void map.delete(key)
  };
}
function webStorage(storage, shared = true) {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
    shared
  };
}
function resolveStorage(option) {
  if (option === void 0 || option === "memory") return memoryStorage();
  if (option === "local") return webStorage(globalThis.localStorage, true);
  if (option === "session") return webStorage(globalThis.sessionStorage, false);
  return option;
}

// src/client/types.ts
var AuthError = class extends Error {
  name = "AuthError";
  status;
  code;
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
};

// src/client/index.ts
var END_REASONS = {
  refresh_token_reused: "reused",
  user_disabled: "disabled",
  token_revoked: "revoked",
  session_expired: "expired",
  invalid_token: "expired",
  missing_token: "expired",
  wrong_token_type: "expired"
};
var UNSAFE = (method) => !["GET", "HEAD", "OPTIONS", "TRACE"].includes(method.toUpperCase());
function randomId() {
  const c = globalThis.crypto;
  return typeof c?.randomUUID === "function" ? c.randomUUID() : `${Date.now()}-${Math.random()}`;
}
async function errorCode(res) {
  if (!(res.headers.get("content-type") ?? "").includes("json")) return void 0;
  try {
    const body = await res.clone().json();
    const code = body?.error;
    return typeof code === "string" ? code : void 0;
  } catch {
    return void 0;
  }
}
var DEFAULT_CSRF_COOKIES = ["__Host-baton_csrf", "__Secure-baton_csrf", "baton_csrf"];
function readCookie(name) {
  const doc = globalThis.document;
  if (typeof doc?.cookie !== "string") return void 0;
  for (const part of doc.cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return void 0;
}
function createAuthClient(options) {
  const base = new URL(options.baseUrl, globalThis.location?.href);
  const baseText = base.href.replace(/\/+$/, "");
  const prefix = (options.prefix ?? "/auth").replace(/\/+$/, "");
  const cookieMode = options.mode === "cookie";
  const storage = cookieMode ? resolveStorage("memory") : resolveStorage(options.storage);
  const key = `baton:${baseText}${prefix}`;
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const now = options.now ?? Date.now;
  const csrfCookies = options.csrfCookie ? [options.csrfCookie] : DEFAULT_CSRF_COOKIES;
  const csrfValue = () => csrfCookies.map(readCookie).find((value) => value !== void 0);
  const csrfHeader = options.csrfHeader ?? "X-CSRF-Token";
  const maxFailures = options.maxRefreshFailures ?? 3;
  const hasWindow = typeof globalThis.window !== "undefined";
  const crossTab = options.crossTab ?? hasWindow;
  if (cookieMode && options.dpop) {
    throw new Error("DPoP needs bearer mode: a proof carries the hash of the access token");
  }
  const dpopKeys = options.dpop === true ? hasWindow ? indexedDbDpopKeys(key) : memoryDpopKeys() : options.dpop || void 0;
  let dpopNonce;
  const listeners = /* @__PURE__ */ new Set();
  const versionWaiters = /* @__PURE__ */ new Set();
  let held = null;
  let endedEmitted = false;
  let inflight = null;
  let failures = 0;
  let peerRefreshingAt = -Infinity;
  let sessionOver = false;
  const current = () => held;
  const url = (path) => `${baseText}${prefix}${path}`;
  const isOurs = (target) => {
    try {
      return new URL(target).origin === base.origin;
    } catch {
      return false;
    }
  };
  function toState(h) {
    return {
      claims: h.claims,
      sessionId: h.sessionId,
      accessExpiresAt: h.exp * 1e3 - h.skew,
      sessionExpiresAt: h.sessionEnd === null ? null : h.sessionEnd - h.skew,
      skewMs: h.skew
    };
  }
  function readStored() {
    if (cookieMode) return null;
    const text = storage.get(key);
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }
  function setHeld(next, persist) {
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
      }
    }
  }
  const Channel = globalThis.BroadcastChannel;
  const channel = crossTab && Channel ? new Channel(key) : null;
  const post = (message) => {
    try {
      channel?.postMessage(message);
    } catch {
    }
  };
  if (channel) {
    channel.onmessage = (event) => {
      const message = event.data;
      if (message.type === "state") {
        endedEmitted = false;
        sessionOver = false;
        failures = 0;
        setHeld(message.held, false);
      } else if (message.type === "end") {
        if (held !== null) end(message.reason, false);
      } else if (message.type === "ask") {
        if (held) post({ type: "state", held });
      } else if (message.type === "refreshing") {
        peerRefreshingAt = Date.now();
      }
    };
  }
  const onStorage = (event) => {
    if (event.key !== key) return;
    const next = readStored();
    if (next) {
      endedEmitted = false;
      setHeld(next, false);
    }
  };
  if (storage.shared && hasWindow && crossTab) globalThis.addEventListener("storage", onStorage);
  function waitForChange(seen, ms) {
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
  async function exclusive(fn) {
    const locks = crossTab ? globalThis.navigator?.locks : void 0;
    if (locks) {
      const name = `baton-refresh:${key}`;
      let done;
      await locks.request(name, { ifAvailable: true }, async (lock) => {
        if (lock) done = { value: await fn(false) };
      });
      if (done) return done.value;
      return locks.request(name, () => fn(true));
    }
    if (channel) {
      const contended = Date.now() - peerRefreshingAt < 1e4;
      if (contended) await waitForChange(held?.v, 5e3);
      post({ type: "refreshing" });
      return fn(contended);
    }
    return fn(false);
  }
  function fromResponse(body, previous) {
    const local = now();
    const payload = (body.access_token ? decodeJwtPayload(body.access_token) : body.claims) ?? {};
    const iat = typeof payload.iat === "number" ? payload.iat : Math.floor(local / 1e3);
    const exp = typeof payload.exp === "number" ? payload.exp : iat + body.expires_in;
    const skew = iat * 1e3 + 500 - local;
    const serverNow = local + skew;
    const sessionEnd = body.refresh_expires_in === null || body.refresh_expires_in === void 0 ? null : serverNow + body.refresh_expires_in * 1e3;
    const next = {
      v: randomId(),
      sessionId: body.session_id,
      claims: payload,
      iat,
      exp,
      skew,
      sessionEnd
    };
    const cnf = payload.cnf;
    if (body.token_type?.toLowerCase() === "dpop" && typeof cnf?.jkt === "string") next.jkt = cnf.jkt;
    if (!cookieMode) {
      if (body.access_token !== void 0) next.access = body.access_token;
      const refresh = body.refresh_token ?? previous?.refresh;
      if (refresh !== void 0) next.refresh = refresh;
    }
    return next;
  }
  function adopt(body, source) {
    const next = fromResponse(body, held);
    endedEmitted = false;
    sessionOver = false;
    failures = 0;
    setHeld(next, true);
    post({ type: "state", held: next });
    try {
      options.onTokens?.(body, source);
    } catch {
    }
    return next;
  }
  function end(reason, broadcast = true) {
    const v = held?.v ?? null;
    sessionOver = true;
    setHeld(null, true);
    dpopKeys?.drop().catch(() => void 0);
    if (broadcast) post({ type: "end", reason, v });
    if (endedEmitted) return;
    endedEmitted = true;
    try {
      options.onSessionEnd?.(reason);
    } catch {
    }
  }
  function authHeaders(headers, method) {
    if (cookieMode) {
      const csrf = csrfValue();
      if (csrf !== void 0 && UNSAFE(method) && !headers.has(csrfHeader)) headers.set(csrfHeader, csrf);
    } else if (held?.access && !headers.has("authorization")) {
      headers.set("authorization", `${held.jkt === void 0 ? "Bearer" : "DPoP"} ${held.access}`);
    }
  }
  async function proofKey(login) {
    if (dpopKeys === void 0) return null;
    if (login) return dpopKeys.create();
    const bound = held?.jkt;
    if (bound !== void 0) return dpopKeys.load(bound);
    return await dpopKeys.load() ?? dpopKeys.create();
  }
  function rememberNonce(res) {
    const nonce = res.headers.get("dpop-nonce");
    if (nonce) dpopNonce = nonce;
  }
  async function wantsNonce(res) {
    if (res.status !== 400 && res.status !== 401) return false;
    if (/error="use_dpop_nonce"/.test(res.headers.get("www-authenticate") ?? "")) return true;
    return await errorCode(res.clone()) === "use_dpop_nonce";
  }
  async function withProof(key2, method, target, accessToken, run) {
    const sign = () => key2 === null ? Promise.resolve(void 0) : signProof(key2, method, target, {
      ...accessToken === void 0 ? {} : { accessToken },
      ...dpopNonce === void 0 ? {} : { nonce: dpopNonce },
      now: now() + (held?.skew ?? 0)
    });
    const sentNonce = dpopNonce;
    const first = await run(await sign());
    rememberNonce(first);
    if (key2 === null || dpopNonce === sentNonce || !await wantsNonce(first)) return first;
    const second = await run(await sign());
    rememberNonce(second);
    return second;
  }
  async function authRequest(path, method, body, auth = true) {
    const key2 = await proofKey(path === "/login");
    const attempt = (proof) => {
      const headers = new Headers();
      if (body !== void 0) headers.set("content-type", "application/json");
      if (cookieMode && path === "/login") headers.set("baton-transfer", "cookie");
      if (cookieMode) authHeaders(headers, method);
      else if (auth) authHeaders(headers, method);
      if (proof !== void 0) headers.set("dpop", proof);
      const init = { method, headers, credentials: cookieMode ? "include" : "same-origin" };
      if (body !== void 0) init.body = JSON.stringify(body);
      return fetchImpl(url(path), init);
    };
    try {
      return await withProof(key2, method, url(path), void 0, attempt);
    } catch (error) {
      throw new AuthError(0, "network_error", error instanceof Error ? error.message : String(error));
    }
  }
  async function failure(res) {
    let code = `http_${res.status}`;
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      const body = await res.json();
      if (typeof body.error === "string") code = body.error;
      if (typeof body.message === "string") message = body.message;
    } catch {
    }
    return new AuthError(res.status, code, message);
  }
  function canRefresh() {
    if (cookieMode) return held !== null || !sessionOver && csrfValue() !== void 0;
    return held?.refresh !== void 0;
  }
  async function doRefresh() {
    if (!canRefresh()) return null;
    const refreshToken = cookieMode ? void 0 : held?.refresh;
    let res;
    try {
      res = await authRequest(
        "/refresh",
        "POST",
        refreshToken === void 0 ? void 0 : { refresh_token: refreshToken },
        false
      );
    } catch (error2) {
      countFailure();
      throw error2;
    }
    if (res.ok) return adopt(await res.json(), "refresh");
    const error = await failure(res);
    const reason = END_REASONS[error.code];
    if (reason !== void 0) {
      end(reason);
      throw error;
    }
    countFailure();
    throw error;
  }
  function countFailure() {
    failures++;
    if (failures >= maxFailures) end("expired");
  }
  function refreshShared(seen) {
    if (inflight) return inflight;
    const run = exclusive(async (contended) => {
      if (!cookieMode && held?.v === seen) {
        const stored = readStored();
        if (stored && stored.v !== held?.v) setHeld(stored, false);
      }
      const before = current();
      if (before && before.v !== seen) return before;
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
  function needsRefresh(h) {
    const lifetime = Math.max(1, h.exp - h.iat);
    const margin = Math.min(options.refreshMargin ?? Math.min(30, lifetime / 5), lifetime / 2);
    return h.exp * 1e3 - (now() + h.skew) <= margin * 1e3;
  }
  async function send(request2) {
    const bound = held?.jkt !== void 0 && held.access !== void 0 && !request2.headers.has("authorization");
    const access = held?.access;
    const key2 = bound ? await proofKey(false) : null;
    return withProof(key2, request2.method, request2.url, access, (proof) => {
      const headers = new Headers(request2.headers);
      authHeaders(headers, request2.method);
      if (proof !== void 0) headers.set("dpop", proof);
      const init = { headers };
      if (cookieMode) init.credentials = "include";
      return fetchImpl(new Request(request2.clone(), init));
    });
  }
  const refreshCodes = /* @__PURE__ */ new Set(["token_expired", "token_revoked", ...cookieMode ? ["missing_token"] : []]);
  async function authFetch(input, init) {
    const target = input instanceof Request ? input.url : new URL(String(input), `${baseText}/`).href;
    const request2 = new Request(input instanceof Request ? input : target, init);
    if (!isOurs(request2.url)) return fetchImpl(request2);
    if (held && canRefresh() && needsRefresh(held)) {
      try {
        await refreshShared(held.v);
      } catch {
      }
    }
    const seen = held?.v;
    const first = await send(request2.clone());
    if (first.status !== 401) return first;
    const code = await errorCode(first);
    if (code === void 0 || !refreshCodes.has(code) || !canRefresh()) return first;
    let next;
    try {
      next = await refreshShared(seen);
    } catch {
      return first;
    }
    if (next === null) return first;
    return send(request2);
  }
  async function tokenCall(path, body, source) {
    const res = source === "login" ? await authRequest(path, "POST", body, false) : await authFetch(url(path), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    });
    if (!res.ok) throw await failure(res);
    return toState(adopt(await res.json(), source));
  }
  async function expectOk(res) {
    if (!res.ok) throw await failure(res);
    return res;
  }
  held = readStored();
  return {
    login: (username, password, opts) => tokenCall(
      "/login",
      { username, password, ...opts?.clientId ? { client_id: opts.clientId } : {} },
      "login"
    ),
    async logout() {
      const refresh = held?.refresh;
      try {
        await authRequest(
          "/logout",
          "POST",
          refresh === void 0 ? cookieMode ? {} : void 0 : { refresh_token: refresh },
          false
        );
      } finally {
        end("logged_out");
      }
    },
    async logoutAll() {
      const refresh = held?.refresh;
      const res = await authRequest(
        "/logout-all",
        "POST",
        refresh === void 0 ? cookieMode ? {} : void 0 : { refresh_token: refresh },
        false
      );
      if (!res.ok) {
        const error = await failure(res);
        if (res.status === 401) end("logged_out");
        throw error;
      }
      const { revoked } = await res.json();
      end("logged_out");
      return revoked;
    },
    async refresh() {
      const next = await refreshShared(held?.v);
      if (next === null) throw new AuthError(401, "missing_token", "There is no session to refresh");
      return toState(next);
    },
    reauth: (password) => tokenCall("/reauth", { password }, "reauth"),
    async sessions() {
      const res = await expectOk(await authFetch(url("/sessions")));
      return (await res.json()).sessions;
    },
    async revokeSession(id) {
      await expectOk(await authFetch(url(`/sessions/${encodeURIComponent(id)}`), { method: "DELETE" }));
      if (id === held?.sessionId) end("revoked");
    },
    claims: () => held ? held.claims : null,
    state: () => held ? toState(held) : null,
    async resume() {
      if (held) return toState(held);
      if (channel) {
        post({ type: "ask" });
        await waitForChange(void 0, 150);
        const shared = current();
        if (shared) return toState(shared);
      }
      if (!canRefresh()) return null;
      const quiet = endedEmitted;
      endedEmitted = true;
      try {
        const next = await refreshShared(void 0);
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
      if (storage.shared && hasWindow && crossTab) globalThis.removeEventListener("storage", onStorage);
    }
  };
}

// demo/page/main.ts
var $ = (id) => document.getElementById(id);
var seq = 0;
function logLine(method, path, status, code, note = "") {
  const li = document.createElement("li");
  li.className = `s${String(status).charAt(0)}`;
  li.dataset.path = path;
  li.dataset.status = String(status);
  if (code) li.dataset.code = code;
  const time = (/* @__PURE__ */ new Date()).toLocaleTimeString();
  li.textContent = `#${++seq} ${time} ${method} ${path} \u2192 ${status === 0 ? "network error" : status}`;
  if (code) {
    const span = document.createElement("span");
    span.className = "code";
    span.textContent = ` ${code}`;
    li.append(span);
  }
  if (note) li.append(` ${note}`);
  $("log").prepend(li);
}
async function loggingFetch(input, init) {
  const request2 = new Request(input, init);
  const path = new URL(request2.url).pathname;
  try {
    const res = await fetch(request2);
    let code;
    if (!res.ok && (res.headers.get("content-type") ?? "").includes("json")) {
      code = (await res.clone().json().catch(() => ({}))).error;
    }
    logLine(request2.method, path, res.status, code);
    return res;
  } catch (error) {
    logLine(request2.method, path, 0, "network_error");
    throw error;
  }
}
var previousRefresh;
var latestRefresh;
function banner(text, kind = "bad") {
  const el = $("banner");
  el.textContent = text;
  el.className = kind === "info" ? "banner info" : "banner";
  el.hidden = false;
}
var dpopMode = await fetch("/", { headers: { accept: "application/json" } }).then(async (res) => (await res.json()).dpop ?? "off").catch(() => "off");
var dpop = dpopMode !== "off";
var copiedAccess;
var client = createAuthClient({
  baseUrl: location.origin,
  ...dpop ? { mode: "bearer", storage: "session", dpop: true } : { mode: "cookie" },
  onTokens: (body) => {
    copiedAccess = body.access_token ?? copiedAccess;
  },
  fetch: loggingFetch,
  onSessionEnd: (reason) => {
    const text = {
      logged_out: "Logged out.",
      reused: "Session revoked: refresh token reuse detected.",
      disabled: "Session ended: the user is disabled.",
      expired: "Session expired.",
      revoked: "Session revoked."
    };
    banner(text[reason], reason === "logged_out" ? "info" : "bad");
    document.body.dataset.sessionEnd = reason;
  }
});
function fmt(ms) {
  const s = Math.max(0, Math.ceil(ms / 1e3));
  const h = Math.floor(s / 3600);
  const m = Math.floor(s % 3600 / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${m}m ${sec}s` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
}
function renderTimer(id, deadline) {
  const box = $(`${id}-timer`);
  const value = $(`${id}-left`);
  if (deadline === void 0) {
    box.dataset.state = "none";
    value.textContent = "\u2013";
  } else if (deadline === null) {
    box.dataset.state = "live";
    value.textContent = "never expires";
  } else {
    const left = deadline - Date.now();
    box.dataset.state = left > 0 ? "live" : "expired";
    value.textContent = left > 0 ? fmt(left) : "expired";
  }
}
function tick() {
  const state = client.state();
  renderTimer("access", state?.accessExpiresAt);
  renderTimer("session", state === null ? void 0 : state.sessionExpiresAt);
}
function render(state) {
  $("claims").textContent = JSON.stringify(state?.claims ?? {}, null, 2);
  const jkt = state?.claims?.cnf?.jkt;
  const status = $("dpop-status");
  status.dataset.bound = jkt === void 0 ? "no" : "yes";
  status.textContent = state === null ? `DPoP: ${dpopMode} (BATON_DPOP).` : jkt === void 0 ? `DPoP: ${dpopMode}. This session's tokens are Bearer tokens: whoever copies one can use it.` : `DPoP: ${dpopMode}. This session is DPoP-bound to key ${jkt.slice(0, 12)}\u2026: a copied token is useless without the key, which this page cannot read out either.`;
  $("replay-without-key").hidden = jkt === void 0;
  $("who").textContent = state ? `Logged in as user ${state.claims.sub} (roles: ${(state.claims.roles ?? []).join(", ") || "none"}), session ${state.sessionId}. Clock skew ${Math.round(state.skewMs / 1e3)} s.` : "Not logged in.";
  tick();
}
client.subscribe(render);
setInterval(tick, 250);
async function show(res) {
  if (res.ok && res.status !== 204) {
    const body = await res.json().catch(() => null);
    if (body) banner(JSON.stringify(body), "info");
  } else if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    banner(`${res.status} ${body.error ?? ""}: ${body.message ?? ""}`);
  }
}
async function guarded(action) {
  try {
    await action();
  } catch (error) {
    const e = error;
    banner(`${e.status ?? ""} ${e.code ?? ""}: ${e.message ?? String(error)}`);
  }
}
async function loadSessions() {
  const list = $("sessions");
  list.replaceChildren();
  if (!client.state()) return;
  const sessions = await client.sessions();
  for (const s of sessions) {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = `${s.current ? "\u2605 this one \xB7 " : ""}${s.id.slice(0, 10)}\u2026 \xB7 ${s.user_agent?.slice(0, 40) ?? "unknown agent"} \xB7 last used ${new Date(s.last_used_at).toLocaleTimeString()}`;
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "secondary";
    revoke.textContent = "Revoke";
    revoke.setAttribute("aria-label", `Revoke session ${s.id.slice(0, 10)}${s.current ? " (this one)" : ""}`);
    revoke.addEventListener(
      "click",
      () => guarded(async () => {
        await client.revokeSession(s.id);
        await loadSessions();
      })
    );
    li.append(text, revoke);
    list.append(li);
  }
}
var EVENTS_EVERY_MS = 2e3;
var EVENT_LABELS = {
  login: "Logged in",
  login_failed: "Failed password",
  rate_limited: "Rate limited",
  refresh: "Tokens refreshed",
  refresh_grace_reuse: "Concurrent refresh (grace window)",
  refresh_token_reused: "Refresh token reused: theft detected, session revoked",
  session_revoked: "Session revoked",
  user_revoked: "All sessions revoked",
  logout: "Logged out",
  logout_all: "Logged out everywhere",
  token_revoked: "Token revoked",
  reauth: "Password confirmed (fresh token)",
  store_unavailable: "Session store unavailable"
};
var BAD_EVENTS = /* @__PURE__ */ new Set(["refresh_token_reused", "login_failed", "rate_limited", "user_revoked"]);
var shownEvents = "";
var loadingEvents = false;
function eventsStatus(text) {
  const status = $("events-status");
  if (status.textContent !== text) status.textContent = text;
}
function renderEvents(events) {
  const key = events.map((event) => `${event.id}:${event.current}`).join(",");
  if (key === shownEvents) return;
  shownEvents = key;
  $("events").replaceChildren(
    ...events.map((event) => {
      const li = document.createElement("li");
      li.dataset.type = event.type;
      li.dataset.current = String(event.current);
      if (BAD_EVENTS.has(event.type)) li.dataset.severity = "bad";
      const type = document.createElement("span");
      type.className = "type";
      type.textContent = EVENT_LABELS[event.type] ?? event.type;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [
        new Date(event.time).toLocaleTimeString(),
        event.session_id ? `session ${event.session_id.slice(0, 10)}\u2026` : void 0,
        event.ip ?? void 0,
        event.user_agent?.slice(0, 60),
        event.reason && event.reason !== "password" ? `reason ${event.reason}` : void 0
      ].filter((part) => part !== void 0 && part !== "").join(" \xB7 ");
      li.append(type, meta);
      return li;
    })
  );
}
async function loadEvents() {
  if (loadingEvents || document.hidden) return;
  if (!client.state()) {
    shownEvents = "";
    $("events").replaceChildren();
    eventsStatus("Log in to see your security events.");
    return;
  }
  loadingEvents = true;
  try {
    const res = await fetch("/api/events", { headers: { accept: "application/json" } });
    if (res.status === 401) {
      eventsStatus("Paused: the access token has expired (a refresh resumes it).");
      return;
    }
    if (!res.ok) {
      eventsStatus(`Events unavailable (${res.status}); retrying.`);
      return;
    }
    const body = await res.json();
    renderEvents(body.events);
    const n = body.events.length;
    eventsStatus(`Live: the ${n === 1 ? "last event" : `last ${n} events`}, newest first.`);
  } catch {
    eventsStatus("Events unavailable (network); retrying.");
  } finally {
    loadingEvents = false;
  }
}
setInterval(() => void loadEvents(), EVENTS_EVERY_MS);
client.subscribe(() => setTimeout(() => void loadEvents(), 250));
function on(id, action) {
  $(id).addEventListener("click", () => guarded(action));
}
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void guarded(async () => {
    $("banner").hidden = true;
    previousRefresh = void 0;
    latestRefresh = void 0;
    await client.login($("username").value, $("password").value);
    await loadSessions();
  });
});
for (const [id, user, password] of [
  ["as-dude", "thedude", "abides"],
  ["as-walter", "walter", "calmerthanyouare"]
]) {
  $(id).addEventListener("click", () => {
    $("username").value = user;
    $("password").value = password;
    $("login-form").requestSubmit();
  });
}
on("call-protected", async () => show(await client.authFetch("/api/protected")));
on(
  "call-sensitive",
  async () => show(
    await client.authFetch("/api/sensitive", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}"
    })
  )
);
on("do-refresh", async () => {
  await client.refresh();
});
on("do-reauth", async () => {
  await client.reauth($("password").value);
});
on("do-logout", async () => {
  await client.logout();
  $("sessions").replaceChildren();
});
on("do-logout-all", async () => {
  const n = await client.logoutAll();
  banner(`Revoked ${n} session(s).`, "info");
  $("sessions").replaceChildren();
});
on("replay-without-key", async () => {
  if (copiedAccess === void 0) throw new Error("Log in first");
  const res = await loggingFetch("/api/protected", {
    headers: { authorization: `Bearer ${copiedAccess}` },
    credentials: "omit"
  });
  banner(
    res.status === 401 ? "The copied token was refused without the key (401 invalid_dpop_proof): DPoP binds it to this page." : `The copied token was accepted (${res.status}).`,
    res.status === 401 ? "info" : "bad"
  );
});
on("load-sessions", loadSessions);
on("clear-log", async () => {
  $("log").replaceChildren();
});
function rotated(next) {
  if (next && next !== latestRefresh) {
    if (latestRefresh) previousRefresh = { token: latestRefresh, rotatedAt: Date.now() };
    latestRefresh = next;
  }
}
var apiKeys = memoryDpopKeys();
var apiKey;
var apiNonce;
async function apiPost(path, json) {
  const send = async () => {
    const headers = { "content-type": "application/json" };
    if (apiKey !== void 0) {
      headers.dpop = await signProof(apiKey, "POST", new URL(path, location.origin).href, {
        now: Date.now(),
        ...apiNonce === void 0 ? {} : { nonce: apiNonce }
      });
    }
    const res = await loggingFetch(path, {
      method: "POST",
      headers,
      body: JSON.stringify(json),
      credentials: "omit"
    });
    apiNonce = res.headers.get("dpop-nonce") ?? apiNonce;
    return res;
  };
  const first = await send();
  if (apiKey === void 0 || first.status !== 401 || first.headers.get("dpop-nonce") === null) return first;
  const { error } = await first.clone().json().catch(() => ({}));
  return error === "use_dpop_nonce" ? send() : first;
}
async function apiSession() {
  if (latestRefresh) return latestRefresh;
  apiKey = dpop ? await apiKeys.create() : void 0;
  const res = await apiPost("/auth/login", {
    username: $("username").value,
    password: $("password").value
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.refresh_token) throw new Error(`API-client login failed: ${body.error ?? res.status}`);
  rotated(body.refresh_token);
  return body.refresh_token;
}
function bodyRefresh(token) {
  return apiPost("/auth/refresh", { refresh_token: token }).then(async (res) => ({
    status: res.status,
    body: await res.json().catch(() => ({}))
  }));
}
on("refresh-burst", async () => {
  const token = await apiSession();
  const results = await Promise.all(Array.from({ length: 5 }, () => bodyRefresh(token)));
  const ok = results.filter((r) => r.status === 200);
  const successors = new Set(ok.map((r) => r.body.refresh_token));
  rotated(ok.at(-1)?.body.refresh_token);
  banner(
    `${ok.length} of 5 refreshes succeeded with ${successors.size} distinct successor token(s): the grace window made concurrent callers converge.`,
    "info"
  );
});
on("replay", async () => {
  if (!previousRefresh) {
    rotated((await bodyRefresh(await apiSession())).body.refresh_token);
  }
  if (!previousRefresh) throw new Error("No earlier refresh token to replay yet");
  const age = Math.round((Date.now() - previousRefresh.rotatedAt) / 1e3);
  const { status, body } = await bodyRefresh(previousRefresh.token);
  if (status === 200) {
    banner(
      `Replayed a token rotated ${age} s ago: inside the grace window, the server answered with the successor.`,
      "info"
    );
    return;
  }
  banner(`Replay rejected: ${body.error}. The API-client session is revoked, its successor token too.`);
  document.body.dataset.replay = body.error ?? "failed";
  previousRefresh = void 0;
  latestRefresh = void 0;
  if (client.state()) await loadSessions();
});
$("disable-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void guarded(async () => {
    const username = $("disable-username").value;
    show(
      await client.authFetch("/api/admin/disable-user", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username })
      })
    );
  });
});
void client.resume().then(async (state) => {
  render(state);
  if (state) await loadSessions().catch(() => void 0);
  document.body.dataset.ready = "true";
});
