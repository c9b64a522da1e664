/**
 * Temporal mask stability: how much a person mask changes from one frame to
 * the next once the person's own motion is taken out (dense flow), and a
 * temporal filter that steadies it.
 *
 * A mask pair (previous mask warped into the current frame by flow, current
 * mask), both thresholded at 128, is scored by
 *   - IoU = |A and B| / |A or B| (1 = identical);
 *   - boundary jitter, px = |A xor B| / mean boundary length of A and B: the
 *     mean distance the outline moved along its normal (a square of side s
 *     shifted by d px sideways gives 2ds / (4s - 4) ~ d/2: two of its four
 *     sides moved d). Boundary pixels: inside, with a 4-neighbour outside.
 */
import { denseFlow, flowSize, resizeGray, warpByFlow } from '../flow/index.js';
import { ReshootError } from '../util/errors.js';
import type { GrayFrame } from '../video/types.js';

export interface MaskPairStats {
  iou: number;
  jitterPx: number;
}

function boundaryCount(m: Uint8Array, w: number, h: number, t: number): number {
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (m[i] < t) continue;
      if ((x > 0 && m[i - 1] < t) || (x < w - 1 && m[i + 1] < t) || (y > 0 && m[i - w] < t) || (y < h - 1 && m[i + w] < t)) n++;
    }
  }
  return n;
}

/** IoU and boundary jitter of two same-size masks (threshold 128). Two empty masks: IoU 1, jitter 0. */
export function maskPairStats(a: GrayFrame, b: GrayFrame, threshold = 128): MaskPairStats {
  if (a.width !== b.width || a.height !== b.height) throw new ReshootError(`mask sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let inter = 0, union = 0;
  for (let i = 0; i < a.data.length; i++) {
    const p = a.data[i] >= threshold, q = b.data[i] >= threshold;
    if (p && q) inter++;
    if (p || q) union++;
  }
  if (union === 0) return { iou: 1, jitterPx: 0 };
  const perimeter = (boundaryCount(a.data, a.width, a.height, threshold) + boundaryCount(b.data, b.width, b.height, threshold)) / 2;
  return { iou: inter / union, jitterPx: perimeter > 0 ? (union - inter) / perimeter : 0 };
}

/** The previous frame's mask moved into the current frame: flow current -> previous, previous mask sampled along it. */
async function warpPrevious(prevGray: GrayFrame, gray: GrayFrame, prevMask: GrayFrame, flowScale: number): Promise<GrayFrame> {
  const s = flowSize(gray.width, gray.height, flowScale);
  const flow = await denseFlow(await resizeGray(gray, s.width, s.height), await resizeGray(prevGray, s.width, s.height));
  return warpByFlow(prevMask, flow);
}

export interface StabilitySummary {
  /** Pairs scored (both frames had a mask). */
  pairs: number;
  iouMean: number;
  /** 10th percentile of IoU (the worst frames). */
  iouP10: number;
  jitterMeanPx: number;
  jitterP90Px: number;
}

const quantile = (v: number[], q: number) => {
  if (!v.length) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
};

/** Push frames in order with their masks (null: no person); read summary(). */
export class MaskStabilityMeter {
  private prev: { gray: GrayFrame; mask: GrayFrame | null } | null = null;
  readonly pairs: MaskPairStats[] = [];

  /** flowScale: flow at this fraction of the frame size (default 1: the measurement, not a shortcut). */
  constructor(private readonly flowScale = 1) {}

  async push(gray: GrayFrame, mask: GrayFrame | null): Promise<MaskPairStats | null> {
    let out: MaskPairStats | null = null;
    if (this.prev?.mask && mask) {
      out = maskPairStats(await warpPrevious(this.prev.gray, gray, this.prev.mask, this.flowScale), mask);
      this.pairs.push(out);
    }
    this.prev = { gray, mask };
    return out;
  }

  summary(): StabilitySummary {
    const iou = this.pairs.map((p) => p.iou), j = this.pairs.map((p) => p.jitterPx);
    return {
      pairs: this.pairs.length,
      iouMean: iou.reduce((a, b) => a + b, 0) / Math.max(1, iou.length),
      iouP10: quantile(iou, 0.1),
      jitterMeanPx: j.reduce((a, b) => a + b, 0) / Math.max(1, j.length),
      jitterP90Px: quantile(j, 0.9),
    };
  }
}

export interface TemporalMaskOptions {
  /** Weight of the flow-warped previous (filtered) mask, 0..1 (0 = off). */
  strength: number;
  /** Flow at this fraction of the frame size (default 0.5). */
  flowScale?: number;
}

/**
 * A causal temporal filter on soft masks: out_t = s * warp(out_{t-1}) + (1 - s) * mask_t,
 * the previous output moved by the flow current -> previous. A frame without a
 * mask (null) restarts it, and so does reset() (call it at a hard cut).
 */
export class TemporalMaskFilter {
  private prev: { gray: GrayFrame; out: GrayFrame } | null = null;
  private readonly strength: number;
  private readonly flowScale: number;

  constructor(opts: TemporalMaskOptions) {
    if (!(opts.strength >= 0 && opts.strength < 1)) throw new ReshootError(`temporal mask strength must be in [0, 1), got ${opts.strength}`);
    this.strength = opts.strength;
    this.flowScale = opts.flowScale ?? 0.5;
  }

  reset(): void {
    this.prev = null;
  }

  async push(gray: GrayFrame, mask: GrayFrame | null): Promise<GrayFrame | null> {
    if (!mask) {
      this.prev = null;
      return null;
    }
    let out = mask;
    if (this.prev && this.strength > 0) {
      const warped = await warpPrevious(this.prev.gray, gray, this.prev.out, this.flowScale);
      const s = this.strength;
      const data = new Uint8Array(mask.data.length);
      for (let i = 0; i < data.length; i++) data[i] = Math.round(s * warped.data[i] + (1 - s) * mask.data[i]);
      out = { width: mask.width, height: mask.height, data };
    }
    this.prev = { gray, out };
    return out;
  }
}
