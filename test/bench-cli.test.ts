/**
 * `reshoot bench` end to end on a short synthetic clip (stabilization-only
 * run), GPU columns with and without the fake nvidia-smi test double,
 * `--compare`, argument errors, and one kernel micro-benchmark.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLUMN_NAMES, parseCsv, toCsv, emptyRow } from '../src/bench/index.js';
import { KERNEL_COLUMNS, runKernelBenchmarks } from '../src/bench/kernels.js';
import { ROOT, runCli } from './helpers.js';

let dir: string;
let fake: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-cli-'));
  fake = join(dir, 'fake-nvidia-smi');
  copyFileSync(join(ROOT, 'test', 'fixtures', 'fake-nvidia-smi'), fake);
  chmodSync(fake, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const RUN = ['bench', '--datasets', 'vtest-shake', '--configs', 'stab-l1', '--max-frames', '24'];

test('a validation run writes the CSV (documented columns, 3 segments + summary) and the environment sidecar', async () => {
  const out = join(dir, 'a.csv');
  const r = await runCli([...RUN, '--out', out], { env: { RESHOOT_NVIDIA_SMI: join(dir, 'absent') }, timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const text = readFileSync(out, 'utf8');
  assert.equal(text.split('\n')[0], COLUMN_NAMES.join(','));
  const rows = parseCsv(text);
  assert.deepEqual(rows.map((x) => x.row_type), ['segment', 'segment', 'segment', 'summary']);
  // 24 frames in 3 segments of 8.
  assert.deepEqual(rows.slice(0, 3).map((x) => [x.start_frame, x.end_frame]), [
    ['0', '8'],
    ['8', '16'],
    ['16', '24'],
  ]);
  assert.equal(rows[3].frames, '24');
  for (const row of rows.slice(0, 3)) {
    assert.equal(row.error, '');
    assert.ok(Number(row.wall_s) > 0);
    assert.ok(Number(row.time_stabilize_s) > 0);
    assert.notEqual(row.intentional_error_px, '', `no intentional error: ${row.stab_reason}`); // synthetic clip: ground truth known
    assert.equal(row.gpu_mem_peak_mib, '');
    assert.match(row.gpu_reason, /nvidia-smi not found/);
    assert.equal(row.pass_gpu, 'n/a');
    assert.match(row.flicker_reason, /stabilization-only/);
    assert.notEqual(row.verdict, 'pass');
  }
  const env = JSON.parse(readFileSync(join(dir, 'a.env.json'), 'utf8'));
  assert.equal(env.cpu.logicalCores, cpus().length);
  assert.equal(env.node, process.version);
  assert.deepEqual(env.gpus, []);
  assert.match(env.gpuReason, /not found/);
  assert.match(r.stdout, /vtest-shake\s+stab-l1/);
  assert.match(r.stdout, /GPU memory not measured: nvidia-smi not found/);
  const again = await runCli([...RUN, '--out', out]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already exists/);
});

test('with the fake nvidia-smi the GPU columns hold its readings and the budget is judged', async () => {
  const device = join(dir, 'cli.device');
  // Peak 46000 MiB = 48.23 GB > 45 GB; mean (30000 + 46000 + 38000) / 3 = 38000.
  writeFileSync(device, '30000, 81920\n46000, 81920\n38000, 81920\n');
  const out = join(dir, 'gpu.csv');
  const r = await runCli([...RUN, '--segments', '1', '--out', out], {
    env: { RESHOOT_NVIDIA_SMI: fake, FAKE_NVIDIA_SMI_DEVICE: device, FAKE_NVIDIA_SMI_DELAY: '0.001' },
    timeoutMs: 240_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const [seg] = parseCsv(readFileSync(out, 'utf8'));
  assert.equal(seg.gpu_mem_peak_mib, '46000');
  assert.equal(seg.gpu_mem_mean_mib, '38000');
  assert.equal(seg.gpu_samples, '3');
  assert.equal(seg.pass_gpu, 'fail');
  assert.equal(seg.verdict, 'fail');
  assert.equal(seg.gpu_proc_peak_mib, '0'); // the fake lists no compute process: a real reading of none
  const env = JSON.parse(readFileSync(join(dir, 'gpu.env.json'), 'utf8'));
  assert.deepEqual(env.gpus, [{ name: 'Fake GPU (nvidia-smi test double)', driver: '0.0', memoryTotalMiB: 81920 }]);
});

test('--compare prints per-metric changes with noise bands and flags regressions', async () => {
  const rows = (wall: number[], repeat: number) =>
    wall.map((w, i) => Object.assign(emptyRow(), { row_type: 'segment', dataset: 'clip', configuration: 'c', segment: i, repeat, wall_s: w }));
  const a = join(dir, 'cmpA.csv');
  const b = join(dir, 'cmpB.csv');
  writeFileSync(a, toCsv([...rows([10, 10], 0), ...rows([11, 11], 1)]));
  writeFileSync(b, toCsv([...rows([20, 20], 0), ...rows([21, 21], 1)]));
  const r = await runCli(['bench', '--compare', a, b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^!\s+clip\s+c\s+wall_s\s+10\.5\s+20\.5\s+10\s+95\.2%\s+±\S+\s+repeats\s+worse$/m);
  const strict = await runCli(['bench', '--compare', a, b, '--fail-on-regression']);
  assert.equal(strict.code, 3);
  const same = await runCli(['bench', '--compare', a, a, '--fail-on-regression']);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /within noise/);
});

test('argument errors are one clear line', async () => {
  const three = await runCli(['bench', '--compare', join(dir, 'cmpA.csv'), join(dir, 'cmpA.csv'), join(dir, 'cmpA.csv')]);
  assert.notEqual(three.code, 0);
  assert.match(three.stderr, /--compare takes a baseline \(or auto\) to run against, or two CSV files/);
  // One file is a baseline to run against: a CSV of no known suite is refused before anything runs.
  writeFileSync(join(dir, 'other.csv'), 'clip,frames\nx,2\n');
  const other = await runCli(['bench', '--compare', join(dir, 'other.csv')]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /other\.csv is not a CSV of a known suite \(validation, stabilization, temporal\)/);
  const budget = await runCli(['bench', '--budget-seconds', '0', '--out', join(dir, 'z.csv')]);
  assert.match(budget.stderr, /--budget-seconds must be positive/);
  const unknown = await runCli(['bench', '--datasets', 'no-such-clip', '--out', join(dir, 'u.csv')]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no-such-clip/);
  assert.equal(existsSync(join(dir, 'u.csv')), false);
});

test('kernel micro-benchmark: one kernel, CSV with its columns and a positive time', async () => {
  const out = join(dir, 'k.csv');
  const r = await runKernelBenchmarks({ only: ['dense flow'], timeMs: 300, minIterations: 3, out });
  assert.equal(r.rows.length, 1);
  const [row] = parseCsv(readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(row), [...KERNEL_COLUMNS]);
  assert.equal(row.error, '');
  assert.ok(Number(row.mean_ms) > 0);
  assert.ok(Number(row.samples) >= 1);
});
