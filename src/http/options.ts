/**
 * Options of the HTTP layer, validated once (at adapter creation, or Fastify
 * registration) so that a typo fails at startup with one readable
 * `invalid_options` error, not at the first request.
 */
import { z } from 'zod';
import { BatonError } from '../core/errors.ts';
import { durationSchema, functionSchema, parseOptions } from '../core/options.ts';
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
  /** Where the JWKS is served (outside the prefix). Default `/.well-known/jwks.json`; `false` disables. */
  jwksPath?: string | false;
  /** Browser mode: tokens also in HttpOnly cookies, with double-submit CSRF. Default `false`. */
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
  /** Receives unexpected (non-Baton) errors; they answer a generic 500. Default: stderr. */
  onUnexpectedError?: (error: unknown) => void;
}

export interface ResolvedOptions {
  prefix: string;
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

const token = (what: string) =>
  z.string().regex(TOKEN, `must be ${what} (letters, digits, !#$%&'*+-.^_\`|~)`);
const path = z.string().regex(/^\/[\x21-\x3A\x3C-\x7E]*$/, 'must be a path starting with "/"');
/** `false` means "off"; dropped before validation so the error messages stay about the object form. */
const offOr = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === false ? undefined : value), schema.optional());
const positiveInt = z.number().int().positive();

const cookieSchema = z
  .strictObject({
    secure: z.boolean().optional(),
    sameSite: z.enum(['Strict', 'Lax', 'None']).optional(),
    domain: z.string().regex(ATTRIBUTE, 'must be a cookie domain').optional(),
    names: z
      .strictObject({
        access: token('a cookie name').optional(),
        refresh: token('a cookie name').optional(),
        csrf: token('a cookie name').optional(),
      })
      .optional(),
    csrf: z.boolean().optional(),
    csrfHeader: token('a header name').optional(),
    refreshPath: path.optional(),
    implicitRefresh: offOr(
      z.strictObject({ within: durationSchema('cookies.implicitRefresh.within').pipe(positiveInt) }),
    ),
  })
  .refine((c) => c.sameSite !== 'None' || c.secure !== false, {
    message: 'sameSite "None" requires secure cookies (browsers drop them otherwise)',
  });

const lookupSchema = z.strictObject({
  locations: z
    .array(z.enum(['header', 'cookie', 'body', 'query']))
    .min(1)
    .refine((l) => new Set(l).size === l.length, 'must not repeat a location')
    .optional(),
  headerName: token('a header name').optional(),
  headerScheme: z
    .string()
    .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/, 'must be an auth scheme, or "" for a bare token')
    .optional(),
  bodyKey: z.string().min(1).max(128).optional(),
  queryParam: z.string().min(1).max(128).optional(),
});

const schema = z
  .strictObject({
    prefix: z
      .string()
      .regex(/^(\/[\x21-\x3A\x3C-\x7E]*)?$/, 'must be "" or a path starting with "/"')
      .optional(),
    jwksPath: offOr(path),
    cookies: z.preprocess((value) => (value === true ? {} : value), offOr(cookieSchema)),
    tokenLookup: lookupSchema.optional(),
    clients: z.array(z.strictObject({ id: z.string().min(1), secret: z.string().min(1) })).optional(),
    adminRole: z.string().min(1).optional(),
    bodyLimit: positiveInt.optional(),
    headerLimit: positiveInt.optional(),
    realm: z.string().optional(),
    onUnexpectedError: functionSchema<(error: unknown) => void>('onUnexpectedError').optional(),
  })
  .refine((o) => !o.tokenLookup?.locations?.includes('cookie') || Boolean(o.cookies), {
    message: 'tokenLookup.locations: "cookie" needs cookie mode (cookies: true)',
  });

const MANAGER_METHODS = [
  'login',
  'refresh',
  'reauthenticate',
  'verifyAccessToken',
  'isFresh',
  'logout',
  'logoutAll',
  'listSessions',
  'revokeSession',
  'revokeToken',
  'introspect',
  'jwks',
] as const;

function checkManager(manager: unknown, implicitRefresh: boolean): void {
  const m = manager as Record<string, unknown> | null | undefined;
  const needed: string[] = [...MANAGER_METHODS, ...(implicitRefresh ? ['reissueAccessToken'] : [])];
  const missing = needed.filter((name) => typeof m?.[name] !== 'function');
  if (m === null || typeof m !== 'object' || missing.length > 0) {
    throw new BatonError(
      'invalid_options',
      `Invalid Baton HTTP options: manager must be a SessionManager${missing.length > 0 && m ? ` (missing ${missing.join(', ')})` : ''}`,
    );
  }
}

/** Validates and resolves; throws `BatonError('invalid_options')` naming every bad field. */
export function resolveHttpOptions(manager: AuthManager, options: BatonHttpOptions = {}): ResolvedOptions {
  const o = parseOptions(schema, options, 'Baton HTTP');
  const prefix = (o.prefix ?? '/auth').replace(/\/+$/, '');
  const cookieMode = resolveCookieMode(o.cookies, prefix);
  const jwksPath = options.jwksPath === false ? undefined : (o.jwksPath ?? '/.well-known/jwks.json');
  checkManager(manager, cookieMode?.implicitRefreshWithin !== undefined);
  return {
    prefix,
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
