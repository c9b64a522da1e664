import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { stabilizeVideo, reshakeVideo, type BorderPolicy, type SmootherName } from '../../stabilize/index.js';
import { ReshootError } from '../../util/errors.js';
import { measureStabilization } from '../../metrics/index.js';
import { readGroundTruth, type GroundTruth } from '../../datasets/index.js';
import { progressBar, withProgress } from '../progress.js';

export interface StabilizeCliOptions {
  out: string;
  transforms?: string;
  smoother: string;
  window: number;
  maxCropZoom: number;
  sigma: number;
  border: string;
  zoom?: number;
  workers: number;
  motionModel: string;
  overwrite?: boolean;
}

const SMOOTHERS = ['l1', 'moving-average', 'gaussian', 'constrained'];
const BORDERS = ['zoom', 'adaptive', 'fill'];
const MOTION_MODELS = ['similarity', 'homography', 'auto'];

function oneOf(name: string, value: string, allowed: string[]): void {
  if (!allowed.includes(value)) throw new ReshootError(`--${name} must be one of ${allowed.join(', ')}; got "${value}"`);
}

export async function stabilizeCommand(input: string, opts: StabilizeCliOptions): Promise<void> {
  oneOf('smoother', opts.smoother, SMOOTHERS);
  oneOf('border', opts.border, BORDERS);
  oneOf('motion-model', opts.motionModel, MOTION_MODELS);
  if (!(opts.window >= 1)) throw new ReshootError(`--window must be at least 1 frame; got ${opts.window}`);
  if (!(opts.workers >= 1)) throw new ReshootError(`--workers must be at least 1; got ${opts.workers}`);
  const analyze = progressBar('analyze');
  const render = progressBar('render');
  // The video and transforms.json are a pair: if the second cannot be written, the first is removed
  // again (when this run created it), so a failure never leaves half a result.
  const outPath = resolve(opts.out);
  const hadOutput = existsSync(outPath);
  let result;
  try {
    result = await stabilizeVideo(resolve(input), resolve(opts.out), {
      transformsPath: opts.transforms ? resolve(opts.transforms) : undefined,
      smoother: opts.smoother as SmootherName,
      window: opts.window,
      maxCropZoom: opts.maxCropZoom,
      sigma: opts.sigma,
      border: opts.border as BorderPolicy,
      zoom: opts.zoom,
      workers: opts.workers,
      motion: { motionModel: opts.motionModel as 'similarity' | 'homography' | 'auto' },
      overwrite: opts.overwrite,
      onAnalyzeProgress: analyze.update,
      onRenderProgress: (d, t) => {
        analyze.stop();
        render.update(d, t);
      },
    });
  } catch (err) {
    if (!hadOutput) rmSync(outPath, { force: true });
    throw err;
  } finally {
    analyze.stop();
    render.stop();
  }
  const n = result.transforms.frames.length;
  const fallbacks = result.transforms.frames.filter((f) => f.fallback).length;
  const zoom = result.transforms.crop.zoom;
  const zoomText = typeof zoom === 'number' ? zoom.toFixed(4) : `${Math.min(...zoom).toFixed(4)}..${Math.max(...zoom).toFixed(4)} (adaptive)`;
  const lines = [
    `stabilized ${n} frames -> ${resolve(opts.out)}`,
    `smoother   ${opts.smoother}${opts.smoother === 'moving-average' ? ` (window ${opts.window})` : opts.smoother === 'gaussian' ? ` (sigma ${opts.sigma})` : ` (crop budget ${opts.maxCropZoom})`}`,
    `border     ${opts.border}; zoom ${zoomText}${result.transforms.crop.limited ? ' (limited: some frames keep a border)' : ''}`,
    `motion     ${fallbacks === 0 ? 'estimated on every frame' : `${fallbacks} frame(s) had too few reliable points: no motion assumed there`}`,
    `speed      analysis ${(n / result.analyzeSeconds).toFixed(1)} fps, total ${(n / (result.analyzeSeconds + result.renderSeconds)).toFixed(1)} fps`,
  ];
  if (opts.transforms) lines.push(`transforms ${resolve(opts.transforms)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function reshakeCommand(input: string, opts: { transforms: string; out: string; overwrite?: boolean }): Promise<void> {
  const r = await withProgress('reshake', (onProgress) =>
    reshakeVideo(resolve(input), resolve(opts.transforms), resolve(opts.out), { overwrite: opts.overwrite, onProgress }),
  );
  process.stdout.write(`re-shook ${r.frames} frames -> ${resolve(opts.out)}\n`);
}


export async function metricsStabilizationCommand(video: string, opts: { gt?: string; input?: string; json?: boolean }): Promise<void> {
  let gt: GroundTruth | undefined;
  let input = opts.input ? resolve(opts.input) : undefined;
  if (opts.gt) {
    gt = await readGroundTruth(resolve(opts.gt));
    // The synthesized clip sits next to its ground truth (X.gt.json <-> X.mp4).
    input ??= resolve(opts.gt).replace(/\.gt\.json$/, '.mp4');
  }
  const report = await withProgress('measure', (onProgress) => measureStabilization(resolve(video), { input, gt, onProgress }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const f = (v: number, d = 3) => v.toFixed(d);
  const rows: [string, string][] = [
    ['frames', `${report.frames}${report.fallbackFrames ? ` (${report.fallbackFrames} without reliable motion)` : ''}`],
    ['residual jitter', `${f(report.residualJitter.px)} px, ${f(report.residualJitter.deg)} deg`],
    ['stability', `translation ${f(report.stability.translation)}, rotation ${f(report.stability.rotation)}, mean ${f(report.stability.mean)}`],
    ['ITF', `${f(report.itf, 2)} dB`],
  ];
  if (report.cropping) rows.push(['cropping ratio', `mean ${f(report.cropping.mean)}, min ${f(report.cropping.min)}`]);
  if (report.coverage) rows.push(['coverage', `mean ${f(report.coverage.mean)}, min ${f(report.coverage.min)}`]);
  if (report.distortion) rows.push(['distortion', `min ${f(report.distortion.min)}`]);
  if (report.truth) {
    rows.push(['residual shake (gt)', `${f(report.truth.residualShake.px)} px, ${f(report.truth.residualShake.deg)} deg`]);
    rows.push(['intentional error (gt)', `${f(report.truth.intentionalError.px)} px, ${f(report.truth.intentionalError.deg)} deg`]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`);
}
