/**
 * Stabilization benchmark: reshoot's smoothers against ffmpeg's vid.stab on the
 * synthetic shaky clips whose ground truth is known, in the same run, measured
 * by the same code (src/metrics: every output is judged from its pixels).
 *
 *   node --import tsx bench/stabilization.ts [--out results/stabilization.csv] [--cases a,b] [--frames n]
 *
 * Writes one CSV row per (case, method) and prints a table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { fetchDatasets, getSynthPreset, listSynthPresets, synthesizeClip } from '../src/datasets/index.js';
import { measureStabilization, type StabilizationReport } from '../src/metrics/index.js';
import { stabilizeVideo, type SmootherName } from '../src/stabilize/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { runVidstab } from './vidstab.js';

interface Method {
  name: string;
  run(input: string, output: string): Promise<{ analyzeSeconds: number; totalSeconds: number }>;
}

const reshoot = (smoother: SmootherName, label: string, extra: { window?: number; sigma?: number } = {}): Method => ({
  name: `reshoot ${label}`,
  async run(input, output) {
    const r = await stabilizeVideo(input, output, { smoother, border: 'zoom', ...extra, overwrite: true });
    return { analyzeSeconds: r.analyzeSeconds, totalSeconds: r.analyzeSeconds + r.renderSeconds };
  },
});

const vidstab = (smoothing: number): Method => ({
  name: `vid.stab smoothing=${smoothing}`,
  async run(input, output) {
    const r = await runVidstab(input, output, { smoothing, zoom: 0, optzoom: 1, overwrite: true });
    return { analyzeSeconds: r.detectSeconds, totalSeconds: r.detectSeconds + r.transformSeconds };
  },
});

const METHODS: Method[] = [
  vidstab(15),
  vidstab(30),
  reshoot('moving-average', 'moving-average window=30', { window: 30 }),
  reshoot('gaussian', 'gaussian sigma=15', { sigma: 15 }),
  reshoot('constrained', 'constrained'),
  reshoot('l1', 'l1'),
];

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'results/stabilization.csv' },
    cases: { type: 'string' },
    frames: { type: 'string' },
  },
});
const cases = values.cases ? values.cases.split(',') : listSynthPresets().map((p) => p.name);

const work = await mkdtemp(join(tmpdir(), 'reshoot-bench-stab-'));
const rows: Record<string, string | number>[] = [];
try {
  for (const name of cases) {
    const spec = getSynthPreset(name, values.frames ? { frames: Number(values.frames) } : {});
    await fetchDatasets({ ids: [spec.source] });
    const input = join(work, `${name}.mp4`);
    const gt = await synthesizeClip(spec, input);
    const raw = await measureStabilization(input, { input, gt });
    rows.push(row(name, 'input (no stabilization)', gt.frames, raw));
    for (const method of METHODS) {
      const output = join(work, `${name}.${method.name.replace(/[^a-z0-9]+/gi, '_')}.mp4`);
      const t = await method.run(input, output);
      const report = await measureStabilization(output, { input, gt });
      rows.push(row(name, method.name, gt.frames, report, t));
      const last = rows[rows.length - 1];
      process.stderr.write(`${name.padEnd(20)} ${method.name.padEnd(34)} residual shake ${last.residual_shake_px} px, intentional err ${last.intentional_error_px} px, min coverage ${last.coverage_min}\n`);
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

function row(
  name: string,
  method: string,
  frames: number,
  r: StabilizationReport,
  t?: { analyzeSeconds: number; totalSeconds: number },
): Record<string, string | number> {
  const f = (v: number | undefined, d = 4) => (v === undefined ? '' : Number(v.toFixed(d)));
  return {
    case: name,
    method,
    frames,
    residual_shake_px: f(r.truth?.residualShake.px),
    residual_shake_deg: f(r.truth?.residualShake.deg),
    intentional_error_px: f(r.truth?.intentionalError.px),
    intentional_error_deg: f(r.truth?.intentionalError.deg),
    jitter_px: f(r.residualJitter.px),
    jitter_deg: f(r.residualJitter.deg),
    stability_translation: f(r.stability.translation),
    stability_rotation: f(r.stability.rotation),
    stability_mean: f(r.stability.mean),
    crop_mean: f(r.cropping?.mean),
    crop_min: f(r.cropping?.min),
    coverage_min: f(r.coverage?.min),
    coverage_mean: f(r.coverage?.mean),
    distortion_min: f(r.distortion?.min),
    itf_db: f(r.itf, 2),
    analysis_fps: t ? f(frames / t.analyzeSeconds, 1) : '',
    total_fps: t ? f(frames / t.totalSeconds, 1) : '',
  };
}

const out = resolve(values.out!);
await writeFileAtomic(out, stringify(rows, { header: true }), { overwrite: true });
console.table(rows.map((r) => ({ case: r.case, method: r.method, 'shake px': r.residual_shake_px, 'intent px': r.intentional_error_px, 'jitter px': r.jitter_px, stab: r.stability_mean, 'cov min': r.coverage_min, 'anal fps': r.analysis_fps, 'tot fps': r.total_fps })));
console.log(`wrote ${out}`);
