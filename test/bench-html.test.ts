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
import { emptyRow, judgeRow, DEFAULT_BUDGETS, summaryRow, toCsv, reportHtml } from '../src/bench/index.js';
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

test('the report says per failing cell the value and the limit, and why an n/a cell is n/a', () => {
  const rows = sampleRows();
  const html = reportHtml(rows);
  // Config a: segment 1 took 33 s against the 30 s budget (stated as "under 30 s").
  assert.ok(html.includes('fail: wall time 33.0 s ≥ 30 s (segment 1 of 2)'), 'time cell names value and limit');
  // Config a: peaks 20000 and 30000 MiB = 20.97 and 31.46 GB, both under 45 GB.
  assert.ok(html.includes('pass: max 31.5 GB &lt; 45 GB'));
  assert.ok(html.includes('n/a: no GPU here'), 'config b has no GPU reading and says why');
  assert.ok(html.includes('n/a: no poses'));
  // One chart per metric, broken down per dataset, limits drawn.
  assert.match(html, /id="chart-ewarp_ratio"/);
  assert.match(html, /"text":"limit 1.5"/);
});

test('the environment is a table of dotted keys, not raw JSON', () => {
  const html = reportHtml(sampleRows(), { environment: { node: 'v20', cpu: { model: 'X', cores: 2 }, gpus: [] } });
  assert.match(html, /<tr><th>cpu\.model<\/th><td>X<\/td><\/tr>/);
  assert.match(html, /<tr><th>cpu\.cores<\/th><td>2<\/td><\/tr>/);
  assert.ok(!html.includes('"cpu"'));
});
