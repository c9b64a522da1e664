/**
 * Hard-cut detection. Every pushed frame is reduced to a small thumbnail
 * (sampled, so a full-size RGB frame costs about as much as a 64 px one) and a
 * colour histogram. Per pair (t-1, t): h = histogram distance (total
 * variation, 0 = same colours, 1 = disjoint), d = mean absolute thumbnail
 * difference (0-1), score = h + d. Frame t starts a new shot when
 *
 *   - score >= `threshold`, AND d >= `ratio` x the median d of the
 *     neighbouring pairs (±`window`, t excluded): a cut is an isolated spike,
 *     while a fast pan or a person crossing the frame changes every pair of
 *     the window about as much;
 *   - OR score >= `strongThreshold` on its own: colours and layout both
 *     change a lot (a pan moves the layout but keeps the colours, so its h
 *     stays small); this also finds cuts whose neighbours are cuts too (a
 *     montage, where the median test cannot work).
 *
 * See README.md for the measured scores the thresholds sit between.
 */
import { ReshootError } from '../util/errors.js';
import type { Frame, GrayFrame } from '../video/types.js';

/** Frames [start, end) of one shot. */
export interface Shot {
  start: number;
  end: number;
}

export interface ShotOptions {
  /** Least score (histogram distance + thumbnail difference, 0-2) of a cut confirmed by the ratio (default 0.1). */
  threshold?: number;
  /** Score (0-2) that is a cut on its own, without the ratio test (default 0.45). */
  strongThreshold?: number;
  /** Thumbnail difference of a cut / median of its neighbours' (default 3). */
  ratio?: number;
  /** Neighbouring pairs on each side for the median (default 5). */
  window?: number;
  /** Long side of the thumbnail, px (default 64). */
  thumbnailSize?: number;
}

export interface ShotResult {
  shots: Shot[];
  /** First frame of every shot but the first. */
  cuts: number[];
  /** Per frame, the score against the previous frame (histogram distance + thumbnail difference; 0 for frame 0). */
  scores: number[];
}

const DEFAULTS: Required<ShotOptions> = { threshold: 0.1, strongThreshold: 0.45, ratio: 3, window: 5, thumbnailSize: 64 };

/** Mean absolute difference floor (0-1 scale): a static shot's noise does not make tiny medians. */
const DIFF_FLOOR = 2 / 255;

export function resolveShotOptions(opts: ShotOptions = {}): Required<ShotOptions> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<ShotOptions>;
  if (!(o.threshold > 0 && o.threshold <= 2)) throw new ReshootError(`shot option threshold must be in (0, 2], got ${String(o.threshold)}`);
  if (!(o.strongThreshold > 0 && o.strongThreshold <= 2)) throw new ReshootError(`shot option strongThreshold must be in (0, 2], got ${String(o.strongThreshold)}`);
  if (!(o.ratio >= 1 && Number.isFinite(o.ratio))) throw new ReshootError(`shot option ratio must be a number >= 1, got ${String(o.ratio)}`);
  if (!(Number.isInteger(o.window) && o.window >= 1)) throw new ReshootError(`shot option window must be a whole number >= 1, got ${String(o.window)}`);
  if (!(Number.isInteger(o.thumbnailSize) && o.thumbnailSize >= 8)) {
    throw new ReshootError(`shot option thumbnailSize must be a whole number >= 8, got ${String(o.thumbnailSize)}`);
  }
  return o;
}

/** Streaming cut detector: push every frame in order, then read result(). */
export class ShotDetector {
  private readonly o: Required<ShotOptions>;
  private prevThumb: Float32Array | undefined;
  private prevHist: Float32Array | undefined;
  private channels = 0;
  private size: [number, number] | undefined;
  private readonly hist: number[] = [];
  private readonly diff: number[] = [];

  constructor(opts: ShotOptions = {}) {
    this.o = resolveShotOptions(opts);
  }

  /** Frames pushed so far. */
  get count(): number {
    return this.hist.length;
  }

  push(frame: Frame | GrayFrame): void {
    const { width: W, height: H, data } = frame;
    if (!(Number.isInteger(W) && W > 0 && Number.isInteger(H) && H > 0)) throw new ReshootError(`shot detector: bad frame size ${W}x${H}`);
    const ch = data.length === W * H ? 1 : data.length === W * H * 3 ? 3 : 0;
    if (!ch) throw new ReshootError(`shot detector: frame data has ${data.length} bytes, expected ${W}x${H} gray or RGB`);
    if (this.size && (this.size[0] !== W || this.size[1] !== H || this.channels !== ch)) {
      throw new ReshootError(`shot detector: frame ${this.count} is ${W}x${H}x${ch}, earlier frames were ${this.size[0]}x${this.size[1]}x${this.channels}`);
    }
    this.size = [W, H];
    this.channels = ch;
    const { thumb, hist } = summarize(frame, ch, this.o.thumbnailSize);
    if (!this.prevThumb || !this.prevHist) {
      this.hist.push(0);
      this.diff.push(0);
    } else {
      let tv = 0;
      for (let i = 0; i < hist.length; i++) tv += Math.abs(hist[i] - this.prevHist[i]);
      let d = 0;
      for (let i = 0; i < thumb.length; i++) d += Math.abs(thumb[i] - this.prevThumb[i]);
      this.hist.push(tv / 2);
      this.diff.push(d / thumb.length / 255);
    }
    this.prevThumb = thumb;
    this.prevHist = hist;
  }

  result(): ShotResult {
    const n = this.hist.length;
    const { threshold, strongThreshold, ratio, window } = this.o;
    const cuts: number[] = [];
    for (let t = 1; t < n; t++) {
      const score = this.hist[t] + this.diff[t];
      if (score >= strongThreshold) {
        cuts.push(t);
        continue;
      }
      if (score < threshold) continue;
      const around: number[] = [];
      for (let k = t - window; k <= t + window; k++) if (k >= 1 && k < n && k !== t) around.push(this.diff[k]);
      const med = Math.max(DIFF_FLOOR, median(around));
      if (this.diff[t] >= ratio * med) cuts.push(t);
    }
    return { shots: shotsFromCuts(cuts, n), cuts, scores: this.hist.map((h, t) => h + this.diff[t]) };
  }
}

/** Shots [start, end) covering frames 0..frameCount-1, split before every cut. */
export function shotsFromCuts(cuts: readonly number[], frameCount: number): Shot[] {
  const shots: Shot[] = [];
  let start = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c <= start || c >= frameCount) continue;
    shots.push({ start, end: c });
    start = c;
  }
  if (frameCount > 0) shots.push({ start, end: frameCount });
  return shots;
}

/** Checks that `shots` tile [0, frameCount) in order; throws a ReshootError naming the first gap. */
export function validateShots(shots: readonly Shot[], frameCount: number, label = 'shots'): void {
  let at = 0;
  shots.forEach((s, i) => {
    if (!(typeof s === 'object' && s !== null && Number.isInteger(s.start) && Number.isInteger(s.end))) {
      throw new ReshootError(`${label}[${i}] is not {start, end} with whole numbers`);
    }
    if (s.start !== at || s.end <= s.start) {
      throw new ReshootError(`${label}[${i}] is [${s.start}, ${s.end}); expected a non-empty shot starting at frame ${at}`);
    }
    at = s.end;
  });
  if (at !== frameCount) throw new ReshootError(`${label} cover frames [0, ${at}) but the clip has ${frameCount} frames`);
}

/** Index of the shot holding `frame` (shots tile the clip). */
export function shotIndexAt(shots: readonly Shot[], frame: number): number {
  let lo = 0, hi = shots.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (shots[mid].start <= frame) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function median(v: number[]): number {
  if (!v.length) return 0;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Thumbnail (luma, long side <= `size`, each cell the mean of up to 4x4 samples
 * spread over it) and colour histogram (RGB: 4x4x4 joint bins; gray: 16 luma
 * bins), normalised to sum 1.
 */
function summarize(frame: Frame | GrayFrame, ch: number, size: number): { thumb: Float32Array; hist: Float32Array } {
  const { width: W, height: H, data } = frame;
  const s = Math.min(1, size / Math.max(W, H));
  const tw = Math.max(1, Math.round(W * s)), th = Math.max(1, Math.round(H * s));
  const cw = W / tw, chh = H / th;
  const sx = Math.min(4, Math.max(1, Math.floor(cw))), sy = Math.min(4, Math.max(1, Math.floor(chh)));
  const thumb = new Float32Array(tw * th);
  const hist = new Float32Array(ch === 3 ? 64 : 16);
  let samples = 0;
  for (let j = 0; j < th; j++) {
    for (let i = 0; i < tw; i++) {
      let acc = 0;
      for (let b = 0; b < sy; b++) {
        const y = Math.min(H - 1, Math.floor(j * chh + ((b + 0.5) * chh) / sy));
        for (let a = 0; a < sx; a++) {
          const x = Math.min(W - 1, Math.floor(i * cw + ((a + 0.5) * cw) / sx));
          const p = y * W + x;
          if (ch === 3) {
            const r = data[3 * p], g = data[3 * p + 1], bl = data[3 * p + 2];
            acc += 0.299 * r + 0.587 * g + 0.114 * bl;
            hist[((r >> 6) << 4) | ((g >> 6) << 2) | (bl >> 6)]++;
          } else {
            acc += data[p];
            hist[data[p] >> 4]++;
          }
          samples++;
        }
      }
      thumb[j * tw + i] = acc / (sx * sy);
    }
  }
  for (let k = 0; k < hist.length; k++) hist[k] /= samples;
  return { thumb, hist };
}
