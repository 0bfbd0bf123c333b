// The API reference (`npm run docs`, into docs/api). TypeDoc reads the
// package's own entry points: every subpath of package.json "exports",
// through the `baton-source` condition (src/*.ts), so a new subpath is
// documented without anyone remembering to list it here.
// test/docs/typedoc.test.ts builds it with warnings as errors.
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
  // No source links: they would need a git remote, which a fresh clone in CI may not have.
  disableSources: true,
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  // Types that public signatures name but the package does not export (yet).
  // Each is a candidate for the deliberate export lists; TypeDoc warns when
  // one here is exported or no longer referenced, so the list cannot go stale.
  intentionallyNotExported: [
    'BatonErrorOptions',
    'Body',
    'BodyKind',
    'ManagerFor',
    'OpenStoreOptions',
    'ParseStoreUrlOptions',
    'Transfer',
    'RefreshClaims',
    'StoreQueryOptions',
    'StringFieldOptions',
    'TokenCookieNames',
    'src/adapters/fastify.ts:AdapterOptions',
    'src/http/extract.ts:ResolvedTokenLookup',
    'src/http/options.ts:ResolvedOptions',
  ],
  externalSymbolLinkMappings: {
    jose: { JWKParameters: 'https://github.com/panva/jose/blob/main/docs/types/interfaces/JWKParameters.md' },
  },
};
