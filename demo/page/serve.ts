/**
 * The demo's web page (demo/public, built by scripts/build-page.mjs): `GET /`
 * from a browser (Accept: text/html) and `GET /assets/*`. Other clients of
 * `GET /` keep the JSON route index.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface PageAsset {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The page or one of its assets, or undefined when the request is for something else. */
export function demoPage(path: string, accept: string | undefined): PageAsset | undefined {
  let file: string;
  if (path === '/' || path === '/index.html') {
    if (path === '/' && !(accept ?? '').includes('text/html')) return undefined;
    file = 'index.html';
  } else if (/^\/assets\/[A-Za-z0-9_-]+\.(js|css|png|svg)$/.test(path)) {
    file = path.slice(1);
  } else {
    return undefined;
  }
  const full = join(PUBLIC, file);
  if (!existsSync(full)) return undefined;
  const ext = file.slice(file.lastIndexOf('.'));
  return {
    status: 200,
    headers: {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
    },
    body: readFileSync(full),
  };
}
