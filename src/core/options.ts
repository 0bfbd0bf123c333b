/**
 * One way to validate options, for every part of Baton that takes them (the
 * managers of every strategy, the HTTP layer, the stores): a strict zod
 * schema per object, whose fields say in `meta({ accepts })` what they take,
 * and `parseOptions`, which turns every problem into one `invalid_options`
 * error naming each option:
 *
 * - a bad value: `accessTokenTtl: must be a positive duration (seconds, or text like '15m')`;
 * - a missing one: `refreshKey: required: a secret of 32+ bytes (string or Uint8Array)`;
 * - an unknown key: `accesTokenTtl: unknown option; did you mean accessTokenTtl?`, or
 *   what the caller's `explainUnknown` says of it (a seed library's setting name,
 *   another strategy's option), or the list of options the object takes.
 */
import { z } from 'zod';
import { durationSeconds } from './duration.ts';
import { BatonError } from './errors.ts';

/** What an option field declares in `.meta()`: `accepts` is the noun phrase messages use. */
export interface OptionMeta {
  description?: string;
  default?: string;
  format?: string;
  /** What the option takes, e.g. `a positive duration (seconds, or text like '15m')`. */
  accepts?: string;
}

/** The text a duration option's messages use. */
export function durationAccepts(options: { positive?: boolean; example?: string } = {}): string {
  const example = options.example ?? '15m';
  return options.positive
    ? `a positive duration (seconds, or text like '${example}')`
    : `a duration of 0 or more (seconds, or text like '${example}')`;
}

/**
 * A Duration field: seconds or "15m"-style text, checked and converted to
 * whole seconds; `positive` refuses 0. Every bad value (0 where it must be
 * positive, -5, 'soon') gets the same message, from `accepts`. Tagged so the
 * README's options table shows its default as a duration (scripts/options-table.ts).
 */
export function durationSchema(options: { positive?: boolean; example?: string } = {}) {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const seconds = durationSeconds(value);
      if (seconds === undefined || (options.positive && seconds <= 0)) {
        ctx.addIssue({ code: 'custom', input: value });
        return z.NEVER;
      }
      return seconds;
    })
    .meta({ format: 'duration', accepts: durationAccepts(options) } satisfies OptionMeta);
}

/** A function option; its field's `accepts` says which function. */
export function functionSchema<F extends (...args: never[]) => unknown>() {
  return z.custom<F>((value) => typeof value === 'function');
}

/** Explains an unknown key (`key` of the object at `path`), or returns undefined to let the defaults speak. */
export type ExplainUnknown = (key: string, path: readonly PropertyKey[]) => string | undefined;

export interface ParseOptionsExtras {
  /**
   * Consulted for an unknown key after the did-you-mean of a key that differs
   * from a known one only in case, `_` or `-` (`access_token_ttl`), and before
   * the one of a near miss: for what the caller knows of names that are not
   * options here (a seed library's setting, another strategy's option).
   */
  explainUnknown?: ExplainUnknown;
}

/**
 * Parses options against a (strict) schema and turns every problem into one
 * readable `invalid_options` error ("Invalid SessionManager options:
 * accessTokenTtl: must be ..."), thrown at construction.
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  input: unknown,
  owner: string,
  extras: ParseOptionsExtras = {},
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = flatten(result.error.issues as Issue[], []).flatMap((issue) =>
    describeIssue(issue, schema, input, owner, extras),
  );
  const unique = [...new Set(problems)];
  const text = unique.length === 1 ? ` ${unique[0]}` : unique.map((problem) => `\n  - ${problem}`).join('');
  throw new BatonError('invalid_options', `Invalid ${owner} options:${text}`);
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  errors?: Issue[][];
}

/**
 * A union's issue is replaced by those of the one member the value was meant
 * for, when exactly one got past the type check (`verifyCache: { max: '1' }`
 * is about `verifyCache.max`, not about `false`).
 */
function flatten(issues: readonly Issue[], base: readonly PropertyKey[]): Issue[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors) {
      const meant = issue.errors.filter((member) =>
        member.some((i) => i.path.length > 0 || i.code === 'unrecognized_keys'),
      );
      if (meant.length === 1) return flatten(meant[0]!, path);
    }
    return [{ ...issue, path }];
  });
}

function describeIssue(
  issue: Issue,
  root: z.ZodType,
  input: unknown,
  owner: string,
  extras: ParseOptionsExtras,
): string[] {
  const { path } = issue;
  const name = path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const known = objectKeysAt(root, path) ?? [];
    return (issue.keys ?? []).map((key) => {
      const full = name ? `${name}.${key}` : key;
      return `${full}: ${unknownKeyMessage(key, path, known, name || owner, extras.explainUnknown)}`;
    });
  }
  if (path.length === 0 && issue.code === 'invalid_type') {
    return [`the options must be an object, got ${kindOf(input)}`];
  }
  const explicit = issue.code === 'custom' && issue.message !== 'Invalid input';
  const absent = valueAt(input, path) === undefined;
  let message = issue.message;
  if (!explicit) {
    const accepts = acceptsAt(root, path);
    if (accepts !== undefined) message = absent ? `required: ${accepts}` : `must be ${accepts}`;
    else if (absent) message = 'required';
  }
  return [name ? `${name}: ${message}` : message];
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'undefined' ? 'nothing' : `a ${typeof value}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** The message for an unknown `key`, without its name: a did-you-mean, an explanation, or what `where` takes. */
export function unknownKeyMessage(
  key: string,
  path: readonly PropertyKey[],
  known: readonly string[],
  where: string,
  explain?: ExplainUnknown,
): string {
  const spelled = known.filter((candidate) => normalizeKey(candidate) === normalizeKey(key));
  if (spelled.length > 0) return `unknown option; did you mean ${orList(spelled)}?`;
  const explained = explain?.(key, path);
  const near = nearMisses(key, known);
  if (explained !== undefined) {
    return `unknown option; ${explained}${near.length > 0 ? `; or did you mean ${orList(near)}?` : ''}`;
  }
  if (near.length > 0) return `unknown option; did you mean ${orList(near)}?`;
  return known.length === 0
    ? `unknown option; ${where} takes no options`
    : `unknown option; ${where} takes ${andList(known)}`;
}

/** `accessTokenTtl`, `access_token_ttl`, `ACCESS-TOKEN-TTL` are one name. */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The candidates `key` most likely misspells: the same name but for case, `_`
 * and `-`; else the nearest by edit distance (transpositions count one), when
 * near enough for the name's length.
 */
export function nearMisses(key: string, candidates: readonly string[]): string[] {
  const wanted = normalizeKey(key);
  const same = candidates.filter((candidate) => normalizeKey(candidate) === wanted);
  if (same.length > 0) return same;
  const allowed = wanted.length <= 3 ? 0 : wanted.length <= 5 ? 1 : wanted.length <= 10 ? 2 : 3;
  let best = allowed + 1;
  let found: string[] = [];
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalizeKey(candidate));
    if (distance < best) {
      best = distance;
      found = [candidate];
    } else if (distance === best) {
      found.push(candidate);
    }
  }
  return found;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

function orList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

function andList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

type Def = { type: string } & Record<string, unknown>;

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { def: Def }).def;
}

function metaOf(schema: z.ZodType): OptionMeta {
  return (schema.meta() as OptionMeta | undefined) ?? {};
}

/** The schemas a field is made of, outermost first: wrappers, pipes (preprocess, transform) and union members. */
export function schemaLayers(schema: z.ZodType): z.ZodType[] {
  const d = defOf(schema);
  const inner = (key: string) => schemaLayers(d[key] as z.ZodType);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return [schema, ...inner('innerType')];
    case 'pipe':
      return [schema, ...inner('in'), ...inner('out')];
    case 'union':
      return [schema, ...(d.options as z.ZodType[]).flatMap(schemaLayers)];
    default:
      return [schema];
  }
}

/** The fields at `path` (several through unions), outermost first. */
function schemasAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  let current = [root];
  for (const segment of path) {
    current = current.flatMap((schema) =>
      schemaLayers(schema).flatMap((layer) => {
        const d = defOf(layer);
        if (d.type === 'object') {
          const field = (d.shape as Record<string, z.ZodType>)[String(segment)];
          return field ? [field] : [];
        }
        if (d.type === 'array' && typeof segment === 'number') return [d.element as z.ZodType];
        return [];
      }),
    );
  }
  return current;
}

/** What the field at `path` accepts; else what the nearest enclosing option does (`audience.0`: `audience`'s). */
function acceptsAt(root: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  for (let length = path.length; length > 0; length--) {
    for (const schema of schemasAt(root, path.slice(0, length))) {
      for (const layer of schemaLayers(schema)) {
        const accepts = metaOf(layer).accepts;
        if (accepts !== undefined) return accepts;
      }
    }
  }
  return undefined;
}

function objectKeysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  for (const schema of schemasAt(root, path)) {
    const object = schemaLayers(schema).find((layer) => defOf(layer).type === 'object');
    if (object) return Object.keys(defOf(object).shape as Record<string, unknown>);
  }
  return undefined;
}

/**
 * An `explainUnknown` for names used elsewhere (another store's, a driver's):
 * each alias, in any spelling, maps to what to write instead. Top level only.
 */
export function explainAliases(aliases: Readonly<Record<string, string>>): ExplainUnknown {
  const table = new Map(Object.entries(aliases).map(([alias, text]) => [normalizeKey(alias), text]));
  return (key, path) => (path.length === 0 ? table.get(normalizeKey(key)) : undefined);
}

/**
 * A connection URL with one of the given schemes. Stores' messages never echo
 * the value: it may carry a password.
 */
export function connectionUrlSchema(scheme: RegExp) {
  return z.string().refine((url) => scheme.test(url) && URL.canParse(url));
}
