import { z } from 'zod';
import { type Duration, parseDuration } from './duration.ts';
import { BatonError } from './errors.ts';

/**
 * A Duration field: seconds or "15m"-style text, checked and converted to
 * whole seconds. Tagged so the README's options table shows its default as a
 * duration (scripts/options-table.ts).
 */
export function durationSchema(name: string) {
  return z
    .union([z.number(), z.string()])
    .transform((value: Duration, ctx) => {
      try {
        return parseDuration(value, name);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .meta({ format: 'duration' });
}

export function functionSchema<F extends (...args: never[]) => unknown>(name: string) {
  return z.custom<F>((value) => typeof value === 'function', { message: `${name} must be a function` });
}

/**
 * Parses options against a schema and turns every problem into one readable
 * `invalid_options` error ("accessTokenTtl: must be ..."), thrown at construction.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, owner: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw new BatonError('invalid_options', `Invalid ${owner} options: ${problems.join('; ')}`);
}
