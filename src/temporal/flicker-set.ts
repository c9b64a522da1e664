/**
 * A flicker benchmark with ground truth: four kinds of generator-like
 * perturbation applied to clean clips (issue 16), and the scores the issue's
 * table uses. The clean clip is the truth; the guide (input) is the clean clip.
 *
 * Kinds, all re-drawn every frame from a seeded generator:
 * - A: global flicker: per-channel gain and offset, v' = g_c (v - 128) + 128 + o_c.
 * - B: boiling: smooth colour blotches about 40 px across (a random grid of
 *      spacing 20 px, bicubic-upsampled), per channel.
 * - C: fine texture noise, Gaussian per pixel and channel, stronger on
 *      textured areas (sigma grows with the clean frame's gradient).
 * - D: the frame jittered by a sub-pixel shift, then 0.7 x (A + B + C).
 *
 * Scores (per clip and kind):
 * - eRatio: E_warp(output) / E_warp(clean), E_warp as in src/metrics (flow
 *   on the clean clip, occlusion mask, mean squared RGB error in [0, 1]).
 * - psnr: mean over frames against the clean frame.
 * - grad: sum of |grad luma| of the output over moving pixels (clean flow
 *   magnitude >= 1 px) / the same for the clean clip; below 1 means blur.
 * - edge: the same ratio over the moving pixels that are edges of the clean
 *   frame (|grad luma| >= 20 levels/px).
 */
import { loadOpenCV } from '../cv/opencv.js';
import { shiftFrame } from './separated.js';
import { denseFlow, FARNEBACK_DEFAULTS, gradientMagnitude, nonOcclusionMask, rgbToGray, rgbToLuma, warpByFlow, type FlowField } from '../flow/index.js';

export { gradientMagnitude };
import { maskedSquaredError, psnr } from '../metrics/flicker.js';
import { deriveSeed, gaussian, mulberry32 } from '../util/rng.js';
import { ReshootError } from '../util/errors.js';
import type { Frame } from '../video/types.js';

export type FlickerKind = 'A' | 'B' | 'C' | 'D';
export const FLICKER_KINDS: readonly FlickerKind[] = Object.freeze(['A', 'B', 'C', 'D'] as FlickerKind[]);

/** Amplitudes of the perturbations (8-bit levels unless said). */
export interface PerturbationLevels {
  /** A: standard deviation of the common gain (fraction) and of each channel's extra gain. */
  gainSd: number;
  channelGainSd: number;
  /** A: standard deviation of the common offset and of each channel's extra offset. */
  offsetSd: number;
  channelOffsetSd: number;
  /** B: standard deviation of the blotch grid values; grid spacing px. */
  blotchSd: number;
  blotchSpacing: number;
  /** C: noise sigma on flat areas, and the extra sigma at strong texture (clean gradient >= 40 levels/px). */
  noiseFlat: number;
  noiseTexture: number;
  /** D: largest jitter, px (uniform in [-j, j] on each axis); and the factor on A + B + C. */
  jitter: number;
  mixFactor: number;
}

export const PERTURBATION_DEFAULTS: Readonly<PerturbationLevels> = Object.freeze({
  gainSd: 0.06,
  channelGainSd: 0.03,
  offsetSd: 8,
  channelOffsetSd: 3,
  blotchSd: 10,
  blotchSpacing: 20,
  noiseFlat: 3,
  noiseTexture: 9,
  jitter: 0.5,
  mixFactor: 0.7,
});

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Per-frame A delta: the change g (v - 128) + 128 + o - v for every value. */
function deltaA(f: Frame, rnd: () => number, L: PerturbationLevels): Float32Array {
  const common = 1 + L.gainSd * rnd(), off = L.offsetSd * rnd();
  const gain = [0, 1, 2].map(() => common * (1 + L.channelGainSd * rnd()));
  const offset = [0, 1, 2].map(() => off + L.channelOffsetSd * rnd());
  const d = new Float32Array(f.data.length);
  for (let j = 0; j < d.length; j += 3) {
    for (let c = 0; c < 3; c++) {
      const v = f.data[j + c];
      d[j + c] = gain[c] * (v - 128) + 128 + offset[c] - v;
    }
  }
  return d;
}

async function deltaB(w: number, h: number, rnd: () => number, L: PerturbationLevels): Promise<Float32Array> {
  const cv = await loadOpenCV();
  const gw = Math.ceil(w / L.blotchSpacing) + 1, gh = Math.ceil(h / L.blotchSpacing) + 1;
  const grid = new cv.Mat(gh, gw, cv.CV_32FC3);
  const up = new cv.Mat();
  try {
    const g = grid.data32F as Float32Array;
    for (let i = 0; i < g.length; i++) g[i] = L.blotchSd * rnd();
    cv.resize(grid, up, new cv.Size(gw * L.blotchSpacing, gh * L.blotchSpacing), 0, 0, cv.INTER_CUBIC);
    const U = up.data32F as Float32Array, uw = gw * L.blotchSpacing;
    const d = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = U[(y * uw + x) * 3 + c];
    return d;
  } finally {
    grid.delete();
    up.delete();
  }
}


function deltaC(f: Frame, rnd: () => number, L: PerturbationLevels): Float32Array {
  const grad = gradientMagnitude(f);
  const d = new Float32Array(f.data.length);
  for (let i = 0, j = 0; i < grad.length; i++, j += 3) {
    const sigma = L.noiseFlat + L.noiseTexture * Math.min(1, grad[i] / 40);
    d[j] = sigma * rnd();
    d[j + 1] = sigma * rnd();
    d[j + 2] = sigma * rnd();
  }
  return d;
}

/** out(x) = f(x - (dx, dy)): the content moves by (dx, dy) (separated.ts shiftFrame samples the other way). */
function shift(f: Frame, dx: number, dy: number): Promise<Frame> {
  return shiftFrame(f, -dx, -dy);
}

/**
 * The clean clip with one kind of flicker applied; deterministic for a seed.
 * Every frame gets fresh random values (a frame-independent generator).
 */
export async function perturbClip(clean: Frame[], kind: FlickerKind, seed: number, levels: Partial<PerturbationLevels> = {}): Promise<Frame[]> {
  if (!FLICKER_KINDS.includes(kind)) throw new ReshootError(`flicker kind must be one of ${FLICKER_KINDS.join(', ')}, got '${String(kind)}'`);
  const L = { ...PERTURBATION_DEFAULTS, ...levels };
  const out: Frame[] = [];
  for (const [t, f] of clean.entries()) {
    const rnd = gaussian(mulberry32(deriveSeed(seed, t * 4 + FLICKER_KINDS.indexOf(kind))));
    let base = f;
    let factor = 1;
    const parts: Float32Array[] = [];
    if (kind === 'D') {
      const u = mulberry32(deriveSeed(seed, 100000 + t));
      base = await shift(f, (2 * u() - 1) * L.jitter, (2 * u() - 1) * L.jitter);
      factor = L.mixFactor;
    }
    if (kind === 'A' || kind === 'D') parts.push(deltaA(base, rnd, L));
    if (kind === 'B' || kind === 'D') parts.push(await deltaB(f.width, f.height, rnd, L));
    if (kind === 'C' || kind === 'D') parts.push(deltaC(base, rnd, L));
    const data = new Uint8Array(base.data.length);
    for (let i = 0; i < data.length; i++) {
      let s = 0;
      for (const p of parts) s += p[i];
      data[i] = clampByte(base.data[i] + factor * s);
    }
    out.push({ width: f.width, height: f.height, data });
  }
  return out;
}

/** What scoring needs from a clean clip, computed once: flows, masks, the clean E_warp and the moving / edge pixels. */
export interface FlickerTruth {
  clean: Frame[];
  /** Flow t -> t+1 on the clean clip (full size, Farneback defaults) and its non-occlusion mask, for t = 0 .. n-2. */
  flows: FlowField[];
  masks: Uint8Array[];
  eClean: number;
  /** Per frame t = 1 .. n-1 (index t): moving pixels (|flow t-1 -> t| >= 1 px, sampled at t) and moving edge pixels; index 0 empty. */
  moving: Uint8Array[];
  edges: Uint8Array[];
  /** Per frame: clean gradient magnitude. */
  grads: Float32Array[];
}

function eWarp(frames: Frame[], flows: FlowField[], masks: Uint8Array[]): Promise<number> {
  return (async () => {
    let s = 0, n = 0;
    for (let t = 0; t < flows.length; t++) {
      const warped = await warpByFlow(frames[t + 1], flows[t]);
      const e = maskedSquaredError(frames[t], warped, masks[t]);
      if (Number.isFinite(e)) {
        s += e;
        n++;
      }
    }
    return n ? s / n : NaN;
  })();
}

/** Builds the truth of a clean clip (2 Farneback flows per pair at full size). */
export async function flickerTruth(clean: Frame[]): Promise<FlickerTruth> {
  if (clean.length < 3) throw new ReshootError(`a flicker clip needs at least 3 frames, got ${clean.length}`);
  const grays = clean.map(rgbToGray);
  const flows: FlowField[] = [], masks: Uint8Array[] = [];
  const moving: Uint8Array[] = [new Uint8Array(0)], edges: Uint8Array[] = [new Uint8Array(0)];
  const grads = clean.map(gradientMagnitude);
  for (let t = 0; t + 1 < clean.length; t++) {
    const fwd = await denseFlow(grays[t], grays[t + 1], FARNEBACK_DEFAULTS);
    const bwd = await denseFlow(grays[t + 1], grays[t], FARNEBACK_DEFAULTS);
    flows.push(fwd);
    masks.push(nonOcclusionMask(fwd, bwd));
    // Motion at frame t+1 in its own grid: the backward flow anchored there.
    const mv = new Uint8Array(bwd.width * bwd.height), ed = new Uint8Array(mv.length);
    const g = grads[t + 1];
    for (let i = 0; i < mv.length; i++) {
      if (Math.hypot(bwd.data[2 * i], bwd.data[2 * i + 1]) >= 1) {
        mv[i] = 1;
        if (g[i] >= 20) ed[i] = 1;
      }
    }
    moving.push(mv);
    edges.push(ed);
  }
  const eClean = await eWarp(clean, flows, masks);
  return { clean, flows, masks, eClean, moving, edges, grads };
}

export interface FlickerScore {
  eRatio: number;
  psnr: number;
  grad: number;
  edge: number;
}

/** Scores an output clip (same length and size as the truth's clean clip). */
export async function scoreFlicker(truth: FlickerTruth, output: Frame[]): Promise<FlickerScore> {
  if (output.length !== truth.clean.length) throw new ReshootError(`output has ${output.length} frames, the clean clip ${truth.clean.length}`);
  const e = await eWarp(output, truth.flows, truth.masks);
  let p = 0;
  let gm = 0, gc = 0, em = 0, ec = 0;
  for (let t = 0; t < output.length; t++) {
    const v = psnr(output[t], truth.clean[t]);
    p += Number.isFinite(v) ? v : 100;
    if (t === 0) continue;
    const go = gradientMagnitude(output[t]), g = truth.grads[t], mv = truth.moving[t], ed = truth.edges[t];
    for (let i = 0; i < mv.length; i++) {
      if (!mv[i]) continue;
      gm += go[i];
      gc += g[i];
      if (ed[i]) {
        em += go[i];
        ec += g[i];
      }
    }
  }
  return { eRatio: e / truth.eClean, psnr: p / output.length, grad: gc ? gm / gc : NaN, edge: ec ? em / ec : NaN };
}

/** Geometric mean (of E ratios). */
export function geometricMean(xs: number[]): number {
  const v = xs.filter((x) => x > 0 && Number.isFinite(x));
  return v.length ? Math.exp(v.reduce((s, x) => s + Math.log(x), 0) / v.length) : NaN;
}

