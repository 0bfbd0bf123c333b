// Runs every test/**/*.test.ts with node's own test runner (Node 20 has no glob for --test).
// Usage: node scripts/test.mjs [filter-substring ...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : find(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = find('test')
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // The timeout also bounds each file: test/package/consumer.test.ts packs the
  // package and installs it into three projects: about 80 s on an idle 2-core
  // machine, several minutes when it is shared.
  // The spec reporter ends with a list of the failing tests and their errors,
  // so the tail of a CI log says what failed (TAP leaves them in the middle).
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=3',
    '--test-timeout=600000',
    ...files,
  ],
  {
    stdio: 'inherit',
    // The demo, the examples and the CLI import the package by its name; this
    // condition resolves that name to src/ (see package.json "exports").
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --conditions=baton-source`.trim(),
    },
  },
);
process.exit(result.status ?? 1);
