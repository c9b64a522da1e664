/**
 * Motion-analysis speed: reshoot's analyzeVideo (decode + motion, 1 and 2
 * workers, old and new settings) against ffmpeg's vidstabdetect on the same
 * 640x480 clip, in the same run. The methods are interleaved (one run of each,
 * then again), so machine noise hits them alike; the table shows the median.
 * Accuracy: every reshoot run's per-pair motion is compared with the clip's
 * ground truth (max error over the frame corners and centre, px).
 *
 *   node --import tsx bench/motion-speed.ts [--frames 300] [--runs 3] [--out results/motion-speed.csv]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { fetchDatasets, getSynthPreset, synthesizeClip, type GroundTruth } from '../src/datasets/index.js';
import { decodeFrames, probeVideo, type VideoInfo } from '../src/video/index.js';
import { analyzeVideo, decompose, type MotionOptions, type Mat2x3 } from '../src/stabilize/index.js';
import { loadOpenCV } from '../src/cv/opencv.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { ffmpegSeconds } from './vidstab.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '300' },
    runs: { type: 'string', default: '3' },
    preset: { type: 'string', default: 'photo-strong-shake' },
    out: { type: 'string', default: 'results/motion-speed.csv' },
  },
});
const frames = Number(values.frames);
const runs = Number(values.runs);

/** The settings before this change (detect 300 corners on every frame, full size, 21 px window, 3 levels). */
const OLD: MotionOptions = { downscale: 1, keyframeInterval: 1, maxCorners: 300, winSize: 21, maxLevel: 3, roundTrip: 'all' };

interface Method {
  name: string;
  settings: string;
  workers?: number;
  /** Seconds, and the motions (reshoot only). */
  run(input: string, info: VideoInfo): Promise<{ seconds: number; motions?: Mat2x3[] }>;
}


const reshoot = (settings: string, motion: MotionOptions | undefined, workers: number): Method => ({
  name: `reshoot analyzeVideo`,
  settings,
  workers,
  async run(input, info) {
    const r = await analyzeVideo(input, { info, motion, workers });
    return { seconds: r.analyzeSeconds, motions: r.motions.map((m) => m.matrix) };
  },
});

const work = await mkdtemp(join(tmpdir(), 'reshoot-bench-motion-'));
const METHODS: Method[] = [
  {
    name: 'vidstabdetect',
    settings: 'shakiness=5 accuracy=15 (as bench/vidstab.ts)',
    run: async (input) => ({
      seconds: await ffmpegSeconds(['-v', 'error', '-i', input, '-vf', `vidstabdetect=shakiness=5:accuracy=15:result=${join(work, 'v.trf')}`, '-f', 'null', '-']),
    }),
  },
  {
    name: 'decode only (gray, node)',
    settings: 'decodeFrames gray, frames consumed and dropped',
    async run(input, info) {
      const started = process.hrtime.bigint();
      for await (const f of decodeFrames(input, { info, gray: true })) void f;
      return { seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    },
  },
  reshoot('old: full size, detect every frame, 300 corners, win 21, 3 levels', OLD, 1),
  reshoot('old: full size, detect every frame, 300 corners, win 21, 3 levels', OLD, 2),
  reshoot('new defaults: 320 px, keyframe every 10, 200 corners, win 11, 3 levels, round trip on new tracks', undefined, 1),
  reshoot('new defaults: 320 px, keyframe every 10, 200 corners, win 11, 3 levels, round trip on new tracks', undefined, 2),
  reshoot("new defaults, round trip on every pair (roundTrip 'all')", { roundTrip: 'all' }, 1),
  reshoot('new defaults at full size (downscale 1)', { downscale: 1 }, 1),
  reshoot('new defaults at full size (downscale 1)', { downscale: 1 }, 2),
];

/** Per pair: max over the 4 corners and the centre of |M p - truth p| (px), and |angle error| (deg). */
function accuracy(motions: Mat2x3[], gt: GroundTruth): { mean: number; p95: number; max: number; angleMeanDeg: number } {
  const W = gt.width, H = gt.height;
  const pts = [[0, 0], [W - 1, 0], [0, H - 1], [W - 1, H - 1], [(W - 1) / 2, (H - 1) / 2]];
  const errs: number[] = [];
  let angle = 0;
  for (let t = 1; t < Math.min(motions.length, gt.interframe.length); t++) {
    const m = motions[t];
    const g = gt.interframe[t].flat() as Mat2x3;
    let e = 0;
    for (const [x, y] of pts) {
      e = Math.max(e, Math.hypot(m[0] * x + m[1] * y + m[2] - (g[0] * x + g[1] * y + g[2]), m[3] * x + m[4] * y + m[5] - (g[3] * x + g[4] * y + g[5])));
    }
    errs.push(e);
    angle += Math.abs(decompose(m).angle - decompose(g).angle) * (180 / Math.PI);
  }
  const s = [...errs].sort((a, b) => a - b);
  return { mean: errs.reduce((a, b) => a + b, 0) / errs.length, p95: s[Math.floor(0.95 * (s.length - 1))], max: s[s.length - 1], angleMeanDeg: angle / errs.length };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows: Record<string, string | number>[] = [];
try {
  const spec = getSynthPreset(values.preset!, { frames });
  await fetchDatasets({ ids: [spec.source] });
  const input = join(work, `${spec.name}.mp4`);
  const gt = await synthesizeClip(spec, input);
  const info = await probeVideo(input);
  await loadOpenCV(); // the one-off wasm load is not part of a 1-worker run (workers do pay theirs: a fresh load each run)
  // warm-up: file cache, ffmpeg, tsx compile of the worker
  for (const m of [METHODS[0], METHODS[1], METHODS[METHODS.length - 1]]) await m.run(input, info);
  const seconds: number[][] = METHODS.map(() => []);
  const acc: (ReturnType<typeof accuracy> | undefined)[] = METHODS.map(() => undefined);
  const motions: (Mat2x3[] | undefined)[] = METHODS.map(() => undefined);
  for (let r = 0; r < runs; r++) {
    for (const [k, m] of METHODS.entries()) {
      const res = await m.run(input, info);
      seconds[k].push(res.seconds);
      if (res.motions) {
        acc[k] = accuracy(res.motions, gt);
        // same settings, other thread count: the motions must be identical
        const twin = METHODS.findIndex((o, j) => j !== k && o.settings === m.settings && motions[j]);
        if (twin >= 0 && JSON.stringify(motions[twin]) !== JSON.stringify(res.motions)) throw new Error(`${m.settings}: workers=${m.workers} differs from workers=${METHODS[twin].workers}`);
        motions[k] = res.motions;
      }
      process.stderr.write(`run ${r + 1}/${runs} ${m.name} ${m.settings} workers=${m.workers ?? ''}: ${(info.frameCount / res.seconds).toFixed(1)} fps\n`);
    }
  }
  const vidstabFps = info.frameCount / median(seconds[0]);
  for (const [k, m] of METHODS.entries()) {
    const fps = seconds[k].map((s) => info.frameCount / s);
    const a = acc[k];
    const f = (v: number | undefined, d: number) => (v === undefined ? '' : Number(v.toFixed(d)));
    rows.push({
      clip: `${spec.name} ${info.width}x${info.height}`,
      frames: info.frameCount,
      method: m.name,
      settings: m.settings,
      workers: m.workers ?? '',
      runs,
      fps_median: f(median(fps), 1),
      fps_min: f(Math.min(...fps), 1),
      fps_max: f(Math.max(...fps), 1),
      vs_vidstabdetect: f(median(fps) / vidstabFps, 2),
      err_mean_px: f(a?.mean, 4),
      err_p95_px: f(a?.p95, 4),
      err_max_px: f(a?.max, 4),
      angle_err_mean_deg: f(a?.angleMeanDeg, 5),
    });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const out = resolve(values.out!);
await writeFileAtomic(out, stringify(rows, { header: true }), { overwrite: true });
console.table(rows.map((r) => ({
  method: r.method, settings: r.settings, workers: r.workers, 'fps (median)': r.fps_median, 'min..max': `${r.fps_min}..${r.fps_max}`,
  'x vidstab': r.vs_vidstabdetect, 'err mean px': r.err_mean_px, 'err max px': r.err_max_px,
})));
console.log(`wrote ${out}`);
