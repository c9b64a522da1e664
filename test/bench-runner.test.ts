/**
 * Validation runner machinery: segmentation, budgets, summary rows, CSV,
 * comparison with noise bands, and runValidation with an in-process fake
 * RunConfiguration (and the fake nvidia-smi test double for GPU columns).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COLUMN_NAMES,
  DEFAULT_BUDGETS,
  compareRows,
  emptyRow,
  judgeRow,
  noiseBand,
  parseCsv,
  runValidation,
  selectConfigurations,
  summaryRow,
  toCsv,
  uniformSegments,
  STABILIZE_ONLY_CONFIGURATIONS,
  sliceGroundTruth,
  type BenchVideo,
  type DatasetSpec,
  type RunConfiguration,
} from '../src/bench/index.js';
import { getSynthPreset, synthGroundTruth } from '../src/datasets/index.js';
import { ROOT } from './helpers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-runner-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('uniformSegments splits into contiguous near-equal spans', () => {
  // 10 / 3: boundaries round(10/3) = 3 and round(20/3) = 7.
  assert.deepEqual(uniformSegments(10, 3), [
    { index: 0, start: 0, end: 3 },
    { index: 1, start: 3, end: 7 },
    { index: 2, start: 7, end: 10 },
  ]);
  assert.deepEqual(uniformSegments(2, 5).map((s) => [s.start, s.end]), [
    [0, 1],
    [1, 2],
  ]);
});

test('budgets: strict "under" limits, GB = 10^9 bytes, n/a never passes', () => {
  const row = (o: Record<string, string | number>) => judgeRow(Object.assign(emptyRow(), o), DEFAULT_BUDGETS);
  // 45 GB = 45e9 B = 42915.2 MiB.
  assert.equal(row({ gpu_mem_peak_mib: 42915, wall_s: 29.9 }).pass_gpu, 'pass');
  assert.equal(row({ gpu_mem_peak_mib: 42916, wall_s: 29.9 }).pass_gpu, 'fail');
  assert.equal(row({ wall_s: 29.9 }).pass_time, 'pass');
  assert.equal(row({ wall_s: 30 }).pass_time, 'fail');
  const full = row({ gpu_mem_peak_mib: 1000, wall_s: 1, ewarp_ratio: 1.2, intentional_error_px: 0.5, skate_ratio: 0.05 });
  assert.equal(full.verdict, 'pass');
  assert.equal(row({ gpu_mem_peak_mib: 1000, wall_s: 1, ewarp_ratio: 1.2, intentional_error_px: 0.5 }).verdict, 'incomplete');
  assert.equal(row({ wall_s: 1, skate_ratio: 0.5 }).verdict, 'fail');
  assert.equal(row({ wall_s: 1, gpu_mem_peak_mib: 10, ewarp_ratio: 1, intentional_error_px: 0, skate_ratio: 0, error: 'CUDA out of memory' }).verdict, 'fail');
  const tight = judgeRow(Object.assign(emptyRow(), { wall_s: 1 }), { ...DEFAULT_BUDGETS, seconds: 0.5 });
  assert.equal(tight.pass_time, 'fail');
  assert.equal(tight.budget_seconds, 0.5);
});

test('summaryRow aggregates each column by its rule', () => {
  const seg = (o: Record<string, string | number>) => judgeRow(Object.assign(emptyRow(), { row_type: 'segment', dataset: 'd', configuration: 'c', segments: 3 }, o), DEFAULT_BUDGETS);
  const s = summaryRow([
    seg({ segment: 0, start_frame: 0, end_frame: 10, frames: 10, wall_s: 2, rss_peak_mib: 300, jitter_px: 1, coverage_min: 0.9, gpu_reason: 'no GPU' }),
    seg({ segment: 1, start_frame: 10, end_frame: 20, frames: 10, wall_s: 3, rss_peak_mib: 500, jitter_px: 2, coverage_min: 0.8, gpu_reason: 'no GPU' }),
    seg({ segment: 2, start_frame: 20, end_frame: 30, frames: 10, wall_s: 35, rss_peak_mib: 400, jitter_px: 6, coverage_min: 0.95, gpu_reason: 'no GPU' }),
  ]);
  assert.equal(s.row_type, 'summary');
  assert.equal(s.segment, '');
  assert.equal(s.frames, 30);
  assert.equal(s.wall_s, 40);
  assert.equal(s.process_fps, 0.75); // 30 frames / 40 s
  assert.equal(s.rss_peak_mib, 500);
  assert.equal(s.jitter_px, 3); // (1 + 2 + 6) / 3
  assert.equal(s.coverage_min, 0.8);
  assert.equal(s.start_frame, 0);
  assert.equal(s.end_frame, 30);
  assert.equal(s.gpu_reason, 'no GPU');
  assert.equal(s.gpu_mem_peak_mib, '');
  assert.equal(s.pass_time, 'fail'); // the 35 s segment
  assert.equal(s.pass_gpu, 'n/a');
  assert.equal(s.verdict, 'fail');
});

test('CSV: header is the documented column list; quotes, commas and newlines survive a round trip', () => {
  const r = Object.assign(emptyRow(), { dataset: 'a,b', error: 'he said "no"\nthen left', wall_s: 1.5 });
  const text = toCsv([r]);
  assert.equal(text.split('\n')[0], COLUMN_NAMES.join(','));
  const back = parseCsv(text);
  assert.equal(back.length, 1);
  assert.equal(back[0].dataset, 'a,b');
  assert.equal(back[0].error, 'he said "no"\nthen left');
  assert.equal(back[0].wall_s, '1.5');
  assert.equal(back[0].gpu_mem_peak_mib, '');
});

test('docs/bench-columns.md documents exactly the CSV columns, in order', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'bench-columns.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented, [...COLUMN_NAMES]);
});

test('compare: band from repeats, from paired segments, flagged by direction', () => {
  const mk = (config: string, repeat: number, segment: number, wall: number, jitter?: number) => ({
    row_type: 'segment',
    dataset: 'd',
    configuration: config,
    repeat: String(repeat),
    segment: String(segment),
    wall_s: String(wall),
    jitter_px: jitter === undefined ? '' : String(jitter),
  });
  // Repeats: A means 10 and 12 (sd sqrt 2), B 20 and 22 (sd sqrt 2): band = 2 sqrt(2/2 + 2/2) = 2 sqrt 2; change +10 s: worse.
  const a = [mk('r', 0, 0, 10), mk('r', 1, 0, 12)];
  const b = [mk('r', 0, 0, 20), mk('r', 1, 0, 22)];
  assert.ok(Math.abs(noiseBand(a, b, 'wall_s').band! - 2 * Math.SQRT2) < 1e-12);
  const [c] = compareRows(a, b, ['wall_s']);
  assert.equal(c.a, 11);
  assert.equal(c.b, 21);
  assert.equal(c.bandSource, 'repeats');
  assert.equal(c.flag, 'worse');
  // Segments: d = 0.1, 0.3, -0.1 -> mean 0.1, sd 0.2, band 2 * 0.2 / sqrt 3 = 0.2309; change 0.1: within noise.
  const sa = [mk('s', 0, 0, 1), mk('s', 0, 1, 2), mk('s', 0, 2, 3)];
  const sb = [mk('s', 0, 0, 1.1), mk('s', 0, 1, 2.3), mk('s', 0, 2, 2.9)];
  const [s] = compareRows(sa, sb, ['wall_s']);
  assert.equal(s.bandSource, 'segments');
  assert.ok(Math.abs(s.band! - (2 * 0.2) / Math.sqrt(3)) < 1e-9);
  assert.ok(Math.abs(s.change - 0.1) < 1e-9);
  assert.equal(s.flag, 'within noise');
  // Higher-is-better metric falling beyond its band: worse; lower-is-better metric falling: better.
  const qa = [mk('q', 0, 0, 5, 2), mk('q', 0, 1, 5, 2.1), mk('q', 0, 2, 5, 1.9)];
  const qb = [mk('q', 0, 0, 5, 1), mk('q', 0, 1, 5, 1.05), mk('q', 0, 2, 5, 0.95)];
  const [j] = compareRows(qa, qb, ['jitter_px']);
  assert.equal(j.flag, 'better');
  const one = compareRows([mk('o', 0, 0, 1)], [mk('o', 0, 0, 2)], ['wall_s']);
  assert.equal(one[0].flag, 'no band');
});

test('selectConfigurations: ids, unknown ids, segment counts', () => {
  const all = selectConfigurations(undefined, STABILIZE_ONLY_CONFIGURATIONS);
  assert.equal(all.length, STABILIZE_ONLY_CONFIGURATIONS.length);
  assert.throws(() => selectConfigurations(['nope'], STABILIZE_ONLY_CONFIGURATIONS), /unknown configuration "nope"/);
  const multi = selectConfigurations(['stab-l1'], STABILIZE_ONLY_CONFIGURATIONS, [3, 5]);
  assert.deepEqual(multi.map((c) => [c.id, c.segments]), [
    ['stab-l1/s3', 3],
    ['stab-l1/s5', 5],
  ]);
});

test('sliceGroundTruth keeps the per-frame arrays of the span', () => {
  const gt = synthGroundTruth(getSynthPreset('vtest-shake', { frames: 20 }));
  const s = sliceGroundTruth(gt, { start: 5, end: 12 });
  assert.equal(s.frames, 7);
  assert.equal(s.camera.length, 7);
  assert.deepEqual(s.camera[0], gt.camera[5]);
  assert.deepEqual(s.intentional[6], gt.intentional[11]);
});

const fakeVideo: BenchVideo = {
  dataset: 'fake',
  kind: 'synthetic',
  path: '/nonexistent.mp4',
  info: { fps: { num: 30, den: 1 } } as BenchVideo['info'],
  frames: 9,
};
const fakeDataset: DatasetSpec = { id: 'fake', kind: 'synthetic', prepare: async () => fakeVideo };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A plug-in with known behaviour: a 60 ms generate stage, 30 ms of measuring, segment 1 throws. */
const fakeRun: RunConfiguration = async (video, config, hooks) => {
  await hooks.videoStage('decode', () => sleep(20));
  for (const span of uniformSegments(video.frames, config.segments)) {
    await hooks.segment(span, async (seg) => {
      await seg.stage('generate', () => sleep(60));
      if (span.index === 1) throw new Error('CUDA out of memory (fake)');
      await seg.measure(() => sleep(30));
      return { stabilization: { jitterPx: span.index + 1 }, flicker: { ewarpRatio: 1.1 }, feet: { reason: 'no poses' } };
    });
  }
};

test('runValidation: per-segment rows, errors recorded, summary with video-level work, GPU empty with reason', async () => {
  const saved = process.env.RESHOOT_NVIDIA_SMI;
  process.env.RESHOOT_NVIDIA_SMI = join(dir, 'no-nvidia-smi-here');
  let rows;
  const progress: [number, number][] = [];
  try {
    rows = await runValidation(
      { datasets: [fakeDataset], configurations: [{ id: 'cfg', preset: 'fast', generator: 'synthetic', segments: 3 }] },
      fakeRun,
      { runId: 'test', onProgress: (d, t) => progress.push([d, t]) },
    );
  } finally {
    if (saved === undefined) delete process.env.RESHOOT_NVIDIA_SMI;
    else process.env.RESHOOT_NVIDIA_SMI = saved;
  }
  assert.equal(rows.length, 4);
  const [s0, s1, s2, sum] = rows;
  assert.deepEqual(rows.map((r) => r.row_type), ['segment', 'segment', 'segment', 'summary']);
  assert.deepEqual([s0.start_frame, s0.end_frame, s2.start_frame, s2.end_frame], [0, 3, 6, 9]);
  // Timer correctness (not speed): the 60 ms stage is in wall_s, the 30 ms measuring is not.
  assert.ok(Number(s0.time_generate_s) >= 0.055, String(s0.time_generate_s));
  assert.equal(s0.wall_s, s0.time_generate_s);
  assert.ok(Number(s0.time_measure_s) >= 0.025);
  assert.equal(s0.jitter_px, 1);
  assert.equal(s2.jitter_px, 3);
  assert.equal(s0.feet_reason, 'no poses');
  assert.equal(s0.gpu_mem_peak_mib, '');
  assert.match(String(s0.gpu_reason), /nvidia-smi not found/);
  assert.equal(s0.pass_gpu, 'n/a');
  assert.equal(s0.verdict, 'incomplete');
  assert.match(String(s1.error), /CUDA out of memory/);
  assert.equal(s1.verdict, 'fail');
  assert.equal(s1.wall_s, '');
  assert.equal(sum.verdict, 'fail');
  assert.equal(sum.jitter_px, 2); // (1 + 3) / 2, the failed segment has none
  // Summary wall time = segments that finished + the video-level decode.
  assert.ok(Math.abs(Number(sum.wall_s) - (Number(s0.wall_s) + Number(s2.wall_s) + Number(sum.time_decode_s))) < 1e-3);
  assert.ok(Number(sum.time_decode_s) >= 0.015);
  assert.deepEqual(progress[progress.length - 1], [3, 3]);
});

test('runValidation with the fake nvidia-smi fills the GPU columns from its readings', async () => {
  const fake = join(dir, 'fake-nvidia-smi');
  copyFileSync(join(ROOT, 'test', 'fixtures', 'fake-nvidia-smi'), fake);
  chmodSync(fake, 0o755);
  const device = join(dir, 'runner.device');
  // Every segment's sampler replays 1200, 3600, 2400 -> peak 3600, mean 2400 MiB.
  writeFileSync(device, '1200, 49140\n3600, 49140\n2400, 49140\n');
  const apps = join(dir, 'runner.apps');
  writeFileSync(apps, `${process.pid}, 1024\n`);
  const env = { RESHOOT_NVIDIA_SMI: fake, FAKE_NVIDIA_SMI_DEVICE: device, FAKE_NVIDIA_SMI_APPS: apps, FAKE_NVIDIA_SMI_DELAY: '0.005' };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let rows;
  try {
    const run: RunConfiguration = async (video, config, hooks) => {
      for (const span of uniformSegments(video.frames, config.segments)) {
        await hooks.segment(span, async (seg) => {
          await seg.stage('generate', () => sleep(250)); // long enough for the fake's three lines
          return {};
        });
      }
    };
    rows = await runValidation({ datasets: [fakeDataset], configurations: [{ id: 'g', preset: 'fast', generator: 'synthetic', segments: 2 }] }, run, {
      runId: 'gpu',
      gpu: { intervalMs: 50, processIntervalMs: 100 },
      budgets: { gpuGb: 3.5 }, // 3600 MiB = 3.775 GB: over
    });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const seg = rows[0];
  assert.equal(seg.gpu_mem_peak_mib, 3600);
  assert.equal(seg.gpu_mem_mean_mib, 2400);
  assert.equal(seg.gpu_mem_total_mib, 49140);
  assert.equal(seg.gpu_samples, 3);
  assert.equal(seg.gpu_proc_peak_mib, 1024);
  assert.equal(seg.gpu_proc_scope, 'reshoot');
  assert.equal(seg.gpu_reason, '');
  assert.equal(seg.pass_gpu, 'fail');
  assert.equal(rows[2].gpu_mem_peak_mib, 3600);
  assert.equal(rows[2].gpu_samples, 6);
});

test('openSegment: stage seconds reported by events become the row; close is idempotent; errors recorded', async () => {
  const saved = process.env.RESHOOT_NVIDIA_SMI;
  process.env.RESHOOT_NVIDIA_SMI = join(dir, 'no-nvidia-smi-here');
  let rows;
  try {
    // As a pipeline reporting stage-end events with seconds would: 1.25 s generate + 0.5 s temporal = 1.75 s wall.
    const run: RunConfiguration = async (video, config, hooks) => {
      const [a, b] = uniformSegments(video.frames, config.segments);
      const first = await hooks.openSegment(a);
      first.addStageTime('generate', 1.25);
      first.addStageTime('temporal', 0.5);
      first.addMeasureTime(3);
      await first.close({ flicker: { ewarpRatio: 1.2 } });
      await first.close({ flicker: { ewarpRatio: 9 } });
      const second = await hooks.openSegment(b);
      second.addStageTime('generate', 0.1);
      await second.close({ error: new Error('generator exited with code 1') });
    };
    rows = await runValidation({ datasets: [fakeDataset], configurations: [{ id: 'ev', preset: 'fast', generator: 'cmd:x', segments: 2 }] }, run, { runId: 'ev' });
  } finally {
    if (saved === undefined) delete process.env.RESHOOT_NVIDIA_SMI;
    else process.env.RESHOOT_NVIDIA_SMI = saved;
  }
  assert.deepEqual(rows.map((r) => r.row_type), ['segment', 'segment', 'summary']);
  assert.equal(rows[0].wall_s, 1.75);
  assert.equal(rows[0].time_generate_s, 1.25);
  assert.equal(rows[0].time_temporal_s, 0.5);
  assert.equal(rows[0].time_measure_s, 3);
  assert.equal(rows[0].ewarp_ratio, 1.2);
  assert.equal(rows[0].pass_flicker, 'pass');
  assert.equal(rows[1].error, 'generator exited with code 1');
  assert.equal(rows[1].wall_s, '');
  assert.equal(rows[2].wall_s, 1.75);
  assert.equal(rows[2].verdict, 'fail');
});

test('a dataset that cannot be prepared fails its rows and the others still run', async () => {
  const saved = process.env.RESHOOT_NVIDIA_SMI;
  process.env.RESHOOT_NVIDIA_SMI = join(dir, 'no-nvidia-smi-here');
  let rows;
  try {
    const broken: DatasetSpec = { id: 'broken', kind: 'real', prepare: async () => Promise.reject(new Error('sha256 mismatch')) };
    const run: RunConfiguration = async (video, config, hooks) => {
      for (const span of uniformSegments(video.frames, config.segments)) await hooks.segment(span, async (seg) => seg.stage('generate', async () => ({})));
    };
    rows = await runValidation({ datasets: [broken, fakeDataset], configurations: [{ id: 'c', preset: 'fast', generator: 'none', segments: 1 }] }, run, { runId: 'p' });
  } finally {
    if (saved === undefined) delete process.env.RESHOOT_NVIDIA_SMI;
    else process.env.RESHOOT_NVIDIA_SMI = saved;
  }
  assert.deepEqual(rows.map((r) => [r.dataset, r.row_type]), [
    ['broken', 'summary'],
    ['fake', 'segment'],
    ['fake', 'summary'],
  ]);
  assert.equal(rows[0].verdict, 'fail');
  assert.match(String(rows[0].error), /cannot prepare broken: sha256 mismatch/);
});
