/**
 * `reshoot bench --html`: the report file, overwrite refusal, missing CSV. That the
 * charts render in a browser is checked by test/browser/bench-html.test.ts
 * (`npm run test:browser`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyRow, judgeRow, DEFAULT_BUDGETS, summaryRow, toCsv } from '../src/bench/index.js';
import { runCli } from './helpers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-html-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function sampleRows() {
  const seg = (config: string, segment: number, o: Record<string, string | number>) =>
    judgeRow(Object.assign(emptyRow(), { row_type: 'segment', run_id: 't', dataset: 'clip', dataset_kind: 'real', configuration: config, segments: 2, segment, repeat: 0, frames: 10 }, o), DEFAULT_BUDGETS);
  const a = [seg('a', 0, { wall_s: 3, gpu_mem_peak_mib: 20000, gpu_proc_peak_mib: 15000, ewarp_ratio: 1.1, jitter_px: 0.3 }), seg('a', 1, { wall_s: 33, gpu_mem_peak_mib: 30000, ewarp_ratio: 1.3, jitter_px: 0.4 })];
  const b = [seg('b', 0, { wall_s: 5, gpu_reason: 'no GPU here', feet_reason: 'no poses', jitter_px: 0.2 }), seg('b', 1, { wall_s: 6, gpu_reason: 'no GPU here', feet_reason: 'no poses' })];
  return [...a, summaryRow(a), ...b, summaryRow(b)];
}

test('reshoot bench --html --from writes the report; refuses to overwrite; clear error without a CSV', async () => {
  const csv = join(dir, 'run.csv');
  writeFileSync(csv, toCsv(sampleRows()));
  const out = join(dir, 'cli.html');
  const r = await runCli(['bench', '--html', out, '--from', csv]);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /id="chart-time"/);
  assert.match(html, /window\.Plotly=Plotly/);
  const again = await runCli(['bench', '--html', out, '--from', csv]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already exists/);
  const missing = await runCli(['bench', '--html', join(dir, 'x.html'), '--from', join(dir, 'nope.csv')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nope\.csv not found/);
});
