import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The preload that makes packages unloadable (see test/fixtures/hide-packages.mjs). */
export const HIDE_PACKAGES = pathToFileURL(
  fileURLToPath(new URL('../fixtures/hide-packages.mjs', import.meta.url)),
).href;

/** Environment for a child process in which `packages` cannot be loaded, as if not installed. */
export function withoutPackages(packages: readonly string[]): Record<string, string> {
  return { NODE_OPTIONS: `--import ${HIDE_PACKAGES}`, BATON_TEST_HIDDEN_PACKAGES: packages.join(',') };
}

/** What a child run under `runWithout` left. */
export interface HiddenRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `source` as an ES module (Baton by its package name, from src/) in a
 * child process where `hidden` cannot be loaded, as if not installed: what a
 * user without those packages sees (an "install X" message, or nothing at all).
 */
export function runWithout(hidden: readonly string[], source: string): HiddenRun {
  const result = spawnSync(
    process.execPath,
    [
      '--conditions=baton-source',
      '--import',
      'tsx',
      '--import',
      HIDE_PACKAGES,
      '--input-type=module',
      '-e',
      source,
    ],
    {
      // The preload is given on the command line, after tsx: the child's NODE_OPTIONS stays empty.
      env: { ...process.env, NODE_TEST_CONTEXT: '', ...withoutPackages(hidden), NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
