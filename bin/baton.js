#!/usr/bin/env node
// The `baton` command. An installed package (any path inside node_modules)
// always runs the compiled CLI from dist/: it ships src/ only for the source
// maps and has no tsx. A checkout runs dist/ too (npm run build), or the
// TypeScript source through tsx when there is no dist/ or src/ or demo/
// changed since it was built, so a fresh clone works without a build step
// and a stale build is never used.
// BATON_CLI_SOURCE=1 forces the source, BATON_CLI_SOURCE=0 the build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const installed = root.split(sep).includes('node_modules');

/** Whether any .ts file under dir was modified after `since` (ms). */
function changedSince(dir, since) {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (changedSince(path, since)) return true;
    } else if (entry.name.endsWith('.ts') && statSync(path).mtimeMs > since) {
      return true;
    }
  }
  return false;
}

function useCompiled() {
  const forced = process.env.BATON_CLI_SOURCE;
  if (forced === '1') return false;
  if (!existsSync(compiled)) return false;
  if (forced === '0' || installed || !existsSync(source)) return true;
  const builtAt = statSync(compiled).mtimeMs;
  return !changedSince(join(root, 'src'), builtAt) && !changedSince(join(root, 'demo'), builtAt);
}

// From source, `import 'baton-auth'` (the demo's) must resolve to src/ as well,
// not to a dist/ that may be missing or stale: the package's baton-source condition.
const SOURCE_CONDITION = `data:text/javascript,${encodeURIComponent(
  'export function resolve(specifier, context, next) { return next(specifier, { ...context, conditions: [...context.conditions, "baton-source"] }); }',
)}`;

async function load() {
  if (useCompiled()) return import(compiled.href);
  if (!existsSync(source)) {
    process.stderr.write('baton: dist/cli/main.js is missing: run "npm run build"\n');
    process.exit(1);
  }
  try {
    const { register: registerTsx } = await import('tsx/esm/api');
    registerTsx();
  } catch {
    process.stderr.write(
      'baton: running from source needs tsx (npm install), or build first: npm run build\n',
    );
    process.exit(1);
  }
  register(SOURCE_CONDITION);
  return import(source.href);
}

const { main } = await load();
await main(process.argv.slice(2));
