#!/usr/bin/env node
// The `baton` command. Runs the compiled CLI from dist/ (npm run build, or an
// installed package), or the TypeScript source through tsx when there is no
// dist/ or src/ has changed since it was built, so a fresh clone works
// without a build step and a stale build is never used.
// BATON_CLI_SOURCE=1 forces the source, BATON_CLI_SOURCE=0 the build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const sourceDir = fileURLToPath(new URL('../src/', import.meta.url));

/** Whether any .ts file under dir was modified after `since` (ms). */
function changedSince(dir, since) {
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
  if (forced === '0' || !existsSync(source)) return true;
  return !changedSince(sourceDir, statSync(compiled).mtimeMs);
}

async function load() {
  if (useCompiled()) return import(compiled.href);
  if (!existsSync(source)) {
    process.stderr.write('baton: dist/cli/main.js is missing: run "npm run build"\n');
    process.exit(1);
  }
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write(
      'baton: running from source needs tsx (npm install), or build first: npm run build\n',
    );
    process.exit(1);
  }
  return import(source.href);
}

const { main } = await load();
await main(process.argv.slice(2));
