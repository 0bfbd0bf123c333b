/**
 * The per-client strategy's routes (djangorestframework-jwt-refresh-token):
 * the delegate endpoint answering `{token, refresh_token}`, the management
 * of one's long-running tokens, and an optional login response hook (the
 * seed's JWT_RESPONSE_PAYLOAD_HANDLER). Every other route is createAuthHandler's.
 */
import { BatonError, isBatonError } from '../core/errors.ts';
import type { ClientTokens, MaybePromise, PerClientToken, TokenPair } from '../sessions/types.ts';
import { authenticateRequest, proveAccess } from './authenticate.ts';
import { type Fields, optionalString, parseBody, requiredString } from './body.ts';
import { authenticateClient, clientAuthorizer, requireClientSecret } from './clients.ts';
import { tokenRequestProof } from './dpop.ts';
import { errorResponse, jsonResponse, withDpopNonce } from './errors.ts';
import { answerFor, routeForMethod, wrongMethod } from './methods.ts';
import { JWT_BEARER_GRANT } from './oauth.ts';
import {
  type AuthHandler,
  type AuthHandlerOptions,
  createAuthHandler,
  errorOptionsFor,
  loginClientId,
  logRequest,
} from './routes.ts';
import { TRANSFER_HEADER } from './session-cookies.ts';
import { type AuthManager, type HttpRequest, type HttpResponse, requestContext } from './types.ts';

export interface LoginPayloadInput {
  /** The access token (the seed's `token`). */
  token: string;
  pair: TokenPair;
  userId: string;
  /** The user's live long-running token for a client, or null (the seed's `user.refresh_tokens.get(app=...)`). */
  refreshTokenFor(clientId: string): Promise<string | null>;
}

/** The per-client routes' own options (what `createBaton(manager, { perClient })` takes). */
export interface PerClientRouteOptions {
  /**
   * The DRF route, outside the prefix (`<prefix>/delegate` is always served); `false`: not served.
   * @defaultValue `/delegate/`
   */
  delegatePath?: string | false;
  /**
   * JWT_RESPONSE_PAYLOAD_HANDLER: the body of a successful `<prefix>/login`.
   * @defaultValue Baton's token response (which already carries the client's
   * long-running token as `refresh_token`)
   */
  loginResponse?(input: LoginPayloadInput): MaybePromise<Record<string, unknown>>;
}

export interface PerClientHandlerOptions extends AuthHandlerOptions, PerClientRouteOptions {}

function clientTokensOf(manager: AuthManager): ClientTokens {
  if (!manager.capabilities.clientTokens || manager.clientTokens === undefined) {
    throw new BatonError(
      'invalid_options',
      'Invalid Baton HTTP options: the per-client routes need a per-client manager (createAuthManager({ strategy: "per-client" }))',
    );
  }
  return manager.clientTokens;
}

type Own = (req: HttpRequest, fields: () => Fields, param?: string) => Promise<HttpResponse>;

const TOKEN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The per-client routes over a manager with the `clientTokens` capability (the per-client strategy's). */
export function createPerClientHandler(
  manager: AuthManager,
  options: PerClientHandlerOptions = {},
): AuthHandler {
  const clientTokens = clientTokensOf(manager);
  const { delegatePath = '/delegate/', loginResponse, ...baseOptions } = options;
  const base = createAuthHandler(manager, baseOptions);
  const { prefix, bodyLimit, cookieMode, lookup, headerLimit } = base.options;
  const errorOptions = errorOptionsFor(manager, base.options);
  /** The access token's claims, a DPoP-bound token's proof checked. */
  const accessOf = async (req: HttpRequest) => {
    const auth = authenticateRequest(manager, req, { cookieMode, lookup, headerLimit });
    await proveAccess(manager, req, auth, base.options.publicUrl, requestContext(req));
    return auth.claims;
  };
  const userOf = async (req: HttpRequest) => (await accessOf(req)).sub;
  const fieldsOf =
    (req: HttpRequest, optional = false) =>
    () =>
      parseBody(req, { accept: ['json', 'form'], limit: bodyLimit, optional });

  const delegate: Own = async (req, fields) => {
    const body = fields();
    const grant = requiredString(body, 'grant_type', { maxLength: 256 });
    if (grant !== JWT_BEARER_GRANT) {
      throw new BatonError('invalid_request', `grant_type must be "${JWT_BEARER_GRANT}"`);
    }
    const clientId = requiredString(body, 'client_id', { maxLength: 256 });
    const refreshToken = requiredString(body, 'refresh_token', { maxLength: 512 });
    // `api_type` names the API the delegated token is for in the seed; Baton's tokens carry their audience instead.
    optionalString(body, 'api_type', { maxLength: 256 });
    const client = authenticateClient(req, body, base.options, true);
    const context = requestContext(req);
    const proof = await tokenRequestProof(manager, req, base.options.publicUrl, 'refresh', context);
    const pair = await clientTokens.delegate(refreshToken, clientId, {
      ...context,
      authorizeClient: clientAuthorizer(base.options.clients, client),
      ...(proof.binding === undefined ? {} : { dpop: proof.binding }),
    });
    return withDpopNonce(
      jsonResponse(200, { token: pair.accessToken, refresh_token: pair.refreshToken }),
      proof.nonce,
    );
  };

  const tokenJson = (token: PerClientToken) => ({
    id: token.id,
    app: token.clientId,
    user: token.userId,
    created: token.createdAt.toISOString(),
    last_used: token.lastUsedAt.toISOString(),
    expires_at: token.expiresAt === null ? null : token.expiresAt.toISOString(),
    ...(token.token === undefined ? {} : { key: token.token }),
  });

  const routes: Record<string, Partial<Record<string, Own>>> = {
    delegate: { POST: delegate },
    'refresh-tokens': {
      GET: async (req) =>
        jsonResponse(200, {
          refresh_tokens: (await clientTokens.listTokens(await userOf(req))).map(tokenJson),
        }),
      POST: async (req, fields) => {
        const claims = await accessOf(req);
        // A token that never expires is a password-strength credential: only a recent password check mints one.
        if (!manager.isFresh(claims)) {
          throw new BatonError(
            'fresh_token_required',
            'Creating a long-running token needs a fresh access token; log in or reauthenticate first',
          );
        }
        const body = fields();
        const clientId =
          optionalString(body, 'app', { maxLength: 256 }) ??
          requiredString(body, 'client_id', { maxLength: 256 });
        requireClientSecret(req, body, clientId, base.options);
        const token = await clientTokens.createToken(claims.sub, clientId, requestContext(req));
        return jsonResponse(201, tokenJson(token));
      },
    },
    'refresh-tokens/:id': {
      DELETE: async (req, _fields, id) => {
        await clientTokens.deleteToken(await userOf(req), id ?? '', requestContext(req));
        return { status: 204, headers: { 'cache-control': 'no-store' } };
      },
    },
  };
  if (loginResponse !== undefined) {
    routes.login = {
      POST: async (req) => {
        if (req.headers[TRANSFER_HEADER]?.trim().toLowerCase() === 'cookie') {
          // The hook's payload is the seed's body, tokens included: never for a browser's cookie login.
          throw new BatonError('invalid_request', 'This login answers in the body only (loginResponse)');
        }
        const body = parseBody(req, { accept: ['json'], limit: bodyLimit });
        const username = requiredString(body, 'username', { maxLength: 256 });
        const password = requiredString(body, 'password', { maxLength: 1024 });
        const clientId = loginClientId(body, base.options.clients);
        const context = requestContext(req);
        const proof = await tokenRequestProof(manager, req, base.options.publicUrl, 'login', context);
        const pair = await manager.login(username, password, {
          ...context,
          clientId: clientId ?? null,
          ...(proof.binding === undefined ? {} : { dpop: proof.binding }),
        });
        const userId = pair.claims.sub;
        const payload = await loginResponse({
          token: pair.accessToken,
          pair,
          userId,
          refreshTokenFor: (app) => clientTokens.refreshTokenFor(userId, app),
        });
        return withDpopNonce(jsonResponse(200, payload), proof.nonce);
      },
    };
  }

  const match = (path: string): { methods: Partial<Record<string, Own>>; param?: string } | undefined => {
    if (delegatePath !== false && path === delegatePath) return { methods: { POST: delegate } };
    if (!path.startsWith(`${prefix}/`)) return undefined;
    const rest = path.slice(prefix.length + 1);
    if (Object.hasOwn(routes, rest)) return { methods: routes[rest] ?? {} };
    if (rest.startsWith('refresh-tokens/') && TOKEN_ID.test(rest.slice('refresh-tokens/'.length))) {
      return { methods: routes['refresh-tokens/:id'] ?? {}, param: rest.slice('refresh-tokens/'.length) };
    }
    return undefined;
  };

  const handler = async (req: HttpRequest): Promise<HttpResponse | undefined> => {
    const found = match(req.path);
    if (found === undefined) return base(req);
    const method = req.method.toUpperCase();
    const route = routeForMethod(found.methods, method);
    if (route === undefined) return wrongMethod(found.methods);
    const started = performance.now();
    let response: HttpResponse;
    let code: string | undefined;
    try {
      response = await route(req, fieldsOf(req), found.param);
    } catch (error) {
      if (isBatonError(error)) code = error.code;
      response = errorResponse(error, errorOptions);
    }
    logRequest(errorOptions.logger ?? manager.logger, method, req.path, response.status, started, code);
    return answerFor(method, response);
  };
  const handles = (path: string, method?: string) =>
    (method?.toUpperCase() !== 'OPTIONS' && match(path) !== undefined) || base.handles(path, method);
  const paths = [
    ...new Set([
      ...base.paths,
      ...Object.keys(routes).map((route) => `${prefix}/${route}`),
      ...(delegatePath === false ? [] : [delegatePath]),
    ]),
  ];
  return Object.assign(handler, { handles, bodyLimit, paths, options: base.options });
}
