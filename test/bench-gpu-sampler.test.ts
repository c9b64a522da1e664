/**
 * The GPU memory sampler against test/fixtures/fake-nvidia-smi, a test double
 * that replays scripted lines. Expected peaks and means are computed by hand
 * from the scripted sequences below.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuSampler, parseComputeApps, parseDeviceLine, processTree, fillGpuColumns, emptyRow, judgeRow, DEFAULT_BUDGETS } from '../src/bench/index.js';
import { ROOT } from './helpers.js';

let dir: string;
let fake: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-fake-smi-'));
  // A copy with the exec bit set, whatever the checkout did with file modes.
  fake = join(dir, 'fake-nvidia-smi');
  copyFileSync(join(ROOT, 'test', 'fixtures', 'fake-nvidia-smi'), fake);
  chmodSync(fake, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function scenario(name: string, deviceLines: string[], appsLines: string[] = []): NodeJS.ProcessEnv {
  const device = join(dir, `${name}.device`);
  const apps = join(dir, `${name}.apps`);
  writeFileSync(device, deviceLines.join('\n') + '\n');
  writeFileSync(apps, appsLines.join('\n') + (appsLines.length ? '\n' : ''));
  return { FAKE_NVIDIA_SMI_DEVICE: device, FAKE_NVIDIA_SMI_APPS: apps, FAKE_NVIDIA_SMI_ARGS_LOG: join(dir, `${name}.args`), FAKE_NVIDIA_SMI_DELAY: '0.01' };
}

/** The sampler reads the fake's settings from the environment of the child it spawns. */
async function withEnv<T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for the fake nvidia-smi');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A child `sh` with two sleeping children; returns the pids the shell itself reports. */
async function spawnTree(): Promise<{ child: ChildProcess; root: number; kids: number[] }> {
  const child = spawn('sh', ['-c', 'sleep 30 & echo $!; sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await waitFor(() => out.trim().split('\n').length >= 2);
  return { child, root: child.pid!, kids: out.trim().split('\n').map(Number) };
}

test('parseDeviceLine accepts "used, total" and rejects everything else', () => {
  assert.deepEqual(parseDeviceLine('1234, 81920'), { used: 1234, total: 81920 });
  assert.deepEqual(parseDeviceLine(' 7 ,8 '), { used: 7, total: 8 });
  for (const bad of ['[N/A], 81920', '3000 81920', '1, 2, 3', 'garbage', '', '-5, 10', 'No devices were found']) {
    assert.equal(parseDeviceLine(bad), undefined, bad);
  }
});

test('parseComputeApps sums nothing it cannot parse', () => {
  const r = parseComputeApps('123, 300\n456, 200\nbroken\n[N/A], 10\n\n');
  assert.deepEqual(r.apps, [
    { pid: 123, usedMiB: 300 },
    { pid: 456, usedMiB: 200 },
  ]);
  assert.equal(r.malformed, 2);
});

test('processTree finds a root and the children its shell reports', async () => {
  const t = await spawnTree();
  try {
    assert.deepEqual(new Set(processTree(t.root)), new Set([t.root, ...t.kids]));
    assert.deepEqual(processTree(2 ** 30), []);
  } finally {
    t.child.kill('SIGKILL');
    for (const k of t.kids) {
      try {
        process.kill(k, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

test('known sequence with malformed lines: peak, mean, counts and the exact command lines', async () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    // Well-formed readings: 1000, 2500, 1500 -> peak 2500, mean 5000/3. Malformed: 4 lines (the blank line is not a reading).
    const env = scenario(
      'known',
      ['1000, 81920', 'garbage line', '2500, 81920', '[N/A], 81920', '3000 81920', '4000, 81920, 7', '', '1500, 81920'],
      // This process (300) + its child (200) count; pid 1 (not in the tree) and the broken line do not: 500.
      [`${process.pid}, 300`, `${sleeper.pid}, 200`, '1, 5000', 'broken'],
    );
    const stats = await withEnv(env, async () => {
      const s = await GpuSampler.start({ nvidiaSmi: fake, intervalMs: 50, processIntervalMs: 100 });
      await waitFor(() => s.samplesSoFar >= 3);
      return s.stop();
    });
    assert.equal(stats.available, true);
    assert.equal(stats.reason, undefined);
    assert.equal(stats.samples, 3);
    assert.equal(stats.malformed, 4);
    assert.equal(stats.peakMiB, 2500);
    assert.ok(Math.abs(stats.meanMiB! - 5000 / 3) < 1e-9);
    assert.equal(stats.totalMiB, 81920);
    assert.equal(stats.intervalMs, 50);
    assert.equal(stats.processPeakMiB, 500);
    assert.equal(stats.processMeanMiB, 500);
    assert.ok(stats.processSamples >= 1);
    const calls = readFileSync(env.FAKE_NVIDIA_SMI_ARGS_LOG!, 'utf8').trim().split('\n');
    assert.ok(calls.includes('--query-gpu=memory.used,memory.total --format=csv,noheader,nounits -lms 50'), calls.join(' | '));
    assert.ok(calls.includes('--query-compute-apps=pid,used_memory --format=csv,noheader,nounits'), calls.join(' | '));
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('trackProcess measures the generator tree only (root + its children, not reshoot)', async () => {
  const t = await spawnTree();
  try {
    // Generator tree: 100 + 200 + 400 = 700. reshoot's own 800 and pid 1's 5000 are outside it.
    const env = scenario('tree', ['2000, 40960'], [`${t.root}, 100`, `${t.kids[0]}, 200`, `${t.kids[1]}, 400`, `${process.pid}, 800`, '1, 5000']);
    const stats = await withEnv(env, async () => {
      const s = await GpuSampler.start({ nvidiaSmi: fake, intervalMs: 50, processIntervalMs: 60_000 });
      s.trackProcess(t.root);
      return s.stop();
    });
    assert.equal(stats.rootPid, t.root);
    assert.equal(stats.processPeakMiB, 700);
    assert.equal(stats.peakMiB, 2000);
  } finally {
    t.child.kill('SIGKILL');
    for (const k of t.kids) {
      try {
        process.kill(k, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

test('a crash mid-run keeps the readings taken and says they are partial', async () => {
  // Readings 1000 and 4000 -> peak 4000, mean 2500; then nvidia-smi dies with status 15.
  const env = scenario('crash', ['1000, 40960', '4000, 40960', '@stderr Unable to determine the device handle for GPU 0000:01:00.0: Unknown Error', '@exit 15']);
  const stats = await withEnv(env, async () => {
    const s = await GpuSampler.start({ nvidiaSmi: fake, intervalMs: 50, processIntervalMs: 60_000 });
    await new Promise((r) => setTimeout(r, 400));
    return s.stop();
  });
  assert.equal(stats.available, true);
  assert.equal(stats.samples, 2);
  assert.equal(stats.peakMiB, 4000);
  assert.equal(stats.meanMiB, 2500);
  assert.match(stats.reason ?? '', /partial: nvidia-smi exited with code 15 after 2 readings/);
  assert.match(stats.reason ?? '', /Unknown Error/);
});

test('no GPU: empty figures and nvidia-smi\'s own words as the reason', async () => {
  const env = scenario('nogpu', ['No devices were found', '@exit 6']);
  const stats = await withEnv(env, async () => (await GpuSampler.start({ nvidiaSmi: fake })).stop());
  assert.equal(stats.available, false);
  assert.equal(stats.peakMiB, undefined);
  assert.equal(stats.meanMiB, undefined);
  assert.equal(stats.samples, 0);
  assert.match(stats.reason ?? '', /exited with code 6: No devices were found/);
});

test('a crash before the first reading: empty figures with the driver error', async () => {
  const env = scenario('nvml', ['@stderr Failed to initialize NVML: Driver/library version mismatch', '@exit 9']);
  const stats = await withEnv(env, async () => (await GpuSampler.start({ nvidiaSmi: fake })).stop());
  assert.equal(stats.available, false);
  assert.equal(stats.peakMiB, undefined);
  assert.match(stats.reason ?? '', /code 9: Failed to initialize NVML: Driver\/library version mismatch/);
});

test('no nvidia-smi (RESHOOT_NVIDIA_SMI pointing nowhere): reason, no zeros in the row', async () => {
  const stats = await withEnv({ RESHOOT_NVIDIA_SMI: join(dir, 'missing-nvidia-smi') }, async () => (await GpuSampler.start()).stop());
  assert.equal(stats.available, false);
  assert.match(stats.reason ?? '', /nvidia-smi not found/);
  const row = emptyRow();
  row.wall_s = 1;
  fillGpuColumns(row, stats, 'reshoot');
  for (const col of ['gpu_mem_peak_mib', 'gpu_mem_mean_mib', 'gpu_mem_total_mib', 'gpu_samples', 'gpu_proc_peak_mib', 'gpu_proc_mean_mib', 'gpu_proc_samples']) {
    assert.equal(row[col], '', col);
  }
  assert.match(String(row.gpu_reason), /not found/);
  judgeRow(row, DEFAULT_BUDGETS);
  assert.equal(row.pass_gpu, 'n/a');
  assert.notEqual(row.verdict, 'pass');
});
