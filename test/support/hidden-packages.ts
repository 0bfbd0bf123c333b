import { fileURLToPath, pathToFileURL } from 'node:url';

/** The preload that makes packages unloadable (see test/fixtures/hide-packages.mjs). */
export const HIDE_PACKAGES = pathToFileURL(
  fileURLToPath(new URL('../fixtures/hide-packages.mjs', import.meta.url)),
).href;

/** Environment for a child process in which `packages` cannot be loaded, as if not installed. */
export function withoutPackages(packages: readonly string[]): Record<string, string> {
  return { NODE_OPTIONS: `--import ${HIDE_PACKAGES}`, BATON_TEST_HIDDEN_PACKAGES: packages.join(',') };
}
