/**
 * The README's options and error-code tables, generated so they cannot drift
 * from the code:
 * - the options of the managers (those every strategy shares, then each
 *   strategy's own or different ones) and of the HTTP layer from their zod
 *   schemas (every field, nested ones too, with its `meta` description and
 *   the schema's own default where it has one);
 * - the options an adapter adds, from the doc comments of its options
 *   interface (`@defaultValue` for the default);
 * - the stores' options, from their zod schemas (src/stores/*-options.ts);
 * - the error codes with their HTTP statuses from `baton-auth/http`'s
 *   ERROR_STATUS (the one table of them), with the sentences below.
 *
 * `npm run docs:options` rewrites the README between the markers;
 * `--check` exits 1 when the README differs (test/docs/readme-tables.test.ts
 * does the same in the test suite).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';
import type { ErrorCode } from '../src/core/errors.ts';
import { schemaLayers } from '../src/core/options.ts';
import { ERROR_STATUS } from '../src/http/errors.ts';
import { httpOptionsSchema } from '../src/http/options.ts';
import {
  baseOptionsSchema,
  type StrategySchemaName,
  strategyOptionsSchemas,
} from '../src/sessions/options.ts';
import { postgresOptionsSchema } from '../src/stores/postgres-options.ts';
import { redisStoreOptionsSchema } from '../src/stores/redis-options.ts';
import { sqliteOptionsSchema } from '../src/stores/sqlite-options.ts';

const ROOT = new URL('../', import.meta.url);
export const README = fileURLToPath(new URL('README.md', ROOT));

/** What each error code means, in the words of the README. Every ErrorCode needs one. */
const ERROR_MEANINGS: Record<ErrorCode, string> = {
  missing_token: 'no token where one is required',
  invalid_token: 'malformed, bad signature, wrong issuer/audience, unknown refresh secret',
  invalid_client: "a confidential client's secret missing or wrong (login, refresh, the token endpoint)",
  invalid_dpop_proof:
    'DPoP: the proof is missing or fails a check of RFC 9449 section 4.3 (signature, algorithm, `htm`/`htu`, `iat`, `ath`, key binding, a replayed `jti`); 400 at the token endpoint, else with a `WWW-Authenticate: DPoP` challenge',
  use_dpop_nonce:
    'DPoP: the proof lacks the server nonce or has a stale one; retry with the `DPoP-Nonce` header sent along (400 at the token endpoint)',
  token_expired: 'access token past `exp` (plus leeway)',
  token_revoked: "the session was revoked (logout, admin, theft), or the access token's `jti` was revoked",
  wrong_token_type: 'an access token where a refresh token belongs, or the reverse',
  fresh_token_required: 'the route needs a fresh token: log in or reauthenticate',
  refresh_token_reused:
    'an already rotated refresh token was used after the grace window; the session is now revoked',
  session_expired: 'the session passed its absolute lifetime or idle timeout',
  invalid_credentials: 'wrong username or password (the same answer for unknown users)',
  csrf_failed: 'cookie mode: the `X-CSRF-Token` header is missing or wrong',
  user_disabled: 'the user is disabled or gone; all their sessions were revoked',
  insufficient_scope: 'the token lacks a required role or scope',
  not_found: 'a session that is not yours',
  invalid_request: 'malformed body, field or header',
  malformed_authorization:
    'a malformed `Authorization` header (`Bearer` and no token, over the limit); sent as `invalid_request` with an RFC 6750 challenge',
  payload_too_large: 'the body is over `bodyLimit`; sent as `invalid_request`',
  unsupported_media_type: 'a content type the route does not take; sent as `invalid_request`',
  early_refresh: 'single-token mode: refresh before the access token expired',
  too_many_attempts: 'too many failed password checks; see `Retry-After`',
  store_unavailable:
    'the session store cannot be reached, or `openStore` cannot open it (`StoreOpenError`); see `Retry-After`. The message names the store (`PostgreSQL host:port/database: …`, never a password); HTTP clients get a generic one',
  store_driver_missing:
    "a store's driver package is not installed; the message names it: `npm install better-sqlite3` (or `ioredis`, `pg`); never sent",
  keys_unavailable:
    "a resource server (`baton-auth/resource`) could not fetch the issuer's JWKS and holds no keys; see `Retry-After`",
  invalid_store_url:
    'a store URL that names no store Baton can open (`StoreUrlError` from `openStore`, `parseStoreUrl`); never sent',
  invalid_options: 'thrown at construction for bad options, with a readable message; never sent',
  internal_error:
    "a bug or an unexpected failure; logged at `error` through the manager's `logger` (or `onUnexpectedError`), never detailed",
};

/** The stores with an options schema, as the table names them (a store's schema module imports no driver). */
const STORE_OPTIONS: readonly { store: string; schema: z.ZodObject; file: string }[] = [
  { store: 'SqliteStore', schema: sqliteOptionsSchema, file: 'src/stores/sqlite-options.ts' },
  { store: 'PostgresStore', schema: postgresOptionsSchema, file: 'src/stores/postgres-options.ts' },
  { store: 'RedisStore', schema: redisStoreOptionsSchema, file: 'src/stores/redis-options.ts' },
];

/** Options an adapter adds, read from its interface's doc comments. */
const ADAPTER_OPTIONS: readonly { file: string; name: string; owner: string; prefix?: string }[] = [
  { file: 'src/adapters/express.ts', name: 'ExpressAdapterOptions', owner: 'express' },
  { file: 'src/adapters/fastify.ts', name: 'FastifyBatonOptions', owner: 'fastify' },
  { file: 'src/adapters/hono.ts', name: 'HonoAdapterOptions', owner: 'hono' },
  { file: 'src/http/middleware.ts', name: 'BatonHttpInit', owner: 'all' },
  {
    file: 'src/http/per-client-routes.ts',
    name: 'PerClientRouteOptions',
    owner: 'all, per-client manager',
    prefix: 'perClient.',
  },
];

interface Row {
  name: string;
  owner?: string;
  default: string;
  meaning: string;
}

type Schema = z.ZodType;
interface Meta {
  description?: string;
  default?: string;
  format?: string;
}

function metaOf(schema: Schema): Meta {
  return (schema.meta() as Meta | undefined) ?? {};
}

function def(schema: Schema): Record<string, unknown> & { type: string } {
  return (schema as unknown as { def: Record<string, unknown> & { type: string } }).def;
}

function isDuration(schema: Schema): boolean {
  return schemaLayers(schema).some((layer) => metaOf(layer).format === 'duration');
}

/** The nested object of a field (`cookies: {...}`, `rateLimit: false | {...}`), if any. */
function objectOf(schema: Schema): z.ZodObject | undefined {
  return schemaLayers(schema).find((layer) => def(layer).type === 'object') as z.ZodObject | undefined;
}

const UNITS: readonly [number, string][] = [
  [86400, 'd'],
  [3600, 'h'],
  [60, 'm'],
  [1, 's'],
];

export function formatSeconds(seconds: number): string {
  if (seconds === 0) return '0';
  const unit = UNITS.find(([size]) => seconds % size === 0);
  return unit ? `${seconds / unit[0]}${unit[1]}` : `${seconds}s`;
}

function schemaDefault(schema: Schema): string {
  const layer = schemaLayers(schema).find((l) => def(l).type === 'default');
  if (layer === undefined) return schema.safeParse(undefined).success ? 'none' : 'required';
  const value = def(layer).defaultValue;
  if (typeof value === 'number' && isDuration(schema)) return `\`${formatSeconds(value)}\``;
  return `\`${JSON.stringify(value)}\``;
}

/**
 * Each strategy's options that are not the shared ones as they are: those it
 * adds, and those it takes differently (required, another default, no `null`).
 */
export function strategyRows(): Row[] {
  const shared = baseOptionsSchema.shape as Record<string, Schema>;
  return (Object.entries(strategyOptionsSchemas) as [StrategySchemaName, z.ZodObject][]).flatMap(
    ([strategy, schema]) => {
      const own = Object.entries(schema.shape as Record<string, Schema>).filter(
        ([key, field]) => shared[key] !== field,
      );
      const owner = strategy === 'rotating' ? "`'rotating'` (`SessionManager`)" : `\`'${strategy}'\``;
      return optionRows(
        z.object(Object.fromEntries(own)),
        `src/sessions/options.ts (the ${strategy} strategy)`,
      ).map((row) => ({ ...row, owner }));
    },
  );
}

export function optionRows(schema: z.ZodObject, where: string, prefix = ''): Row[] {
  return Object.entries(schema.shape).flatMap(([key, field]) => {
    const name = `${prefix}${key}`;
    const meta = metaOf(field as Schema);
    if (!meta.description) {
      throw new Error(
        `options-table: option "${name}" has no description: add .meta({ description }) to it in ${where}, then run npm run docs:options`,
      );
    }
    const row: Row = {
      name,
      default: meta.default ?? schemaDefault(field as Schema),
      meaning: meta.description,
    };
    const nested = objectOf(field as Schema);
    return nested ? [row, ...optionRows(nested, where, `${name}.`)] : [row];
  });
}

function jsDocOf(node: ts.Node): { text: string; defaultValue: string | undefined } {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const doc = docs.at(-1);
  const text = ts.getTextOfJSDocComment(doc?.comment) ?? '';
  const tag = doc?.tags?.find((t) => t.tagName.text === 'defaultValue');
  const defaultValue = tag ? ts.getTextOfJSDocComment(tag.comment)?.trim() : undefined;
  return { text: text.replace(/\s+/g, ' ').trim(), defaultValue };
}

/** The members an interface declares itself (not those it extends), with their doc comments. */
function interfaceRows(spec: { file: string; name: string; owner: string; prefix?: string }): Row[] {
  const path = fileURLToPath(new URL(spec.file, ROOT));
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const declaration = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === spec.name,
  );
  if (declaration === undefined) throw new Error(`options-table: no interface ${spec.name} in ${spec.file}`);
  return declaration.members.map((member) => {
    const name = `${spec.prefix ?? ''}${member.name?.getText(source) ?? '?'}`;
    const { text, defaultValue } = jsDocOf(member);
    if (!text) {
      throw new Error(
        `options-table: option "${name}" of ${spec.name} has no doc comment (${spec.file}); add one, then run npm run docs:options`,
      );
    }
    const optional = (member as ts.PropertySignature | ts.MethodSignature).questionToken !== undefined;
    return {
      name,
      owner: spec.owner,
      default: defaultValue ?? (optional ? 'none' : 'required'),
      meaning: text,
    };
  });
}

/** Table cells: no line breaks, and a `|` would end the cell. */
function cell(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
}

function table(rows: readonly Row[], withOwner: string | undefined): string {
  const head = withOwner
    ? `| option | ${withOwner} | default | meaning |\n|---|---|---|---|`
    : '| option | default | meaning |\n|---|---|---|';
  const lines = rows.map((row) =>
    withOwner
      ? `| \`${row.name}\` | ${cell(row.owner ?? '')} | ${cell(row.default)} | ${cell(row.meaning)} |`
      : `| \`${row.name}\` | ${cell(row.default)} | ${cell(row.meaning)} |`,
  );
  return [head, ...lines].join('\n');
}

/** Every public option: those every strategy shares, each strategy's own, and the adapters'. */
export function optionsMarkdown(): string {
  return [
    '`new SessionManager(options)` and `createAuthManager({ strategy, ...options })`; every strategy takes these:',
    '',
    table(optionRows(baseOptionsSchema, 'src/sessions/options.ts'), undefined),
    '',
    "Each strategy's own options, and those it takes differently from the table above",
    "(`createAuthManager`'s `strategy` key is accepted too; any other option is refused, naming it):",
    '',
    table(strategyRows(), 'strategy'),
    '',
    'Adapters: `createBaton(manager, options)` (Express, Hono), `app.register(batonPlugin, options)`',
    '(Fastify) and `createBatonHttp(manager, options)` (`baton-auth/http`), checked when created:',
    '',
    table(optionRows(httpOptionsSchema, 'src/http/options.ts'), undefined),
    '',
    'And per adapter:',
    '',
    table(ADAPTER_OPTIONS.flatMap(interfaceRows), 'adapter'),
    '',
    "Stores (`new SqliteStore(options)`, `new PostgresStore(options)`, `new RedisStore(options)`; `MemoryStore` takes none; `openStore` takes Redis's `prefix` and `timeout` from the URL's query, and a cluster's `natMap`), checked when",
    'constructed, before any file is created or connection made (see [Choosing a store](#choosing-a-store)):',
    '',
    table(
      STORE_OPTIONS.flatMap(({ store, schema, file }) =>
        optionRows(schema, file).map((row) => ({ ...row, owner: store })),
      ),
      'store',
    ),
  ].join('\n');
}

/** Setup errors: thrown by constructors and openStore, never sent (a request meeting one gets a 500 `internal_error`). */
export const THROWN_CODES: ReadonlySet<ErrorCode> = new Set([
  'store_driver_missing',
  'invalid_store_url',
  'invalid_options',
]);

/** Every error code with its HTTP status (as sent: 413 and 415 carry `invalid_request`). */
export function errorsMarkdown(): string {
  const codes = Object.keys(ERROR_STATUS) as ErrorCode[];
  const missing = codes.filter((code) => !ERROR_MEANINGS[code]);
  if (missing.length > 0) {
    throw new Error(
      `options-table: error codes without a meaning in scripts/options-table.ts: ${missing.join(', ')}`,
    );
  }
  const status = (code: ErrorCode) => (THROWN_CODES.has(code) ? '— (thrown)' : String(ERROR_STATUS[code]));
  const lines = codes.map((code) => `| \`${code}\` | ${status(code)} | ${cell(ERROR_MEANINGS[code])} |`);
  return ['| code | status | when |', '|---|---|---|', ...lines].join('\n');
}

const REGIONS = {
  options: optionsMarkdown,
  errors: errorsMarkdown,
} as const;

/** The README with each generated region replaced; throws when a marker is missing. */
export function renderReadme(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(REGIONS)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`options-table: README.md lacks ${start} ... ${end}`);
    const generated = `${start}\n<!-- generated by npm run docs:options from the code; edit it there -->\n${render()}\n${end}`;
    out = out.slice(0, from) + generated + out.slice(to + end.length);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(README, 'utf8');
  const next = renderReadme(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('README.md tables differ from the code: run npm run docs:options');
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(README, next);
    console.log('README.md: options and error-code tables updated');
  }
}
