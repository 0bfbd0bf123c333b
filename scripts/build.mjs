// npm run build (and prepack): the library into dist/, then the demo that
// `baton serve` runs into dist/demo/ with its page. The demo is compiled
// against the library's just-built declarations and imports it by name
// (package self-reference), so it can only use the public entry points.
// dist/ is emptied first: a file left from an older build would be packed.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.json', 'tsconfig.demo.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
}
cpSync('demo/public', 'dist/demo/public', { recursive: true });
