/**
 * A fresh bench CSV judged against a baseline with fixed noise bands
 * (src/bench/baseline.ts), on small hand-made CSVs whose verdicts are worked
 * out by hand below, plus the committed baselines against themselves and the
 * CLI's `--compare <baseline> <fresh> --bands`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  STABILIZATION_SUITE,
  TEMPORAL_SUITE,
  VALIDATION_SUITE,
  bandWidth,
  compareWithBaseline,
  formatBaselineReport,
  parseCsv,
  readBaseline,
  suiteFor,
} from '../src/bench/index.js';
import { ROOT, runCli } from './helpers.js';

const HEADER = 'dataset,configuration,segments,row_type,segment,repeat,jitter_px,itf_db,coverage_min,wall_s,error';
const BASELINE = [
  HEADER,
  'd1,c1,3,segment,0,0,1.0,30,0.9,5,',
  'd1,c1,3,segment,1,0,2.0,28,0.9,5,',
  'd1,c1,3,segment,2,0,0.1,29,0.9,5,',
  'd1,c1,3,summary,,0,1.0333,29,0.9,15,',
  'd2,c1,3,segment,0,0,1.0,30,0.9,5,',
].join('\n');
const FRESH = [
  HEADER,
  // jitter 1.09: band max(0.02, 10 % of 1.0) = 0.1, change 0.09 -> within; itf 30.29: band 0.3 -> within;
  // coverage_min missing -> missing value (fails); wall 9 s: band 50 % of 5 = 2.5, change 4 -> flagged, not failed.
  'd1,c1,3,segment,0,0,1.09,30.29,,9,',
  // jitter 2.25: band 0.2, change 0.25 -> outside (worse: lower is better); itf 28.4: change 0.4 > 0.3 -> outside (better).
  'd1,c1,3,segment,1,0,2.25,28.4,0.9,5,',
  // segment 2 absent: a missing row. Segment 3 has no baseline: a new row. d2 was not run: counted, not failed.
  'd1,c1,3,segment,3,0,1.0,30,0.9,5,',
].join('\n');

test('bands: the larger of the absolute and the relative half-width', () => {
  assert.equal(bandWidth({ abs: 0.02, rel: 0.1 }, 1), 0.1);
  assert.equal(bandWidth({ abs: 0.02, rel: 0.1 }, -0.1), 0.02);
  assert.equal(bandWidth({ abs: 0.3 }, 30), 0.3);
  assert.equal(bandWidth({ rel: 0.5 }, 5), 2.5);
});

test('a row inside the band passes, one outside fails, a missing row and a missing value are reported', () => {
  const r = compareWithBaseline(parseCsv(BASELINE), parseCsv(FRESH), VALIDATION_SUITE);
  const at = (segment: string, metric: string) => r.checks.find((c) => c.row === `d1 / c1 / 3 / segment / ${segment}` && c.metric === metric)!;
  assert.equal(at('0', 'jitter_px').verdict, 'within');
  assert.ok(Math.abs(at('0', 'jitter_px').band! - 0.1) < 1e-12);
  assert.equal(at('0', 'itf_db').verdict, 'within');
  assert.equal(at('0', 'coverage_min').verdict, 'missing value');
  assert.equal(at('0', 'wall_s').verdict, 'flagged');
  assert.equal(at('0', 'wall_s').direction, 'worse');
  assert.equal(at('1', 'jitter_px').verdict, 'outside');
  assert.equal(at('1', 'jitter_px').direction, 'worse');
  assert.equal(at('1', 'itf_db').verdict, 'outside');
  assert.equal(at('1', 'itf_db').direction, 'better');
  assert.equal(at('1', 'coverage_min').verdict, 'within');
  assert.deepEqual(r.missingRows, ['d1 / c1 / 3 / segment / 2']);
  assert.deepEqual(r.newRows, ['d1 / c1 / 3 / segment / 3']);
  assert.equal(r.notRun, 1);
  // Summary rows are not compared (their segments are).
  assert.ok(r.checks.every((c) => !c.row.includes('summary')));
  // 2 outside + 1 missing value + 1 missing row; the flagged timing does not count.
  assert.equal(r.failures, 4);
  const text = formatBaselineReport(r);
  assert.match(text, /! missing row: d1 \/ c1 \/ 3 \/ segment \/ 2/);
  assert.match(text, /jitter_px\s+2\s+2\.25\s+0\.25\s+±0\.2\s+outside \(worse\)/);
  assert.match(text, /validation: 3 of 6 quality checks within their band; 4 failure\(s\); 1 timing\/memory value\(s\) flagged/);
  assert.doesNotMatch(text, /^\s+d1 \/ c1 \/ 3 \/ segment \/ 0\s+jitter_px/m, 'checks within their band are not listed');
});

test('repeats are averaged per key; an errored fresh row fails', () => {
  const fresh = [HEADER, 'd1,c1,3,segment,0,0,0.9,30,0.9,5,', 'd1,c1,3,segment,0,1,1.2,30,0.9,5,'].join('\n');
  const r = compareWithBaseline(parseCsv(BASELINE), parseCsv(fresh), VALIDATION_SUITE);
  const j = r.checks.find((c) => c.metric === 'jitter_px')!;
  assert.ok(Math.abs(j.fresh! - 1.05) < 1e-12);
  assert.equal(j.verdict, 'within');
  const errored = [HEADER, 'd1,c1,3,segment,0,0,1.0,30,0.9,5,out of memory'].join('\n');
  const e = compareWithBaseline(parseCsv(BASELINE), parseCsv(errored), VALIDATION_SUITE);
  assert.deepEqual(e.erroredRows, ['d1 / c1 / 3 / segment / 0: out of memory']);
  assert.equal(e.failures, 1 + 2, 'the errored row, and segments 1 and 2 missing');
});

test('the committed baselines are recognised and reproduce themselves exactly', () => {
  for (const [file, suite] of [
    ['baseline-validation.csv', VALIDATION_SUITE],
    ['baseline-stabilization.csv', STABILIZATION_SUITE],
    ['baseline-temporal.csv', TEMPORAL_SUITE],
  ] as const) {
    const { rows, suite: found } = readBaseline(join(ROOT, 'results', file));
    assert.equal(found, suite, file);
    const r = compareWithBaseline(rows, rows, suite);
    assert.equal(r.failures, 0, file);
    assert.ok(r.checks.length > 0 && r.checks.every((c) => c.verdict === 'within'), file);
    assert.deepEqual([r.missingRows, r.newRows, r.notRun], [[], [], 0]);
  }
  assert.equal(suiteFor(['clip', 'frames', 'fps_median']), undefined);
});

test('temporal suite: rows keyed by clips, frames, width and method; another clip set is not compared', () => {
  const header = 'clips,frames,width,method,e_ratio,psnr,grad,edge,fps,e_ratio_A,e_ratio_B,e_ratio_C,e_ratio_D';
  const base = parseCsv([header, 'vtest megamind,40,384,m1,2.00,33.50,0.950,0.950,10,1.1,2.2,3.3,4.4'].join('\n'));
  assert.equal(suiteFor(header.split(',')), TEMPORAL_SUITE);
  // e_ratio 2.09: band max(0.02, 5 % of 2) = 0.1 -> within; psnr 33.35: change 0.15 > 0.1 -> outside;
  // grad 0.954: change 0.004 <= 0.005 -> within; edge 0.944: change 0.006 -> outside; fps 4: flagged only.
  const fresh = parseCsv([header, 'vtest megamind,40,384,m1,2.09,33.35,0.954,0.944,4,1.1,2.2,3.3,4.4'].join('\n'));
  const r = compareWithBaseline(base, fresh, TEMPORAL_SUITE);
  const verdict = (m: string) => r.checks.find((c) => c.metric === m)?.verdict;
  assert.deepEqual(['e_ratio', 'psnr', 'grad', 'edge', 'fps'].map(verdict), ['within', 'outside', 'within', 'outside', 'flagged']);
  assert.equal(r.failures, 2);
  // The same method on a different frame count is another row: nothing compared, the baseline row counted as not run.
  const other = compareWithBaseline(base, parseCsv([header, 'vtest megamind,20,384,m1,2.00,33.50,0.950,0.950,10,1.1,2.2,3.3,4.4'].join('\n')), TEMPORAL_SUITE);
  assert.deepEqual([other.checks.length, other.notRun, other.newRows.length], [0, 1, 1]);
});

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-baseline-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

test('reshoot bench --compare <baseline> <fresh> --bands: exit 3 with the report; 0 when within', async () => {
  const base = join(dir, 'base.csv');
  const fresh = join(dir, 'fresh.csv');
  writeFileSync(base, BASELINE);
  writeFileSync(fresh, FRESH);
  const bad = await runCli(['bench', '--compare', base, fresh, '--bands']);
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(bad.stdout, /! missing row/);
  assert.match(bad.stderr, /4 failure\(s\) against the baseline/);
  const good = await runCli(['bench', '--compare', base, base, '--bands']);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /validation: 12 of 12 quality checks within their band; 0 failure\(s\)/);
  // One file: the stabilization baseline cannot be reproduced by `reshoot bench` (it is bench/stabilization.ts's).
  const wrong = await runCli(['bench', '--compare', join(ROOT, 'results', 'baseline-stabilization.csv')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /is a stabilization baseline/);
});
