/**
 * Store drivers (better-sqlite3, ioredis, pg) are optional peer dependencies:
 * an application installs the one its store needs. Every store module loads
 * its driver here, so a missing one is a BatonError naming the package to
 * install, not a raw ERR_MODULE_NOT_FOUND.
 */
import { createRequire } from 'node:module';
import { BatonError } from '../core/errors.ts';

// The three drivers are CommonJS: require loads them synchronously, so a store
// module needs no top-level await (and stays loadable by require(esm)).
const requireFromHere = createRequire(import.meta.url);

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether `error` says `packageName` itself cannot be found (not one of its own dependencies). */
function isPackageMissing(error: unknown, packageName: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  return new RegExp(`['"]${packageName.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"]`).test(reasonOf(error));
}

/**
 * Loads `packageName` for the store called `storeName` ("SQLite", "Redis",
 * "PostgreSQL"). Throws `store_driver_missing` when the package is not
 * installed, or installed but unloadable (a native build that failed).
 */
export function loadDriver<T>(storeName: string, packageName: string): T {
  try {
    return requireFromHere(packageName) as T;
  } catch (error) {
    if (isPackageMissing(error, packageName)) {
      throw new BatonError(
        'store_driver_missing',
        `the ${storeName} store needs the "${packageName}" package: npm install ${packageName}`,
        { cause: error },
      );
    }
    throw new BatonError(
      'store_driver_missing',
      `the ${storeName} store cannot load the "${packageName}" package (${reasonOf(error)}); reinstall it: npm install ${packageName}`,
      { cause: error },
    );
  }
}
