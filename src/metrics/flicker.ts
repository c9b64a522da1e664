/**
 * Temporal consistency and flicker metrics, as defined on
 * ../shared/docs/metrics.md ("Temporal consistency and flicker"):
 *
 * - E_warp (Lai et al. 2018): flow on the INPUT between t and t+1 (Farneback),
 *   non-occlusion mask by the forward-backward and motion-boundary checks,
 *   E_pair(t) = sum_i M_i ||O_t(i) - warp(O_{t+1})(i)||^2 / sum_i M_i with
 *   RGB in [0, 1], E_warp = mean over t; reported for the output, the input
 *   (the floor from flow error) and their ratio.
 * - tOF (TecoGAN): mean over pixels and pairs of
 *   ||flow(O_{t-1}, O_t) - flow(I_{t-1}, I_t)||, Farneback (0.5, 3, 15, 3, 5, 1.2).
 * - Temporal flickering (VBench): (255 - mean_t MAE(O_t, O_{t+1})) / 255,
 *   reported only when the input is a static shot (else null).
 * - Seam score per segment boundary: mean E_pair over the pairs that touch the
 *   overlap, divided by the median E_pair inside the two neighbouring
 *   segments, plus the per-channel mean-colour jump across the boundary
 *   (output's change minus the input's change over the same frames).
 * - Fidelity: PSNR and SSIM against the generator's raw output and against
 *   clean frames, when given.
 *
 * Everything streams: a few frames are held, never the video.
 */
import type { Mat } from '@techstark/opencv-js';
import { loadOpenCV } from '../cv/opencv.js';
import { denseFlow, FARNEBACK_DEFAULTS, flowSize, nonOcclusionMask, resizeFlow, resizeGray, rgbToGray, warpByFlow, type FlowField } from '../flow/index.js';
import { decodeFrames, probeVideo, type Frame, type GrayFrame, type ProgressFn } from '../video/index.js';
import type { SegmentPlan } from '../segment/plan.js';
import { ReshootError } from '../util/errors.js';

// ---------------------------------------------------------------- per-pair pieces

/**
 * E_pair between O_t and O_{t+1}: `flow` is the input's flow t -> t+1 at
 * full size (O_{t+1} is warped back onto t with it), `mask` the
 * non-occlusion mask in t's grid. Pixel values in [0, 1], squared RGB
 * distance, averaged over unmasked pixels (NaN when every pixel is masked).
 */
export async function warpPairError(ot: Frame, ot1: Frame, flow: FlowField, mask: Uint8Array): Promise<number> {
  const warped = await warpByFlow(ot1, flow);
  return maskedSquaredError(ot, warped, mask);
}

/** sum_i M_i ||a(i) - b(i)||^2 / sum_i M_i with values scaled to [0, 1]. */
export function maskedSquaredError(a: Frame, b: Frame, mask: Uint8Array): number {
  const A = a.data, B = b.data;
  let s = 0, n = 0;
  for (let i = 0, j = 0; i < mask.length; i++, j += 3) {
    if (!mask[i]) continue;
    const d0 = A[j] - B[j], d1 = A[j + 1] - B[j + 1], d2 = A[j + 2] - B[j + 2];
    s += d0 * d0 + d1 * d1 + d2 * d2;
    n++;
  }
  return n ? s / n / (255 * 255) : NaN;
}

/** Mean absolute difference over pixels and channels, 8-bit levels. */
export function meanAbsDiff(a: Frame | GrayFrame, b: Frame | GrayFrame): number {
  if (a.data.length !== b.data.length) throw new ReshootError('mean absolute difference of frames of different sizes');
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

/** Mean end-point distance between two flow fields of the same size. */
export function meanFlowDistance(a: FlowField, b: FlowField): number {
  if (a.data.length !== b.data.length) throw new ReshootError('flow fields of different sizes');
  let s = 0;
  for (let i = 0; i < a.data.length; i += 2) s += Math.hypot(a.data[i] - b.data[i], a.data[i + 1] - b.data[i + 1]);
  return s / (a.data.length / 2);
}

/** PSNR in dB over all pixels and channels, peak 255; Infinity for identical frames. */
export function psnr(a: Frame | GrayFrame, b: Frame | GrayFrame): number {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) throw new ReshootError('PSNR of frames of different sizes');
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    s += d * d;
  }
  const mse = s / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/**
 * SSIM (Wang et al. 2004): Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03,
 * L 255, per channel, averaged over channels and over the pixels whose
 * window lies inside the image (MATLAB's 'valid' filtering); images smaller
 * than the window are averaged over all pixels with reflected borders.
 */
export async function ssim(a: Frame | GrayFrame, b: Frame | GrayFrame): Promise<number> {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) throw new ReshootError('SSIM of frames of different sizes');
  const cv = await loadOpenCV();
  const { width: w, height: h } = a;
  const ch = a.data.length / (w * h);
  // Double precision: E[x^2] - E[x]^2 loses too much in float32 at 8-bit magnitudes.
  const type = ch === 3 ? cv.CV_64FC3 : cv.CV_64FC1;
  const mats: Mat[] = [];
  const mat = (data?: Float64Array): Mat => {
    const m = new cv.Mat(h, w, type);
    mats.push(m);
    if (data) (m.data64F as Float64Array).set(data);
    return m;
  };
  try {
    const x = Float64Array.from(a.data), y = Float64Array.from(b.data);
    const xx = new Float64Array(x.length), yy = new Float64Array(x.length), xy = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      xx[i] = x[i] * x[i];
      yy[i] = y[i] * y[i];
      xy[i] = x[i] * y[i];
    }
    const ksize = new cv.Size(11, 11);
    const blur = (src: Float64Array): Float64Array => {
      const s = mat(src), d = mat();
      cv.GaussianBlur(s, d, ksize, 1.5, 1.5, cv.BORDER_REFLECT);
      return new Float64Array(d.data64F as Float64Array);
    };
    const mx = blur(x), my = blur(y), sxx = blur(xx), syy = blur(yy), sxy = blur(xy);
    const C1 = (0.01 * 255) ** 2, C2 = (0.03 * 255) ** 2;
    const r = 5;
    const valid = w > 2 * r && h > 2 * r;
    let s = 0, n = 0;
    for (let yy0 = valid ? r : 0; yy0 < (valid ? h - r : h); yy0++) {
      for (let xx0 = valid ? r : 0; xx0 < (valid ? w - r : w); xx0++) {
        for (let c = 0; c < ch; c++) {
          const i = (yy0 * w + xx0) * ch + c;
          const m1 = mx[i], m2 = my[i];
          const v1 = sxx[i] - m1 * m1, v2 = syy[i] - m2 * m2, cov = sxy[i] - m1 * m2;
          s += ((2 * m1 * m2 + C1) * (2 * cov + C2)) / ((m1 * m1 + m2 * m2 + C1) * (v1 + v2 + C2));
          n++;
        }
      }
    }
    return s / n;
  } finally {
    for (const m of mats) m.delete();
  }
}

// ---------------------------------------------------------------- report

export interface SeamScore {
  /** Seam between segment `index` and `index + 1`; the overlap starts at frame `start`. */
  index: number;
  start: number;
  overlap: number;
  /** Mean E_pair over the pairs touching the overlap (t = start-1 .. start+overlap-1). */
  boundaryEPair: number;
  /** Median E_pair inside the two neighbouring segments (away from any overlap). */
  insideEPair: number;
  /** boundaryEPair / insideEPair: 1 = invisible seam. */
  score: number;
  /** Per-channel mean-colour change of the output across the boundary (3 frames before the overlap -> 3 frames after it) minus the input's, 8-bit levels. */
  colorJump: [number, number, number];
  /** Largest |colorJump| over channels. */
  colorJumpMax: number;
}

export interface FidelityScore {
  /** Mean PSNR over frames, dB; identical frames count as 100 dB (not Infinity) so the mean stays finite. */
  psnr: number;
  ssim: number;
}

export interface FlickerReport {
  frames: number;
  /** Flow settings used for E_warp and tOF. */
  flow: { method: 'farneback'; params: typeof FARNEBACK_DEFAULTS; scale: number };
  eWarp: { output: number; input: number; ratio: number };
  /** E_pair(t) for t = 0 .. frames-2, output and input. */
  ePair: { output: number[]; input: number[] };
  /** Mean fraction of pixels the occlusion mask keeps. */
  maskCoverage: number;
  tOF: number;
  /** VBench temporal flickering of the output; null when the input is not a static shot. */
  temporalFlickering: number | null;
  /** Mean over pairs of the 95th-percentile input flow magnitude (full-size px) and the static verdict it gives. */
  inputMotion: { p95: number; static: boolean; threshold: number };
  seams: SeamScore[] | null;
  fidelity: { raw: FidelityScore | null; clean: FidelityScore | null };
}

export interface FlickerOptions {
  /** Segment plan whose seams are scored. */
  plan?: SegmentPlan;
  /** Flow (for E_warp, tOF and the static check) at this fraction of the size, upsampled. Default 1 (the definition). */
  flowScale?: number;
  /** A shot is static when the mean 95th-percentile input flow magnitude is below this, px. Default 0.5. */
  staticThreshold?: number;
  /** Also compute SSIM (slower). Default true. */
  ssim?: boolean;
  /** Also compute tOF (one more flow per pair, on the output). Default true; false reports NaN. */
  tof?: boolean;
  /**
   * The input's flows, shared by several meters that measure outputs of the SAME input frames
   * (notebooks comparing variants): the first meter fills it, the others reuse its pairs.
   */
  inputFlows?: InputFlowCache;
}

/** What one input pair (t, t+1) costs to measure: its flow, the non-occlusion mask and derived numbers. */
interface InputPair {
  fwd: FlowField;
  mask: Uint8Array;
  coverage: number;
  ePairIn: number;
  p95: number;
}

/**
 * The input clip's flows pair by pair, for FlickerMeter's `inputFlows` option. It belongs to one
 * input (the frame objects themselves) at one flow scale: a meter given other frames is refused.
 */
export class InputFlowCache {
  private readonly pairs = new Map<number, InputPair>();
  private readonly frames: Frame[] = [];
  private scale: number | undefined;

  /** @internal The cached pair (t, t+1), after checking the frames are the ones it was made from. */
  pair(t: number, prev: Frame, next: Frame, scale: number): InputPair | undefined {
    if (this.scale === undefined) this.scale = scale;
    if (scale !== this.scale) throw new ReshootError(`this input flow cache was filled at flow scale ${this.scale}, not ${scale}`);
    for (const [i, f] of [[t, prev], [t + 1, next]] as const) {
      const known = this.frames[i];
      if (known === undefined) this.frames[i] = f;
      else if (known !== f) throw new ReshootError(`input frame ${i} is not the frame this input flow cache was filled from`);
    }
    return this.pairs.get(t);
  }

  /** @internal */
  store(t: number, p: InputPair): void {
    this.pairs.set(t, p);
  }
}

function median(xs: number[]): number {
  const s = xs.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mean(xs: number[]): number {
  const s = xs.filter((v) => Number.isFinite(v));
  return s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
}

function meanColor(f: Frame): [number, number, number] {
  const s = [0, 0, 0];
  for (let i = 0; i < f.data.length; i += 3) {
    s[0] += f.data[i];
    s[1] += f.data[i + 1];
    s[2] += f.data[i + 2];
  }
  const n = f.data.length / 3;
  return [s[0] / n, s[1] / n, s[2] / n];
}

function p95Magnitude(flow: FlowField): number {
  const n = flow.width * flow.height;
  const step = Math.max(1, Math.floor(n / 20000));
  const m: number[] = [];
  for (let i = 0; i < n; i += step) m.push(Math.hypot(flow.data[2 * i], flow.data[2 * i + 1]));
  m.sort((a, b) => a - b);
  return m[Math.min(m.length - 1, Math.floor(0.95 * (m.length - 1)))];
}

/** Frames averaged on each side of a seam for the colour jump (per-frame flicker would otherwise dominate it). */
export const SEAM_COLOR_FRAMES = 3;

/**
 * Seam scores from per-pair E_pair values and per-frame mean colours. The
 * boundary E_pair is the MEAN over the pairs touching the overlap (t =
 * start-1 .. start+overlap-1: a hard cut is the single pair start-1; a
 * cross-fade spreads the change over overlap+1 pairs); the inside value is
 * the median over the other pairs of the two segments. The colour jump is
 * the change of the output's mean colour from the SEAM_COLOR_FRAMES frames
 * before the window to those after it, minus the input's change over the
 * same frames (so real scene changes do not count).
 */
export function seamScores(plan: SegmentPlan, ePairOut: number[], colorsOut: [number, number, number][], colorsIn: [number, number, number][]): SeamScore[] {
  const n = colorsOut.length;
  const segs = plan.segments;
  // Pairs (t, t+1) that touch an overlap window, for every seam.
  const near = new Set<number>();
  const windows = segs.slice(0, -1).map((s, k) => {
    const b = segs[k + 1].start, ov = s.overlap;
    const ts: number[] = [];
    for (let t = Math.max(0, b - 1); t <= Math.min(n - 2, b + ov - 1); t++) {
      ts.push(t);
      near.add(t);
    }
    return { b, ov, ts };
  });
  const avgColor = (colors: [number, number, number][], from: number, to: number, c: number): number => {
    let s = 0, m = 0;
    for (let i = Math.max(0, from); i <= Math.min(n - 1, to); i++, m++) s += colors[i][c];
    return s / m;
  };
  return windows.map(({ b, ov, ts }, k) => {
    const inside: number[] = [];
    for (let t = segs[k].start; t < segs[k + 1].end - 1 && t < n - 1; t++) if (!near.has(t)) inside.push(ePairOut[t]);
    const boundary = mean(ts.map((t) => ePairOut[t]));
    const ins = median(inside);
    const before = [b - SEAM_COLOR_FRAMES, b - 1] as const, after = [b + ov, b + ov + SEAM_COLOR_FRAMES - 1] as const;
    const jump = [0, 1, 2].map(
      (c) => avgColor(colorsOut, ...after, c) - avgColor(colorsOut, ...before, c) - (avgColor(colorsIn, ...after, c) - avgColor(colorsIn, ...before, c)),
    ) as [number, number, number];
    return {
      index: k,
      start: b,
      overlap: ov,
      boundaryEPair: boundary,
      insideEPair: ins,
      score: boundary / ins,
      colorJump: jump,
      colorJumpMax: Math.max(...jump.map(Math.abs)),
    };
  });
}

/**
 * Streaming flicker measurement: push (output, input[, raw][, clean]) frame
 * by frame, then report(). Holds the previous output and input.
 */
export class FlickerMeter {
  private readonly opts: FlickerOptions;
  private prevOut?: Frame;
  private prevIn?: Frame;
  private prevInGray?: GrayFrame;
  private prevOutGray?: GrayFrame;
  private readonly ePairOut: number[] = [];
  private readonly ePairIn: number[] = [];
  private readonly coverage: number[] = [];
  private readonly tof: number[] = [];
  private readonly mae: number[] = [];
  private readonly motion: number[] = [];
  private readonly colorsOut: [number, number, number][] = [];
  private readonly colorsIn: [number, number, number][] = [];
  private readonly fid = { raw: { psnr: [] as number[], ssim: [] as number[] }, clean: { psnr: [] as number[], ssim: [] as number[] } };
  private count = 0;

  constructor(opts: FlickerOptions = {}) {
    this.opts = opts;
    flowSize(64, 64, opts.flowScale ?? 1);
  }

  async push(output: Frame, input: Frame, refs: { raw?: Frame; clean?: Frame } = {}): Promise<void> {
    const { width: W, height: H } = output;
    if (input.width !== W || input.height !== H) throw new ReshootError(`output frame ${this.count} is ${W}x${H} but the input is ${input.width}x${input.height}`);
    const fs = flowSize(W, H, this.opts.flowScale ?? 1);
    const inGray = await resizeGray(rgbToGray(input), fs.width, fs.height);
    const outGray = await resizeGray(rgbToGray(output), fs.width, fs.height);
    if (this.prevOut && this.prevIn && this.prevInGray && this.prevOutGray) {
      const t = this.count - 1;
      const cache = this.opts.inputFlows;
      let pair = cache?.pair(t, this.prevIn, input, this.opts.flowScale ?? 1);
      if (!pair) {
        const fwd = await resizeFlow(await denseFlow(this.prevInGray, inGray, FARNEBACK_DEFAULTS), W, H);
        const bwd = await resizeFlow(await denseFlow(inGray, this.prevInGray, FARNEBACK_DEFAULTS), W, H);
        const mask = nonOcclusionMask(fwd, bwd);
        let kept = 0;
        for (let i = 0; i < mask.length; i++) kept += mask[i];
        pair = { fwd, mask, coverage: kept / mask.length, ePairIn: await warpPairError(this.prevIn, input, fwd, mask), p95: p95Magnitude(fwd) };
        cache?.store(t, pair);
      }
      const { fwd, mask } = pair;
      this.coverage.push(pair.coverage);
      this.ePairOut.push(await warpPairError(this.prevOut, output, fwd, mask));
      this.ePairIn.push(pair.ePairIn);
      if (this.opts.tof ?? true) {
        const outFlow = await resizeFlow(await denseFlow(this.prevOutGray, outGray, FARNEBACK_DEFAULTS), W, H);
        this.tof.push(meanFlowDistance(outFlow, fwd));
      }
      this.mae.push(meanAbsDiff(this.prevOut, output));
      this.motion.push(pair.p95);
    }
    this.colorsOut.push(meanColor(output));
    this.colorsIn.push(meanColor(input));
    const withSsim = this.opts.ssim ?? true;
    for (const key of ['raw', 'clean'] as const) {
      const r = refs[key];
      if (!r) continue;
      this.fid[key].psnr.push(psnr(output, r));
      if (withSsim) this.fid[key].ssim.push(await ssim(output, r));
    }
    this.prevOut = output;
    this.prevIn = input;
    this.prevInGray = inGray;
    this.prevOutGray = outGray;
    this.count++;
  }

  report(): FlickerReport {
    if (this.count < 2) throw new ReshootError(`flicker metrics need at least 2 frames (got ${this.count})`);
    const eOut = mean(this.ePairOut), eIn = mean(this.ePairIn);
    const threshold = this.opts.staticThreshold ?? 0.5;
    const p95 = mean(this.motion);
    const isStatic = p95 < threshold;
    const maeMean = mean(this.mae);
    const fidelity = (k: 'raw' | 'clean'): FidelityScore | null => {
      const f = this.fid[k];
      if (!f.psnr.length) return null;
      if (f.psnr.length !== this.count) throw new ReshootError(`${k} reference frames were given for ${f.psnr.length} of ${this.count} frames`);
      return { psnr: mean(f.psnr.map((v) => (Number.isFinite(v) ? v : 100))), ssim: f.ssim.length ? mean(f.ssim) : NaN };
    };
    const plan = this.opts.plan;
    if (plan && plan.frameCount !== this.count) throw new ReshootError(`the plan covers ${plan.frameCount} frames but the video has ${this.count}`);
    return {
      frames: this.count,
      flow: { method: 'farneback', params: FARNEBACK_DEFAULTS, scale: this.opts.flowScale ?? 1 },
      eWarp: { output: eOut, input: eIn, ratio: eOut / eIn },
      ePair: { output: [...this.ePairOut], input: [...this.ePairIn] },
      maskCoverage: mean(this.coverage),
      tOF: mean(this.tof),
      temporalFlickering: isStatic ? (255 - maeMean) / 255 : null,
      inputMotion: { p95, static: isStatic, threshold },
      seams: plan && plan.segments.length > 1 ? seamScores(plan, this.ePairOut, this.colorsOut, this.colorsIn) : null,
      fidelity: { raw: fidelity('raw'), clean: fidelity('clean') },
    };
  }
}

/** Measures in-memory frames (tests, notebooks). */
export async function measureFlickerFrames(
  output: Frame[],
  input: Frame[],
  opts: FlickerOptions & { raw?: Frame[]; clean?: Frame[] } = {},
): Promise<FlickerReport> {
  if (output.length !== input.length) throw new ReshootError(`output has ${output.length} frames, input ${input.length}`);
  const m = new FlickerMeter(opts);
  for (let i = 0; i < output.length; i++) await m.push(output[i], input[i], { raw: opts.raw?.[i], clean: opts.clean?.[i] });
  return m.report();
}

/**
 * Measures video files frame for frame: `output` against its `input` (the
 * guide the output was made from), optionally the generator's raw output and
 * clean frames for fidelity. All clips must have the same size and length.
 */
export async function measureFlicker(
  output: string,
  opts: FlickerOptions & { input: string; raw?: string; clean?: string; maxFrames?: number; onProgress?: ProgressFn },
): Promise<FlickerReport> {
  const paths = { output, input: opts.input, raw: opts.raw, clean: opts.clean };
  const infos = Object.fromEntries(
    await Promise.all(Object.entries(paths).filter(([, p]) => p).map(async ([k, p]) => [k, await probeVideo(p!)] as const)),
  );
  const o = infos.output;
  for (const [k, info] of Object.entries(infos)) {
    if (info.width !== o.width || info.height !== o.height || info.frameCount !== o.frameCount) {
      throw new ReshootError(`${paths[k as keyof typeof paths]} (${info.width}x${info.height}, ${info.frameCount} frames) does not match ${output} (${o.width}x${o.height}, ${o.frameCount} frames)`);
    }
  }
  const count = opts.maxFrames;
  const streams = Object.fromEntries(Object.keys(infos).map((k) => [k, decodeFrames(paths[k as keyof typeof paths]!, { info: infos[k], count })]));
  const meter = new FlickerMeter(opts);
  let done = 0;
  try {
    for (;;) {
      const next = Object.fromEntries(await Promise.all(Object.entries(streams).map(async ([k, s]) => [k, await s.next()] as const)));
      if (next.output.done || Object.values(next).some((r) => r.done)) break;
      await meter.push(next.output.value as Frame, next.input.value as Frame, { raw: next.raw?.value as Frame | undefined, clean: next.clean?.value as Frame | undefined });
      opts.onProgress?.(++done, count ?? o.frameCount);
    }
  } finally {
    await Promise.all(Object.values(streams).map((s) => s.return(undefined)));
  }
  return meter.report();
}
