// TypeDoc reads the package's own entry points: every subpath of package.json
// "exports", through the `baton-source` condition (src/*.ts), so a new
// subpath is documented without anyone remembering to list it here.
import { readFileSync } from 'node:fs';

const { exports } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const entryPoints = Object.values(exports)
  .map((target) => (typeof target === 'object' ? target['baton-source'] : undefined))
  .filter((source) => typeof source === 'string');

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints,
  tsconfig: './tsconfig.json',
  out: 'docs/api',
  name: 'baton-auth',
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  treatWarningsAsErrors: false,
};
