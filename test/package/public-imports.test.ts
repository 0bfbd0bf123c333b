/**
 * The demo and the examples are the proof that the public API suffices: they
 * import the package by name, never its src/, and the demo's modules import
 * each other without cycles (static or dynamic imports alike).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

function importsOf(file: string): string[] {
  return [...readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)].map((match) => match[1] as string);
}

describe('the demo and the examples', () => {
  it('import Baton by its package name, never from src/', () => {
    const reaching = [...tsFiles('demo'), ...tsFiles('examples')].flatMap((file) =>
      importsOf(file)
        .filter(
          (specifier) =>
            specifier.startsWith('.') &&
            resolve(dirname(join(ROOT, file)), specifier).startsWith(join(ROOT, 'src')),
        )
        .map((specifier) => `${file}: ${specifier}`),
    );
    assert.deepEqual(reaching, []);
  });

  it('the demo has no import cycle', () => {
    const graph = new Map<string, string[]>();
    for (const file of tsFiles('demo')) {
      const local = importsOf(file)
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => relative(ROOT, resolve(dirname(join(ROOT, file)), specifier)));
      graph.set(file, local);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(cycles, []);
  });
});
