/** Text formatting for the CLI's human output. */

const UNITS: readonly [string, number][] = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

/** `4m 12s`, `3m`, `2d 5h`, `0s`: the two largest non-zero units, whole seconds. */
export function humanDuration(seconds: number): string {
  let rest = Math.floor(Math.abs(seconds));
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0) parts.push(`${amount}${unit}`);
    else if (parts.length > 0) break;
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** `in 4m 12s` / `3m ago` / `now`. */
export function relative(targetSeconds: number, nowSeconds: number): string {
  const delta = targetSeconds - nowSeconds;
  if (delta === 0) return 'now';
  return delta > 0 ? `in ${humanDuration(delta)}` : `${humanDuration(delta)} ago`;
}

/** A NumericDate as ISO 8601 (UTC), or undefined when it is not a usable number. */
export function isoFromSeconds(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const date = new Date(value * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function isoFromMs(value: number | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

/** `2025-01-02 03:04:05Z`: ISO 8601 to the second, compact enough for a table; `never` for null. */
export function shortTime(iso: string | null): string {
  return iso === null ? 'never' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Left-aligned columns separated by two spaces. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * Characters a terminal acts on or that disguise text: C0 and C1 controls,
 * DEL, the line and paragraph separators, and the bidirectional overrides.
 */
function isUnsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function escapeWhere(text: string, shouldEscape: (code: number) => boolean): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    out += shouldEscape(code) ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return out;
}

/** Keeps control characters of untrusted text (token claims, user agents) off the terminal. */
export function printable(text: string): string {
  return escapeWhere(text, isUnsafe);
}

/**
 * Pretty JSON whose strings carry no character `printable` would escape.
 * JSON.stringify escapes only C0 controls; the rest are escaped here, which
 * keeps the text valid JSON of the same value (its only raw C0 is the newline
 * of the indentation).
 */
export function jsonText(value: unknown): string {
  return escapeWhere(JSON.stringify(value, null, 2) ?? 'null', (code) => code >= 0x20 && isUnsafe(code));
}

/** JSON for stdout: pretty, newline-terminated, safe for a terminal. */
export function json(value: unknown): string {
  return `${jsonText(value)}\n`;
}
