/**
 * `reshoot segments`, `reshoot temporal`, `reshoot blend` and
 * `reshoot metrics flicker`: the segment / temporal-consistency tools, usable
 * on any generator's videos.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { flowMotionEnergy, planSegments, poseMotionEnergy, validatePlan, blendVideos, RAMP_KINDS, type RampKind, type SegmentPlan } from '../../segment/index.js';
import { measureFlicker } from '../../metrics/index.js';
import { probeVideo } from '../../video/index.js';
import type { PoseTrack } from '../../pose/types.js';
import { assertCanWrite, writeJsonAtomic } from '../../util/atomic.js';
import { ReshootError } from '../../util/errors.js';
import { withProgress } from '../progress.js';

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ReshootError(`cannot read ${what} ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ReshootError(`${what} ${path} is not valid JSON`);
  }
}

export async function readPlan(path: string): Promise<SegmentPlan> {
  return validatePlan(await readJson(resolve(path), 'segment plan'), `segment plan ${path}`);
}

export interface SegmentsCliOptions {
  out: string;
  count: number;
  overlap: number;
  minLength?: number;
  poses?: string;
  uniform?: boolean;
  strict?: boolean;
  overwrite?: boolean;
}

export async function segmentsCommand(video: string, opts: SegmentsCliOptions): Promise<void> {
  const out = resolve(opts.out);
  assertCanWrite(out, { overwrite: opts.overwrite });
  const info = await probeVideo(resolve(video));
  let energy: number[] | undefined;
  let energySource: 'pose-box-speed' | 'flow-residual' | 'none' = 'none';
  let frameCount = info.frameCount;
  if (opts.uniform) {
    energy = undefined;
  } else if (opts.poses) {
    const track = (await readJson(resolve(opts.poses), 'pose track')) as PoseTrack;
    if (!track || track.schema !== 'reshoot.poses/1' || !Array.isArray(track.frames)) {
      throw new ReshootError(`${opts.poses} is not a reshoot pose track (schema reshoot.poses/1)`);
    }
    energy = poseMotionEnergy(track, frameCount);
    energySource = 'pose-box-speed';
  } else {
    const r = await withProgress('motion', (onProgress) => flowMotionEnergy(resolve(video), { onProgress }));
    energy = r.energy;
    frameCount = r.frameCount;
    energySource = 'flow-residual';
  }
  const plan = planSegments(frameCount, energy, {
    count: opts.count,
    overlap: opts.overlap,
    minLength: opts.minLength,
    onShort: opts.strict ? 'error' : 'fewer',
    uniform: opts.uniform,
    energySource,
  });
  await writeJsonAtomic(out, { ...plan, source: { path: resolve(video), width: info.width, height: info.height, fps: info.fps } }, { overwrite: opts.overwrite });
  const lines = [
    `planned ${plan.count} segment(s) over ${plan.frameCount} frames -> ${out}`,
    `method   ${plan.method} (motion energy: ${plan.energySource})`,
    `reason   ${plan.reason}`,
    ...plan.segments.map((s) => `  ${String(s.index).padStart(2)} ${s.label.padEnd(9)} frames ${s.start}-${s.end - 1}${s.overlap ? ` (last ${s.overlap} shared with the next)` : ''}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

// `reshoot temporal` lives in temporal.ts (a light module, for start-up time); re-exported for callers of this one.
export { temporalCommand, type TemporalCliOptions } from './temporal.js';

export interface BlendCliOptions {
  plan: string;
  out: string;
  ramp: string;
  colorMatch: boolean;
  overwrite?: boolean;
}

export async function blendCommand(segments: string[], opts: BlendCliOptions): Promise<void> {
  if (!RAMP_KINDS.includes(opts.ramp as RampKind)) throw new ReshootError(`--ramp must be one of ${RAMP_KINDS.join(', ')}; got "${opts.ramp}"`);
  const out = resolve(opts.out);
  assertCanWrite(out, { overwrite: opts.overwrite });
  const plan = await readPlan(opts.plan);
  const r = await withProgress('blend', (onProgress) =>
    blendVideos(segments.map((s) => resolve(s)), plan, out, { ramp: opts.ramp as RampKind, colorMatch: opts.colorMatch, overwrite: opts.overwrite, onProgress }),
  );
  const lines = [`joined ${segments.length} segment(s) into ${r.frames} frames -> ${out}`, `ramp     ${opts.ramp}, colour matching ${opts.colorMatch ? 'on' : 'off'}`];
  for (const s of r.seams) {
    const g = s.transfer.gain.map((v) => v.toFixed(3)).join('/'), o = s.transfer.offset.map((v) => v.toFixed(1)).join('/');
    lines.push(`  seam ${s.index}: frames ${s.start}-${s.start + s.overlap - 1}${opts.colorMatch ? `, colour gain ${g} offset ${o}` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export interface FlickerCliOptions {
  input: string;
  plan?: string;
  raw?: string;
  clean?: string;
  flowScale: number;
  frames?: number;
  json?: boolean;
}

export async function metricsFlickerCommand(output: string, opts: FlickerCliOptions): Promise<void> {
  const plan = opts.plan ? await readPlan(opts.plan) : undefined;
  const report = await withProgress('measure', (onProgress) =>
    measureFlicker(resolve(output), {
      input: resolve(opts.input),
      plan,
      raw: opts.raw ? resolve(opts.raw) : undefined,
      clean: opts.clean ? resolve(opts.clean) : undefined,
      flowScale: opts.flowScale,
      maxFrames: opts.frames,
      onProgress,
    }),
  );
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    return;
  }
  const f = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const e = (v: number) => (Number.isFinite(v) ? v.toExponential(3) : 'n/a');
  const rows: [string, string][] = [
    ['frames', String(report.frames)],
    ['E_warp', `output ${e(report.eWarp.output)}, input ${e(report.eWarp.input)}, ratio ${f(report.eWarp.ratio, 3)} (mask keeps ${(100 * report.maskCoverage).toFixed(1)}%)`],
    ['tOF', `${f(report.tOF)} px`],
    [
      'temporal flickering',
      report.temporalFlickering === null
        ? `n/a (input not static: p95 motion ${f(report.inputMotion.p95, 2)} px >= ${report.inputMotion.threshold})`
        : f(report.temporalFlickering),
    ],
  ];
  for (const s of report.seams ?? []) {
    rows.push([`seam ${s.index} (frame ${s.start})`, `score ${f(s.score, 3)}, colour jump ${s.colorJump.map((v) => v.toFixed(1)).join('/')} levels`]);
  }
  if (report.fidelity.raw) rows.push(['vs raw', `PSNR ${f(report.fidelity.raw.psnr, 2)} dB, SSIM ${f(report.fidelity.raw.ssim)}`]);
  if (report.fidelity.clean) rows.push(['vs clean', `PSNR ${f(report.fidelity.clean.psnr, 2)} dB, SSIM ${f(report.fidelity.clean.ssim)}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`);
}
