/**
 * The demo and the examples are the proof that the public API suffices: they
 * import the package by name, never its src/, and the demo's modules import
 * each other without cycles (static or dynamic imports alike). The tests use
 * the entry points too wherever a name is public.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

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

/**
 * jose's layout: a test of behaviour reaches Baton through its entry points
 * (package.json "exports"), so it tests what users get; a test reaches into
 * src/ only for names no entry point exports (it tests an internal).
 */
describe('the tests', () => {
  it('import through an entry point every name an entry point exports', { timeout: 120_000 }, () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    const entries = Object.values(pkg.exports)
      .map((target) => (typeof target === 'object' ? target['baton-source'] : undefined))
      .filter((path): path is string => path !== undefined)
      .map((path) => resolve(ROOT, path));
    const program = ts.createProgram(entries, {
      allowImportingTsExtensions: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
    });
    const checker = program.getTypeChecker();
    const isValue = (symbol: ts.Symbol) => {
      const typeOnly = (symbol.declarations ?? []).some(
        (d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly),
      );
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      return !typeOnly && (target.flags & ts.SymbolFlags.Value) !== 0;
    };
    const exported = entries.map((entry) => {
      const module = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile);
      const symbols = module ? checker.getExportsOfModule(module) : [];
      return {
        entry,
        names: new Set(symbols.map((s) => s.name)),
        values: new Set(symbols.filter(isValue).map((s) => s.name)),
      };
    });
    const reaching: string[] = [];
    for (const file of tsFiles('test')) {
      const source = ts.createSourceFile(
        file,
        readFileSync(join(ROOT, file), 'utf8'),
        ts.ScriptTarget.ES2022,
      );
      for (const statement of source.statements) {
        if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
        const target = resolve(dirname(join(ROOT, file)), statement.moduleSpecifier.text);
        if (!target.startsWith(join(ROOT, 'src/')) || entries.includes(target)) continue;
        const bindings = statement.importClause?.namedBindings;
        if (!bindings || !ts.isNamedImports(bindings)) continue;
        const names = bindings.elements.map((e) => (e.propertyName ?? e.name).text);
        const values = statement.importClause?.isTypeOnly
          ? []
          : bindings.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text);
        const publicEntry = exported.find(
          (e) => names.every((n) => e.names.has(n)) && values.every((n) => e.values.has(n)),
        );
        if (publicEntry) {
          reaching.push(
            `${file}: ${statement.moduleSpecifier.text} (use ${relative(ROOT, publicEntry.entry)})`,
          );
        }
      }
    }
    assert.deepEqual(reaching, []);
  });
});
