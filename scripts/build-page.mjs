// Bundles the demo's web page (demo/page/main.ts, with baton/client) into
// demo/public/assets/app.js. The output is committed, so `npm start` needs no build.
// Usage: node scripts/build-page.mjs [--check]  (--check: fail if the committed bundle is stale)
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const outfile = 'demo/public/assets/app.js';
const options = {
  entryPoints: ['demo/page/main.ts'],
  // The page imports baton-auth/client by name; bundle its source, as the demo runs it.
  conditions: ['baton-source'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: false,
  legalComments: 'none',
  banner: { js: '// Built by scripts/build-page.mjs from demo/page/main.ts and src/client; do not edit.' },
  logLevel: 'warning',
};

if (process.argv.includes('--check')) {
  const result = await build({ ...options, write: false });
  const fresh = result.outputFiles[0].text;
  let committed = '';
  try {
    committed = readFileSync(outfile, 'utf8');
  } catch {}
  if (fresh !== committed) {
    console.error(`${outfile} is stale: run node scripts/build-page.mjs`);
    process.exit(1);
  }
  console.log(`${outfile} is up to date`);
} else {
  await build({ ...options, outfile });
  console.log(`built ${outfile}`);
}
