/**
 * The synthetic generator: a STAND-IN, not a model. It perturbs the input
 * frames the way frame-independent generative models misbehave, seeded and
 * deterministic, so the temporal stage, the blends and the flicker metrics can
 * be measured against frames it knows are clean:
 *
 * - brightness flicker: a global offset drawn afresh every frame;
 * - colour flicker: a per-channel offset drawn afresh every frame;
 * - texture boiling: smooth noise (a coarse random grid, bilinearly
 *   upsampled) drawn afresh every frame, stronger on textured pixels;
 * - drift: a slow sub-pixel translation (sinusoid with a per-segment phase);
 * - seams: every segment has its own colour cast (per-channel gain and
 *   offset) and its own random state, so segment boundaries show.
 *
 * perturbFrame(clean, frameIndex, segmentIndex) depends only on its
 * arguments and the options (no hidden state), so any frame can be
 * regenerated and the same frame in two overlapping segments differs the way
 * two model calls would.
 */
import type { Frame } from '../video/types.js';
import { deriveSeed, gaussian, mulberry32 } from '../util/rng.js';
import { ReshootError } from '../util/errors.js';

export interface SyntheticOptions {
  /** Random seed. Default 1. */
  seed?: number;
  /** Multiplies every amplitude below (0 = identity). Default 1. */
  strength?: number;
  /** Std of the per-frame global brightness offset, 8-bit levels. Default 4. */
  brightness?: number;
  /** Std of the per-frame per-channel offset, 8-bit levels. Default 2. */
  colour?: number;
  /** Std of the per-frame texture noise, 8-bit levels (at full texture). Default 6. */
  noise?: number;
  /** Cell size of the noise grid, px (bigger = blotchier boiling). Default 4. */
  noiseCell?: number;
  /** Amplitude of the drift, px. Default 0.5. */
  drift?: number;
  /** Period of the drift, frames. Default 48. */
  driftPeriod?: number;
  /** Std of the per-segment per-channel gain (fraction) and offset (8-bit levels). Default 0.04 and 6. */
  segmentGain?: number;
  segmentOffset?: number;
}

export const SYNTHETIC_DEFAULTS: Readonly<Required<SyntheticOptions>> = Object.freeze({
  seed: 1,
  strength: 1,
  brightness: 4,
  colour: 2,
  noise: 6,
  noiseCell: 4,
  drift: 0.5,
  driftPeriod: 48,
  segmentGain: 0.04,
  segmentOffset: 6,
});

/** Human-readable statement of what this generator is. */
export const SYNTHETIC_DESCRIPTION =
  'synthetic: a seeded stand-in for a frame-independent generative model (not a model). It returns the input frames with per-frame brightness and colour flicker, texture noise redrawn every frame, a slow sub-pixel drift, and a different colour cast and random state per segment, so flicker and seams can be measured against the known clean frames.';

export interface SyntheticPerturbation {
  readonly options: Readonly<Required<SyntheticOptions>>;
  readonly description: string;
  /** The perturbed version of `clean` as frame `frameIndex` of segment `segmentIndex`. Pure. */
  perturbFrame(clean: Frame, frameIndex: number, segmentIndex: number): Frame;
}

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5;
}

export function createSyntheticPerturbation(opts: SyntheticOptions = {}): SyntheticPerturbation {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o: Required<SyntheticOptions> = { ...SYNTHETIC_DEFAULTS, ...given };
  for (const [k, v] of Object.entries(o)) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new ReshootError(`synthetic generator option ${k} must be a number >= 0, got ${String(v)}`);
  }
  if (!(o.noiseCell >= 1)) throw new ReshootError(`synthetic generator option noiseCell must be >= 1, got ${o.noiseCell}`);
  if (!(o.driftPeriod > 0)) throw new ReshootError(`synthetic generator option driftPeriod must be > 0, got ${o.driftPeriod}`);
  const s = o.strength;

  function perturbFrame(clean: Frame, frameIndex: number, segmentIndex: number): Frame {
    const { width: W, height: H, data: src } = clean;
    if (src.length !== W * H * 3) throw new ReshootError(`synthetic generator: frame ${frameIndex} is not ${W}x${H} RGB`);
    if (!Number.isInteger(frameIndex) || !Number.isInteger(segmentIndex) || frameIndex < 0 || segmentIndex < 0) {
      throw new ReshootError(`synthetic generator: frame and segment indices must be whole numbers >= 0 (got ${frameIndex}, ${segmentIndex})`);
    }
    const segSeed = deriveSeed(o.seed, segmentIndex);
    // Per segment: colour cast and drift phase.
    const segRand = gaussian(mulberry32(deriveSeed(segSeed, 0x5e9)));
    const gain = [0, 1, 2].map(() => 1 + s * o.segmentGain * segRand());
    const offset = [0, 1, 2].map(() => s * o.segmentOffset * segRand());
    const phase = mulberry32(deriveSeed(segSeed, 0xd81f7))() * 2 * Math.PI;
    // Per frame (and segment): flicker and noise.
    const uni = mulberry32(deriveSeed(segSeed, frameIndex + 1));
    const rnd = gaussian(uni);
    const bright = s * o.brightness * rnd();
    const chan = [0, 1, 2].map((c) => offset[c] + bright + s * o.colour * rnd());
    const ang = (2 * Math.PI * frameIndex) / o.driftPeriod + phase;
    const dx = s * o.drift * Math.cos(ang), dy = s * o.drift * Math.sin(ang);

    // Noise grid, one value per cell corner, upsampled bilinearly.
    const cell = o.noiseCell;
    const gw = Math.ceil(W / cell) + 1, gh = Math.ceil(H / cell) + 1;
    const grid = new Float32Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rnd();
    const amp = s * o.noise;

    const out = new Uint8Array(W * H * 3);
    const fx = Math.floor(dx), fy = Math.floor(dy);
    const ax = dx - fx, ay = dy - fy;
    const at = (x: number, y: number, c: number): number => {
      const cx = x < 0 ? 0 : x >= W ? W - 1 : x;
      const cy = y < 0 ? 0 : y >= H ? H - 1 : y;
      return src[(cy * W + cx) * 3 + c];
    };
    for (let y = 0; y < H; y++) {
      const gy = y / cell, gy0 = Math.floor(gy), ty = gy - gy0;
      for (let x = 0; x < W; x++) {
        const gx = x / cell, gx0 = Math.floor(gx), tx = gx - gx0;
        const g0 = gy0 * gw + gx0;
        const n = (1 - ty) * ((1 - tx) * grid[g0] + tx * grid[g0 + 1]) + ty * ((1 - tx) * grid[g0 + gw] + tx * grid[g0 + gw + 1]);
        // Texture: local luma contrast (horizontal + vertical differences), so flat areas boil less.
        const i = (y * W + x) * 3;
        const xr = x + 1 < W ? i + 3 : i, yd = y + 1 < H ? i + 3 * W : i;
        const tex = Math.min(1, 0.3 + (Math.abs(src[xr + 1] - src[i + 1]) + Math.abs(src[yd + 1] - src[i + 1])) / 40);
        const nz = amp * n * tex;
        for (let c = 0; c < 3; c++) {
          // Drift: sample the clean frame at (x + dx, y + dy), bilinear.
          const v =
            (1 - ay) * ((1 - ax) * at(x + fx, y + fy, c) + ax * at(x + fx + 1, y + fy, c)) +
            ay * ((1 - ax) * at(x + fx, y + fy + 1, c) + ax * at(x + fx + 1, y + fy + 1, c));
          out[i + c] = clamp255(v * gain[c] + chan[c] + nz);
        }
      }
    }
    return { width: W, height: H, data: out };
  }

  return { options: Object.freeze(o), description: SYNTHETIC_DESCRIPTION, perturbFrame };
}

/**
 * Generates one segment: frame k of the result is the perturbation of
 * frames[k] as frame (firstFrame + k) of segment `segmentIndex`. `firstFrame`
 * is the segment's start in the whole video (so the drift and flicker are
 * indexed by video time). Pure; frames are not modified.
 */
export function syntheticGenerateSegment(
  frames: Frame[],
  segmentIndex: number,
  opts: SyntheticOptions & { firstFrame?: number } = {},
): Frame[] {
  const { firstFrame = 0, ...rest } = opts;
  const p = createSyntheticPerturbation(rest);
  return frames.map((f, k) => p.perturbFrame(f, firstFrame + k, segmentIndex));
}
