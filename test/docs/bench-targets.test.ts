/**
 * The READMEs quote the committed full run's targets (bench/results/latest.json)
 * between `<!-- bench-targets:start/end -->` markers, which `npm run bench`
 * (full, to bench/results) and `npm run bench -- --render` rewrite: what they
 * say passes or misses is that run's verdict, never a hand-edited copy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderTargets, spliceTargets } from '../../bench/lib/report.ts';
import type { BenchResult } from '../../bench/lib/result.ts';
import { evaluateTargets } from '../../bench/lib/targets.ts';

const result = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) as BenchResult;

describe('the benchmark targets quoted in the READMEs', () => {
  it('come from a full run, evaluated against the targets as they are now', () => {
    assert.equal(result.mode, 'full');
    assert.deepEqual(
      result.targets.map((t) => [t.id, t.pass, t.detail]),
      evaluateTargets(result).map((t) => [t.id, t.pass, t.detail]),
      'bench/lib/targets.ts changed since the run was rendered: npm run bench -- --render',
    );
  });

  for (const file of ['README.md', 'bench/README.md']) {
    it(`${file} shows exactly bench/results/latest.json's targets`, () => {
      const text = readFileSync(file, 'utf8');
      assert.equal(
        spliceTargets(text, renderTargets(result)),
        text,
        `${file}: run npm run bench -- --render`,
      );
    });
  }

  it('splices only between the markers, and says when they are missing', () => {
    const text = 'before\n<!-- bench-targets:start -->\nold\n<!-- bench-targets:end -->\nafter';
    assert.equal(
      spliceTargets(text, 'new'),
      'before\n<!-- bench-targets:start -->\nnew\n<!-- bench-targets:end -->\nafter',
    );
    assert.equal(spliceTargets('no markers', 'new'), null);
  });
});
