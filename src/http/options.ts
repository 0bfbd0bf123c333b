/**
 * Options of the HTTP layer, validated once (at adapter creation, or Fastify
 * registration) so that a typo fails at startup with one readable
 * `invalid_options` error, not at the first request.
 */
import { z } from 'zod';
import { BatonError } from '../core/errors.ts';
import {
  durationAccepts,
  durationSchema,
  functionSchema,
  nearMisses,
  parseOptions,
} from '../core/options.ts';
import { seedSettingHint } from '../core/seed-settings.ts';
import { managerOptionNamed } from '../sessions/options.ts';
import { DEFAULT_BODY_LIMIT } from './body.ts';
import {
  DEFAULT_HEADER_LIMIT,
  type ResolvedTokenLookup,
  resolveTokenLookup,
  type TokenLookupOptions,
} from './extract.ts';
import { type CookieModeOptions, type ResolvedCookieMode, resolveCookieMode } from './session-cookies.ts';
import type { AuthManager, OAuthClient } from './types.ts';

export interface BatonHttpOptions {
  /** Mount point of the auth routes. Default `/auth`. */
  prefix?: string;
  /**
   * The URL clients reach the app at (its root, where `prefix` and `jwksPath`
   * live), e.g. `https://api.example.com`. Absolute URLs (the server metadata's
   * endpoints) are built from it, never from the request's `Host` header,
   * which the client writes. Without it no such URL is served.
   */
  publicUrl?: string;
  /**
   * RFC 8414 authorization server metadata at `/.well-known/oauth-authorization-server`
   * (followed by the issuer's path, if it has one). Default: on with `publicUrl`;
   * it needs `publicUrl`, and a manager whose `issuer` is an https URL.
   */
  serverMetadata?: boolean;
  /** Where the JWKS is served (outside the prefix). Default `/.well-known/jwks.json`; `false` disables. */
  jwksPath?: string | false;
  /**
   * Browser mode: logins that send `Baton-Transfer: cookie` get their tokens
   * in HttpOnly cookies (never also in the body), with double-submit CSRF.
   * Default `false`: tokens in the body only.
   */
  cookies?: CookieModeOptions | boolean;
  /** Where access tokens are looked for. */
  tokenLookup?: TokenLookupOptions;
  /** Confidential clients for the token endpoint and introspection. */
  clients?: readonly OAuthClient[];
  /** Role whose access token may introspect. Default `admin`. */
  adminRole?: string;
  /** Bytes. Default 16 KiB. */
  bodyLimit?: number;
  /** Bytes of the token header. Default 8 KiB. */
  headerLimit?: number;
  /** Realm of WWW-Authenticate challenges. Default `baton`. */
  realm?: string;
  /**
   * Receives unexpected (non-Baton) errors; they answer a generic 500.
   * Default: the manager's `logger.error` (by default `console.error`).
   */
  onUnexpectedError?: (error: unknown) => void;
}

export interface ResolvedOptions {
  prefix: string;
  /** Without a trailing slash. */
  publicUrl: string | undefined;
  /** Where the RFC 8414 metadata is served, when it is. */
  metadataPath: string | undefined;
  jwksPath: string | undefined;
  cookieMode: ResolvedCookieMode | undefined;
  lookup: ResolvedTokenLookup;
  clients: readonly OAuthClient[];
  adminRole: string;
  bodyLimit: number;
  headerLimit: number;
  realm: string;
  onUnexpectedError: ((error: unknown) => void) | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Cookie attribute text: printable ASCII without `;`, which would start another attribute. */
const ATTRIBUTE = /^[\x20-\x3A\x3C-\x7E]+$/;

const TOKEN_CHARACTERS = "letters, digits, !#$%&'*+-.^_`|~";
const token = z.string().regex(TOKEN);
const COOKIE_NAME = `a cookie name (${TOKEN_CHARACTERS})`;
const HEADER_NAME = `a header name (${TOKEN_CHARACTERS})`;
const path = z.string().regex(/^\/[\x21-\x3A\x3C-\x7E]*$/);
const PATH = 'a path starting with "/"';
/** `false` means "off"; dropped before validation so the error messages stay about the object form. */
const offOr = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === false ? undefined : value), schema.optional());
const positiveInt = z.number().int().positive();
const BYTES = 'a positive whole number of bytes';
const BOOLEAN = 'true or false';

// Each field's `meta` is the README's options table (scripts/options-table.ts): `default` is
// the text of the default that resolveHttpOptions and resolveCookieMode apply.
const cookieSchema = z
  .strictObject({
    secure: z.boolean().optional().meta({
      description:
        '`Secure` cookies (browsers accept them from http://localhost); off only for plain-http hosts',
      default: '`true`',
      accepts: BOOLEAN,
    }),
    prefixes: z.boolean().optional().meta({
      description:
        'browser-enforced name prefixes: `__Host-` on the access and CSRF cookies, `__Secure-` on the refresh cookie (and on all three with `domain`)',
      default: 'on when `secure`',
      accepts: BOOLEAN,
    }),
    transfer: z
      .array(z.enum(['body', 'cookie']))
      .min(1)
      .refine((t) => new Set(t).size === t.length, 'must not repeat a transfer')
      .optional()
      .meta({
        description:
          "token transfers accepted: a login asks for cookies with `Baton-Transfer: cookie`; `['cookie']` refuses body logins",
        default: "`['body', 'cookie']`",
        accepts: "a non-empty list of 'body' and 'cookie'",
      }),
    sameSite: z.enum(['Strict', 'Lax', 'None']).optional().meta({
      description: '`Strict`, `Lax` or `None` (which needs `secure`)',
      default: '`Lax`',
      accepts: "'Strict', 'Lax' or 'None'",
    }),
    domain: z.string().regex(ATTRIBUTE).optional().meta({
      description: '`Domain` of the cookies',
      default: 'none (host-only)',
      accepts: 'a cookie domain (printable ASCII, no ";")',
    }),
    names: z
      .strictObject({
        access: token.optional().meta({
          description: 'access-token cookie, before its prefix',
          default: '`baton_access`',
          accepts: COOKIE_NAME,
        }),
        refresh: token.optional().meta({
          description: 'refresh-token cookie, before its prefix',
          default: '`baton_refresh`',
          accepts: COOKIE_NAME,
        }),
        csrf: token.optional().meta({
          description: 'readable CSRF cookie, before its prefix',
          default: '`baton_csrf`',
          accepts: COOKIE_NAME,
        }),
      })
      .optional()
      .meta({ description: 'cookie names', default: 'below', accepts: '{ access, refresh, csrf }' }),
    csrf: z.boolean().optional().meta({
      description: 'double-submit CSRF check on cookie-authenticated unsafe requests',
      default: '`true`',
      accepts: BOOLEAN,
    }),
    csrfHeader: token.optional().meta({
      description: 'the header that must echo the CSRF cookie',
      default: '`X-CSRF-Token`',
      accepts: HEADER_NAME,
    }),
    refreshPath: path
      .optional()
      .meta({ description: '`Path` of the refresh cookie', default: 'the prefix', accepts: PATH }),
    implicitRefresh: offOr(
      z.strictObject({
        within: durationSchema({ positive: true, example: '5m' }).meta({
          description: 'how close to its expiry an access token gets a successor',
          accepts: durationAccepts({ positive: true, example: '5m' }),
        }),
      }),
    ).meta({
      description:
        "`{ within: '5m' }`: a cookie-authenticated request whose access token expires within 5 minutes gets a new access cookie",
      default: 'off',
      accepts: "false (off), or { within: '5m' }",
    }),
  })
  .refine((c) => c.sameSite !== 'None' || c.secure !== false, {
    message: 'sameSite "None" requires secure cookies (browsers drop them otherwise)',
  })
  .refine((c) => c.prefixes !== true || c.secure !== false, {
    message: 'prefixes (__Host-, __Secure-) require secure cookies (browsers drop them otherwise)',
  });

const lookupSchema = z.strictObject({
  locations: z
    .array(z.enum(['header', 'cookie', 'body', 'query']))
    .min(1)
    .refine((l) => new Set(l).size === l.length, 'must not repeat a location')
    .optional()
    .meta({
      description:
        'where access tokens are looked for, in order: `header`, `cookie`, `body`, `query` (the query only when listed: URLs end up in logs)',
      default: "`['header', 'cookie']`",
      accepts: "a non-empty list of 'header', 'cookie', 'body' and 'query'",
    }),
  headerName: token.optional().meta({
    description: 'header of the access token',
    default: '`Authorization`',
    accepts: HEADER_NAME,
  }),
  headerScheme: z
    .string()
    .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/)
    .optional()
    .meta({
      description: "its scheme; `''` for a bare token",
      default: '`Bearer`',
      accepts: `an auth scheme (${TOKEN_CHARACTERS}), or '' for a bare token`,
    }),
  bodyKey: z.string().min(1).max(128).optional().meta({
    description: 'JSON body field of the access token',
    default: '`access_token`',
    accepts: 'a field name of 1 to 128 characters',
  }),
  queryParam: z.string().min(1).max(128).optional().meta({
    description: 'query parameter of the access token',
    default: '`jwt`',
    accepts: 'a parameter name of 1 to 128 characters',
  }),
});

const PUBLIC_URL = 'an https URL (http only for localhost) without credentials, query or fragment';

const schema = z
  .strictObject({
    prefix: z
      .string()
      .regex(/^(\/[\x21-\x3A\x3C-\x7E]*)?$/)
      .optional()
      .meta({ description: 'where the auth routes live', default: '`/auth`', accepts: `'' or ${PATH}` }),
    publicUrl: z
      .string()
      .refine((url) => publicUrlOf(url) !== undefined)
      .optional()
      .meta({
        description:
          'the URL clients reach the app at, e.g. `https://api.example.com`; absolute URLs (server metadata) are built from it, never from the `Host` header',
        default: 'none: no absolute URL is served',
        accepts: PUBLIC_URL,
      }),
    serverMetadata: z.boolean().optional().meta({
      description:
        'RFC 8414 metadata at `/.well-known/oauth-authorization-server`; needs `publicUrl` and an https `issuer`',
      default: 'on with `publicUrl`',
      accepts: BOOLEAN,
    }),
    jwksPath: offOr(path).meta({
      description: 'where the JWKS is served (outside the prefix); `false`: not served',
      default: '`/.well-known/jwks.json`',
      accepts: `${PATH}, or false (not served)`,
    }),
    cookies: z
      .preprocess((value) => (value === true ? {} : value), offOr(cookieSchema))
      .meta({
        description:
          'browser mode: `true` or the object below; tokens in `HttpOnly` cookies with a CSRF check (see the HTTP contract)',
        default: '`false`',
        accepts: 'true, false, or the cookie-mode object',
      }),
    tokenLookup: lookupSchema.optional().meta({
      description: 'where access tokens are looked for',
      default: 'header, then cookie',
      accepts: '{ locations, headerName, headerScheme, bodyKey, queryParam }',
    }),
    clients: z
      .array(
        z.strictObject({
          id: z.string().min(1).meta({ accepts: 'a non-empty string' }),
          secret: z.string().min(1).meta({ accepts: 'a non-empty string' }),
        }),
      )
      .optional()
      .meta({
        description:
          'confidential OAuth clients `{ id, secret }` for `/auth/token`, refresh and `/auth/introspect`',
        accepts: 'a list of { id, secret }',
      }),
    adminRole: z.string().min(1).optional().meta({
      description: 'role whose access token may introspect',
      default: '`admin`',
      accepts: 'a non-empty string',
    }),
    bodyLimit: positiveInt
      .optional()
      .meta({ description: 'bytes; larger bodies get 413', default: '16 KiB', accepts: BYTES }),
    headerLimit: positiveInt.optional().meta({
      description: 'bytes of a token header; longer ones get 400',
      default: '8 KiB',
      accepts: BYTES,
    }),
    realm: z.string().optional().meta({
      description: 'realm of `WWW-Authenticate` challenges',
      default: '`baton`',
      accepts: 'a string',
    }),
    onUnexpectedError: functionSchema<(error: unknown) => void>().optional().meta({
      description:
        'receives unexpected (non-Baton) errors, which answer a generic 500; a client that went away mid-request is not one (logged at `debug`)',
      default: "the manager's `logger.error`",
      accepts: 'a function onUnexpectedError(error)',
    }),
  })
  .refine((o) => !o.tokenLookup?.locations?.includes('cookie') || Boolean(o.cookies), {
    message: 'tokenLookup.locations: "cookie" needs cookie mode (cookies: true)',
  })
  .refine((o) => o.serverMetadata !== true || o.publicUrl !== undefined, {
    message:
      'serverMetadata needs publicUrl: the metadata is made of absolute URLs, and Baton builds none from the Host header',
  });

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/**
 * An absolute http(s) URL as Baton builds URLs on it: no credentials, query
 * or fragment, https unless the host is the loopback, no trailing slash.
 * Undefined when `value` is not one.
 */
export function publicUrlOf(value: string, allowHttpOnLoopback = true): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const secure =
    url.protocol === 'https:' ||
    (allowHttpOnLoopback && url.protocol === 'http:' && LOOPBACK.test(url.hostname));
  if (!secure || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    return undefined;
  if (value.includes('?') || value.includes('#')) return undefined;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * Where RFC 8414 section 3.1 puts an issuer's metadata: the well-known path,
 * then the issuer's own path without its terminating slash.
 */
function metadataPathOf(issuer: string): string {
  return `/.well-known/oauth-authorization-server${new URL(issuer).pathname.replace(/\/+$/, '')}`;
}

/** For the README's options table (scripts/options-table.ts); not part of the package's API. */
export const httpOptionsSchema = schema;

/** The manager must be one of the family (`createAuthManager`, `new SessionManager`): told by its declared capabilities. */
export function assertAuthManager(manager: unknown): asserts manager is AuthManager {
  const m = manager as Partial<AuthManager> | null | undefined;
  if (typeof m !== 'object' || m === null || typeof m.capabilities !== 'object' || m.capabilities === null) {
    throw new BatonError(
      'invalid_options',
      'Invalid Baton HTTP options: manager must be an AuthManager (createAuthManager(...) or new SessionManager(...))',
    );
  }
}

function checkManager(manager: unknown, implicitRefresh: boolean): void {
  assertAuthManager(manager);
  const m = manager;
  if (implicitRefresh && !m.capabilities.implicitRefresh) {
    throw new BatonError(
      'invalid_options',
      `Invalid Baton HTTP options: cookies.implicitRefresh is not available with the "${m.strategy}" strategy (no implicit refresh); leave it out`,
    );
  }
}

/** Validates and resolves; throws `BatonError('invalid_options')` naming every bad field. */
export function resolveHttpOptions(manager: AuthManager, options: BatonHttpOptions = {}): ResolvedOptions {
  const o = parseOptions(schema, options, 'Baton HTTP', { explainUnknown: explainUnknownHttpOption });
  const prefix = (o.prefix ?? '/auth').replace(/\/+$/, '');
  const cookieMode = resolveCookieMode(o.cookies, prefix);
  const jwksPath = options.jwksPath === false ? undefined : (o.jwksPath ?? '/.well-known/jwks.json');
  checkManager(manager, cookieMode?.implicitRefreshWithin !== undefined);
  const publicUrl = o.publicUrl === undefined ? undefined : publicUrlOf(o.publicUrl);
  if (manager.dpop !== undefined && publicUrl === undefined) {
    throw new BatonError(
      'invalid_options',
      "Invalid Baton HTTP options: publicUrl is required with DPoP on: a proof names the URL it was made for (htu), and Baton builds it from publicUrl and the request's path, never from the Host header",
    );
  }
  let metadataPath: string | undefined;
  if (publicUrl !== undefined && o.serverMetadata !== false) {
    if (typeof manager.issuer !== 'string' || publicUrlOf(manager.issuer) === undefined) {
      throw new BatonError(
        'invalid_options',
        `Invalid Baton HTTP options: serverMetadata: RFC 8414 metadata names the manager's issuer, which must then be an https URL (the manager's is ${JSON.stringify(manager.issuer)}); make issuer this server's https URL, or set serverMetadata: false`,
      );
    }
    metadataPath = metadataPathOf(manager.issuer);
  }
  return {
    prefix,
    publicUrl,
    metadataPath,
    jwksPath,
    cookieMode,
    lookup: resolveTokenLookup(o.tokenLookup),
    clients: [...(o.clients ?? [])],
    adminRole: o.adminRole ?? 'admin',
    bodyLimit: o.bodyLimit ?? DEFAULT_BODY_LIMIT,
    headerLimit: o.headerLimit ?? DEFAULT_HEADER_LIMIT,
    realm: o.realm ?? 'baton',
    onUnexpectedError: o.onUnexpectedError,
  };
}

/** The per-client routes' options, which reach here spread among the HTTP options (per-client-routes.ts). */
const PER_CLIENT_OPTIONS = ['delegatePath', 'loginResponse'];

/** A seed library's setting, a misspelled per-client route option, or a manager's option given to the HTTP layer. */
function explainUnknownHttpOption(key: string, path: readonly PropertyKey[]): string | undefined {
  if (path.length > 0) return undefined;
  const seed = seedSettingHint(key);
  if (seed !== undefined) return seed;
  const perClient = nearMisses(key, PER_CLIENT_OPTIONS)[0];
  if (perClient !== undefined) {
    return `did you mean ${perClient}? It is an option of the per-client routes (perClient: { ${perClient} })`;
  }
  const managerOption = managerOptionNamed(key);
  return managerOption === undefined
    ? undefined
    : `${managerOption} is an option of the manager (new SessionManager, createAuthManager), not of the HTTP layer`;
}
