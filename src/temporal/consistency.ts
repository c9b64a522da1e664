/**
 * Temporal consistency: flow is computed on the INPUT (guide) video, the
 * previous OUTPUT frame is warped onto the current one with it (W), and the
 * current generated frame is pulled towards W where the flow passes the
 * forward-backward occlusion check. Recursive, so per-frame noise of a
 * frame-independent generator is averaged along motion trajectories
 * (reduces flicker) while pixels follow the input's motion.
 *
 * Two methods:
 * - 'blend' (the earlier method, kept as a baseline): out = G + s M (W - G),
 *   one fixed weight s for every kind of flicker.
 * - 'separated': global colour matched to W, a smooth offset field for
 *   low-frequency blotches, then a per-pixel blend whose weight falls with
 *   the distance |W - G| (see separated.ts and README.md).
 */
import { decodeFrames, encodeFrames, probeVideo, type Frame, type GrayFrame, type ProgressFn } from '../video/index.js';
import { FlowAhead, denseFlow, flowSize, nonOcclusionMask, resizeGray, rgbToGray, warpByFlow, type FarnebackOptions, type FlowField } from '../flow/index.js';
import { ReshootError } from '../util/errors.js';
import { blendDetail, blurRgb, detailWeight, downsampleRgb, fusedBlend, fusedBlendBands, globalColorFit, globalShift, lowFrequencyField, restoreContrast, shiftFrame, softenMask, upsampleFloat } from './separated.js';

export type TemporalMethod = 'blend' | 'separated';

export interface TemporalOptions {
  /** 'separated' (default) or 'blend' (the earlier fixed-weight method, a baseline). */
  method?: TemporalMethod;
  /** 'blend': weight of the warped previous output where the flow is reliable, in [0, 1). Default 0.6. */
  strength?: number;
  /** 'separated': fraction of the global per-channel gain/offset correction applied per frame, in [0, 1]. Default 0.9. */
  colorStrength?: number;
  /**
   * 'separated': long-term colour anchor. The n-th frame after a restart applies
   * max(colorStrength, 1 - 1 / min(n + 1, colorMemory)) of the global colour match, so the output's
   * colour is the running MEAN of the generated frames' colour along the flow since the segment start
   * (its error falls as 1 / sqrt(n)) until colorMemory frames, then a moving average of that many
   * frames; colorStrength alone is an average of about 1 / (1 - colorStrength) frames from the start.
   * 1 turns it off. Default 1: measured on 80 frames of vtest (bench --suite drift), memory 30 and
   * 60 left MORE colour bias on kind D (RMS 1.56 -> 1.95 / 2.16 levels) and lower PSNR, because each
   * frame's match to W has an estimation error and a longer memory lets those errors add up (a
   * random walk along the chain of warps); pinning to the first frame (colorStrength 1) drifted most.
   */
  colorMemory?: number;
  /** 'separated': fraction of the smooth offset field applied per frame, in [0, 1]. Default 0.9. */
  fieldStrength?: number;
  /**
   * 'separated': fraction of the estimated whole-frame shift of the generated frame against the
   * guide that is undone (generator jitter), in [0, 1]; 0 turns it off. Default 1.
   */
  dejitter?: number;
  /** 'separated': Gaussian sigma of the offset field, px of the full frame. Default 6. */
  fieldSigma?: number;
  /** 'separated': largest per-pixel weight of the warped previous output, in [0, 1). Default 0.8. */
  detailStrength?: number;
  /** 'separated': tolerance of the per-pixel weight on the local distance |W - G| (8-bit levels), or 'auto' (2 x its median on reliable pixels, at least 3). Default 'auto'. */
  detailTolerance?: number | 'auto';
  /** 'separated': the distance is box-averaged over (2 r + 1)^2 px first (noise averages out, misaligned edges do not); 0 = per pixel. Default 2. */
  detailRadius?: number;
  /**
   * 'separated': where the detail weight is computed. 'flow' (default): on the flow-size copies, then
   * upsampled, so only one fused pass touches every full-size pixel (about 4x faster for that step);
   * 'full': at the full size (the earlier path, kept to measure against).
   */
  detailGrid?: 'flow' | 'full';
  /**
   * Occlusion check: 'forward-backward' (a second, backward flow per frame, Lai et al.'s check; the
   * default of 'blend') or 'guard' (no backward flow: the motion-boundary test and the photometric
   * guard alone; the default of 'separated', whose distance-weighted blend already rejects what the
   * flow got wrong: same scores on the flicker set, one Farneback flow per frame instead of two).
   */
  occlusion?: 'forward-backward' | 'guard';
  /** Resampling of the previous output when warping it. Default 'linear' for 'blend', 'cubic' for 'separated' (less blur along chains). */
  interpolation?: 'linear' | 'cubic';
  /** Flow is computed at this fraction of the frame size and upsampled. Default 0.5. */
  flowScale?: number;
  /** Farneback settings (default: FARNEBACK_DEFAULTS of src/flow, i.e. 0.5, 3, 15, 3, 5, 1.2). */
  farneback?: FarnebackOptions;
  /** Frame indices where the recursion restarts (segment starts). */
  resetAt?: Iterable<number>;
  /** Keep the recursion running through the frames in resetAt (smooths seams too). Default false. */
  carry?: boolean;
  /**
   * Photometric guard: a pixel is not blended where the previous guide frame,
   * warped by the flow, differs from the current guide frame by more than
   * this (8-bit gray levels, at the flow size). 255 turns it off. Default 12.
   */
  maxGuideError?: number;
  /**
   * Pixels where the generated frame is within this many levels (largest channel) of the guide keep
   * the generated value; from 2x this the filtered value is used, linearly in between. For a pipeline
   * whose guide is the real input: what the generator reproduced carries the input's real motion and
   * has no flicker to remove (a passthrough must stay the input). Needs an RGB guide of the same size.
   * 0 turns it off (default: in benchmarks the guide may be the clean ground truth).
   */
  keepUnchanged?: number;
  /**
   * 'separated': split the detail blend into two bands at this Gaussian sigma (full-size px): the low
   * band keeps detailStrength / detailTolerance / maxGuideError, the high band (the style's redrawn
   * strokes) gets its own, firmer highBand* settings. 0 (default): one band, as before.
   */
  highBandSigma?: number;
  /** 'separated' with highBandSigma > 0: largest weight of the warped previous output in the high band, in [0, 1). Default 0.95. */
  highBandStrength?: number;
  /** 'separated' with highBandSigma > 0: tolerance of the high band's weight on the (low-band) distance, levels. Default 100. */
  highBandTolerance?: number;
  /** 'separated' with highBandSigma > 0: photometric guard of the high band (levels, like maxGuideError). Default 30. */
  highBandGuideError?: number;
  /**
   * 'separated': local contrast restoration of the EMITTED frame (separated.ts restoreContrast): its
   * detail (frame - Gaussian blur of contrastSigma) is added back, up to (contrastGain - 1) times, where its local
   * gradient magnitude (Gaussian average, contrastMapSigma) is below the generated frame's. The
   * recursion keeps the frame before it. 1 (default) turns it off.
   */
  contrastGain?: number;
  /** Sigma (px) of the detail layer of contrastGain. Default 3. */
  contrastSigma?: number;
  /** Sigma (px) of the local gradient averages of contrastGain. Default 2. */
  contrastMapSigma?: number;
}

export const TEMPORAL_DEFAULTS = Object.freeze({
  method: 'separated' as TemporalMethod,
  strength: 0.6,
  flowScale: 0.5,
  carry: false,
  maxGuideError: 12,
  colorStrength: 0.9,
  colorMemory: 1,
  fieldStrength: 0.9,
  dejitter: 1,
  fieldSigma: 6,
  detailStrength: 0.8,
  detailTolerance: 'auto' as number | 'auto',
  detailRadius: 2,
  detailGrid: 'flow' as 'flow' | 'full',
  highBandSigma: 0,
  highBandStrength: 0.95,
  highBandTolerance: 100,
  highBandGuideError: 30,
  contrastGain: 1,
  contrastSigma: 3,
  contrastMapSigma: 2,
});

/**
 * 'separated' settings for a per-frame style-transfer generator (issue 13; README "Style preset"):
 * full-size flow with Farneback's defaults, no dejitter, the detail split at sigma 4 px with a firm high band
 * (0.98, tolerance 100, guard 30) and the default low band, and the emitted frame's contrast restored
 * (detail added up to 1x, contrastGain 2). Measured on matta, mathura and matilde_perez over vtest and Megamind (bench/temporal.ts --suite style). Not the
 * stage default: it costs PSNR against the raw style output and leaves a faint halo on walkers.
 */
export const TEMPORAL_STYLE_PRESET: Readonly<TemporalOptions> = Object.freeze({
  method: 'separated',
  flowScale: 1,
  farneback: Object.freeze({}) as FarnebackOptions,
  // A per-frame style network does not jitter the whole frame; on 'mathura' the shift test passed
  // spurious 1-2 px shifts (the style's own offset) and resampling by them cost sharpness.
  dejitter: 0,
  highBandSigma: 4,
  highBandStrength: 0.98,
  highBandTolerance: 100,
  highBandGuideError: 30,
  contrastGain: 2,
  contrastSigma: 3,
  contrastMapSigma: 2,
}) as Readonly<TemporalOptions>;

/**
 * Farneback settings of the 'separated' method unless `farneback` is given: FARNEBACK_DEFAULTS with 2
 * iterations and an 11 px window instead of 3 and 15. Measured on the flicker set (16 frames, 12 cells,
 * same run): E ratio 1.30 -> 1.31, PSNR 35.11 -> 35.16 dB, grad 0.982 -> 0.987, at 1.1x the speed.
 * 'blend' keeps FARNEBACK_DEFAULTS (it is the baseline).
 */
export const SEPARATED_FARNEBACK: Readonly<FarnebackOptions> = Object.freeze({ iterations: 2, winSize: 11 });

/** Per-frame options of push(). */
export interface PushOptions {
  /**
   * Weight (0-255) per pixel of the generated frame kept as it is: where the generator's domain is new in
   * this frame (a subject that appears, or grows into pixels no earlier generated frame covered), the
   * previous output holds no generated content there, and matching to it (the global colour match and
   * the blend) would fade the new content in over several frames (measured: the tint of Megamind's
   * subject entering at frame 7 survived on 49 % of its region, IoU 0.49 -> 0.99 with this).
   */
  fresh?: GrayFrame;
  /**
   * The flow of the guide from this frame to the previous one at the flow size, when the caller computed
   * it already (denseFlow(guide_t, guide_t-1, flowOptions), e.g. ahead on another thread: temporalVideo).
   * Must be exactly that flow; the filter then skips its own.
   */
  flow?: FlowField;
}

/** What push() returns besides the frame. */
export interface TemporalStep {
  frame: Frame;
  /** Fraction of pixels that passed the occlusion check and guard; 0 on the first frame and at resets. */
  reliable: number;
  /** 'separated': the full per-channel gain/offset match of the generated frame to W (colorStrength of it is applied); absent for 'blend' and at resets. */
  color?: { gain: [number, number, number]; offset: [number, number, number] };
  /** 'separated': the whole-frame shift (full-size px) undone on the generated frame, when one was. */
  shift?: { dx: number; dy: number };
  /** True when this frame started a fresh recursion (first frame or a segment start without carry). */
  reset: boolean;
}

function checkStrength(s: number, name = 'temporal strength'): void {
  if (!(s >= 0 && s < 1)) throw new ReshootError(`${name} must be in [0, 1), got ${s}`);
}

function checkFraction(s: number, name: string): void {
  if (!(s >= 0 && s <= 1)) throw new ReshootError(`${name} must be in [0, 1], got ${s}`);
}

/**
 * The half of the occlusion check that needs no backward flow (occlusion: 'guard'): a pixel of
 * frame t is reliable unless its flow leaves the frame or it lies on a motion boundary
 * (|grad w|^2 > 0.01 |w|^2 + 0.002, forward differences, as in nonOcclusionMask of src/flow).
 * The photometric guard then stands in for the forward-backward test.
 */
export function motionBoundaryMask(flow: FlowField): Uint8Array {
  const { width: w, height: h, data: F } = flow;
  const mask = new Uint8Array(w * h);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const u = F[2 * i], v = F[2 * i + 1];
      const px = x + u, py = y + v;
      if (px < 0 || py < 0 || px > w - 1 || py > h - 1) continue;
      let grad = 0;
      if (x < w - 1) {
        const du = u - F[2 * i + 2], dv = v - F[2 * i + 3];
        grad += du * du + dv * dv;
      }
      if (y < h - 1) {
        const du = u - F[2 * (i + w)], dv = v - F[2 * (i + w) + 1];
        grad += du * du + dv * dv;
      }
      if (grad > 0.01 * (u * u + v * v) + 0.002) continue;
      mask[i] = 1;
    }
  }
  return mask;
}

/** Streaming consistency filter: push frames in order; memory is two frames. */
export class TemporalConsistency {
  readonly method: TemporalMethod;
  readonly strength: number;
  readonly colorStrength: number;
  readonly colorMemory: number;
  readonly fieldStrength: number;
  readonly dejitter: number;
  readonly fieldSigma: number;
  readonly detailStrength: number;
  readonly detailTolerance: number | 'auto';
  readonly detailRadius: number;
  readonly interpolation: 'linear' | 'cubic';
  readonly detailGrid: 'flow' | 'full';
  readonly occlusion: 'forward-backward' | 'guard';
  readonly flowScale: number;
  readonly carry: boolean;
  readonly maxGuideError: number;
  readonly keepUnchanged: number;
  readonly highBandSigma: number;
  readonly highBandStrength: number;
  readonly highBandTolerance: number;
  readonly highBandGuideError: number;
  readonly contrastGain: number;
  readonly contrastSigma: number;
  readonly contrastMapSigma: number;
  private readonly farneback?: FarnebackOptions;
  private readonly resets: Set<number>;
  private index = 0;
  /** Frames since the last restart (the long-term colour anchor's n). */
  private sinceReset = 0;
  private prevGuide?: GrayFrame;
  private prevOut?: Frame;
  private primed = false;

  constructor(opts: TemporalOptions = {}) {
    this.method = opts.method ?? TEMPORAL_DEFAULTS.method;
    if (this.method !== 'blend' && this.method !== 'separated') throw new ReshootError(`temporal method must be 'blend' or 'separated', got '${String(this.method)}'`);
    this.strength = opts.strength ?? TEMPORAL_DEFAULTS.strength;
    this.colorStrength = opts.colorStrength ?? TEMPORAL_DEFAULTS.colorStrength;
    this.fieldStrength = opts.fieldStrength ?? TEMPORAL_DEFAULTS.fieldStrength;
    this.fieldSigma = opts.fieldSigma ?? TEMPORAL_DEFAULTS.fieldSigma;
    this.dejitter = opts.dejitter ?? TEMPORAL_DEFAULTS.dejitter;
    this.detailRadius = opts.detailRadius ?? TEMPORAL_DEFAULTS.detailRadius;
    if (!(Number.isInteger(this.detailRadius) && this.detailRadius >= 0)) throw new ReshootError(`detailRadius must be a whole number >= 0, got ${this.detailRadius}`);
    checkFraction(this.dejitter, 'dejitter');
    this.detailStrength = opts.detailStrength ?? TEMPORAL_DEFAULTS.detailStrength;
    this.detailTolerance = opts.detailTolerance ?? TEMPORAL_DEFAULTS.detailTolerance;
    this.interpolation = opts.interpolation ?? (this.method === 'blend' ? 'linear' : 'cubic');
    checkFraction(this.colorStrength, 'colorStrength');
    this.colorMemory = opts.colorMemory ?? TEMPORAL_DEFAULTS.colorMemory;
    if (!(Number.isInteger(this.colorMemory) && this.colorMemory >= 1)) throw new ReshootError(`colorMemory must be a whole number of frames >= 1, got ${this.colorMemory}`);
    checkFraction(this.fieldStrength, 'fieldStrength');
    checkStrength(this.detailStrength, 'detailStrength');
    if (!(this.fieldSigma > 0)) throw new ReshootError(`fieldSigma must be > 0 px, got ${this.fieldSigma}`);
    if (this.detailTolerance !== 'auto' && !(this.detailTolerance > 0)) throw new ReshootError(`detailTolerance must be > 0 levels, got ${this.detailTolerance}`);
    if (this.interpolation !== 'linear' && this.interpolation !== 'cubic') throw new ReshootError(`interpolation must be 'linear' or 'cubic', got '${String(this.interpolation)}'`);
    this.detailGrid = opts.detailGrid ?? TEMPORAL_DEFAULTS.detailGrid;
    if (this.detailGrid !== 'flow' && this.detailGrid !== 'full') throw new ReshootError(`detailGrid must be 'flow' or 'full', got '${String(this.detailGrid)}'`);
    this.occlusion = opts.occlusion ?? (this.method === 'separated' ? 'guard' : 'forward-backward');
    if (this.occlusion !== 'forward-backward' && this.occlusion !== 'guard') throw new ReshootError(`occlusion must be 'forward-backward' or 'guard', got '${String(this.occlusion)}'`);
    this.flowScale = opts.flowScale ?? TEMPORAL_DEFAULTS.flowScale;
    this.carry = opts.carry ?? TEMPORAL_DEFAULTS.carry;
    this.maxGuideError = opts.maxGuideError ?? TEMPORAL_DEFAULTS.maxGuideError;
    this.keepUnchanged = opts.keepUnchanged ?? 0;
    if (!(this.keepUnchanged >= 0)) throw new ReshootError(`keepUnchanged must be a number of levels >= 0, got ${this.keepUnchanged}`);
    if (!(this.maxGuideError >= 0)) throw new ReshootError(`maxGuideError must be >= 0, got ${this.maxGuideError}`);
    checkStrength(this.strength);
    this.highBandSigma = opts.highBandSigma ?? TEMPORAL_DEFAULTS.highBandSigma;
    if (!(this.highBandSigma >= 0)) throw new ReshootError(`highBandSigma must be >= 0 px, got ${this.highBandSigma}`);
    this.highBandStrength = opts.highBandStrength ?? TEMPORAL_DEFAULTS.highBandStrength;
    checkStrength(this.highBandStrength, 'highBandStrength');
    this.highBandTolerance = opts.highBandTolerance ?? TEMPORAL_DEFAULTS.highBandTolerance;
    if (!(this.highBandTolerance > 0)) throw new ReshootError(`highBandTolerance must be > 0 levels, got ${this.highBandTolerance}`);
    this.highBandGuideError = opts.highBandGuideError ?? TEMPORAL_DEFAULTS.highBandGuideError;
    if (!(this.highBandGuideError >= 0)) throw new ReshootError(`highBandGuideError must be >= 0, got ${this.highBandGuideError}`);
    this.contrastGain = opts.contrastGain ?? TEMPORAL_DEFAULTS.contrastGain;
    if (!(this.contrastGain >= 1)) throw new ReshootError(`contrastGain must be >= 1 (1 = off), got ${this.contrastGain}`);
    this.contrastSigma = opts.contrastSigma ?? TEMPORAL_DEFAULTS.contrastSigma;
    this.contrastMapSigma = opts.contrastMapSigma ?? TEMPORAL_DEFAULTS.contrastMapSigma;
    if (!(this.contrastSigma > 0 && this.contrastMapSigma > 0)) throw new ReshootError(`contrastSigma and contrastMapSigma must be > 0 px, got ${this.contrastSigma} and ${this.contrastMapSigma}`);
    if ((this.highBandSigma > 0 || this.contrastGain > 1) && this.method !== 'separated') throw new ReshootError(`highBandSigma and contrastGain belong to method 'separated', not '${this.method}'`);
    flowSize(64, 64, this.flowScale);
    this.farneback = opts.farneback ?? (this.method === 'separated' ? SEPARATED_FARNEBACK : undefined);
    this.resets = new Set(opts.resetAt ?? []);
  }

  /**
   * Starts the recursion from a known state instead of a fresh one: the guide
   * and OUTPUT frame just before the next frame pushed. Used to carry across a
   * seam when segments are processed separately (prime segment k with
   * segment k-1's output at frame start_k - 1). The next push blends even if
   * its index is in resetAt.
   */
  async prime(guide: Frame | GrayFrame, output: Frame): Promise<void> {
    const fs = flowSize(output.width, output.height, this.flowScale);
    const gray = guide.data.length === guide.width * guide.height * 3 ? rgbToGray(guide as Frame) : (guide as GrayFrame);
    this.prevGuide = await resizeGray(gray, fs.width, fs.height);
    this.prevOut = output;
    this.primed = true;
    // Carrying on from another segment's output: its colour already holds a long history.
    this.sinceReset = this.colorMemory;
  }

  /** Frames pushed so far. */
  get frameIndex(): number {
    return this.index;
  }

  /**
   * Processes the next frame. `guide` is the input frame at the same time
   * (RGB or gray, any size with the same aspect; gray at the flow size is
   * cheapest), `generated` the generator's frame.
   */
  async push(guide: Frame | GrayFrame, generated: Frame, opts: PushOptions = {}): Promise<TemporalStep> {
    const step = await this.filter(guide, generated, opts.flow);
    let frame = step.frame;
    const k = this.keepUnchanged;
    if (k > 0 && guide.width === generated.width && guide.height === generated.height && guide.data.length === generated.data.length) {
      frame = keepUnchangedPixels(frame, generated, guide as Frame, k);
    }
    if (opts.fresh && !step.reset) {
      if (opts.fresh.width !== generated.width || opts.fresh.height !== generated.height) {
        throw new ReshootError(`fresh mask is ${opts.fresh.width}x${opts.fresh.height}, the generated frame ${generated.width}x${generated.height}`);
      }
      frame = keepGeneratedWhere(frame, generated, opts.fresh);
    }
    if (frame !== step.frame) this.prevOut = frame;
    // The recursion keeps the frame before the contrast restoration (fed back, it would compound).
    if (this.contrastGain > 1 && !step.reset) {
      frame = await restoreContrast(frame, generated, { maxGain: this.contrastGain, detailSigma: this.contrastSigma, mapSigma: this.contrastMapSigma });
    }
    return frame === step.frame ? step : { ...step, frame };
  }

  /** The Farneback settings of this filter's flow (for a caller that computes it: PushOptions.flow). */
  get flowOptions(): FarnebackOptions | undefined {
    return this.farneback;
  }

  private async filter(guide: Frame | GrayFrame, generated: Frame, given?: FlowField): Promise<TemporalStep> {
    const { width: W, height: H } = generated;
    if (generated.data.length !== W * H * 3) throw new ReshootError(`generated frame ${this.index} is not ${W}x${H} RGB`);
    const fs = flowSize(W, H, this.flowScale);
    const gray = guide.data.length === guide.width * guide.height * 3 ? rgbToGray(guide as Frame) : (guide as GrayFrame);
    const g = await resizeGray(gray, fs.width, fs.height);
    const t = this.index++;
    const reset = !this.prevOut || !this.prevGuide || (this.resets.has(t) && !this.carry && !this.primed);
    this.primed = false;
    if (this.prevOut && (this.prevOut.width !== W || this.prevOut.height !== H)) {
      throw new ReshootError(`generated frame ${t} is ${W}x${H}, earlier frames were ${this.prevOut.width}x${this.prevOut.height}`);
    }
    this.sinceReset = reset ? 0 : this.sinceReset + 1;
    if (reset || (this.method === 'blend' && this.strength === 0)) {
      this.prevGuide = g;
      this.prevOut = generated;
      return { frame: generated, reliable: 0, reset };
    }
    // Anchored in frame t: toPrev maps t -> t-1 (warps the previous output onto t), fromPrev t-1 -> t for the check.
    if (given && (given.width !== fs.width || given.height !== fs.height)) {
      throw new ReshootError(`given flow is ${given.width}x${given.height}, the flow size is ${fs.width}x${fs.height}`);
    }
    const toPrev = given ?? (await denseFlow(g, this.prevGuide!, this.farneback));
    const mask = this.occlusion === 'guard' ? motionBoundaryMask(toPrev) : nonOcclusionMask(toPrev, await denseFlow(this.prevGuide!, g, this.farneback));
    // The high band's own, looser guard (highBandSigma > 0) starts from the same motion-boundary mask.
    const looseMask = this.method === 'separated' && this.highBandSigma > 0 ? new Uint8Array(mask) : undefined;
    if (this.maxGuideError < 255 || (looseMask && this.highBandGuideError < 255)) {
      // Photometric guard on the guide: where the previous guide frame, warped, does not
      // reproduce the current one, the flow is wrong there and blending would smear.
      const back = await warpByFlow(this.prevGuide!, toPrev);
      const lim = this.maxGuideError, loose = this.highBandGuideError;
      for (let i = 0; i < mask.length; i++) {
        const e = Math.abs(back.data[i] - g.data[i]);
        if (mask[i] && e > lim) mask[i] = 0;
        if (looseMask && looseMask[i] && e > loose) looseMask[i] = 0;
      }
    }
    if (this.method === 'separated') return this.separated(g, generated, toPrev, mask, fs, looseMask);
    const warped = await warpByFlow(this.prevOut!, toPrev, { interpolation: this.interpolation });
    const out = new Uint8Array(W * H * 3);
    const a = this.strength;
    const G = generated.data, P = warped.data;
    const sx = fs.width / W, sy = fs.height / H;
    let used = 0;
    // Nearest mask pixel per column, computed once per frame rather than per pixel.
    const col = new Int32Array(W);
    for (let x = 0; x < W; x++) col[x] = Math.min(fs.width - 1, Math.floor((x + 0.5) * sx));
    for (let y = 0, o = 0; y < H; y++) {
      const my = Math.min(fs.height - 1, Math.floor((y + 0.5) * sy)) * fs.width;
      for (let x = 0; x < W; x++, o += 3) {
        if (mask[my + col[x]]) {
          used++;
          out[o] = G[o] + a * (P[o] - G[o]) + 0.5;
          out[o + 1] = G[o + 1] + a * (P[o + 1] - G[o + 1]) + 0.5;
          out[o + 2] = G[o + 2] + a * (P[o + 2] - G[o + 2]) + 0.5;
        } else {
          out[o] = G[o];
          out[o + 1] = G[o + 1];
          out[o + 2] = G[o + 2];
        }
      }
    }
    const frame: Frame = { width: W, height: H, data: out };
    this.prevGuide = g;
    this.prevOut = frame;
    return { frame, reliable: used / (W * H), reset: false };
  }

  /** The 'separated' step: dejitter, global colour, smooth offset field, distance-weighted detail blend. */
  private async separated(g: GrayFrame, input: Frame, toPrev: FlowField, mask: Uint8Array, fs: { width: number; height: number }, looseMask?: Uint8Array): Promise<TemporalStep> {
    const { width: W, height: H } = input;
    let generated = input;
    const warped = await warpByFlow(this.prevOut!, toPrev, { interpolation: this.interpolation });
    let kept = 0;
    for (let i = 0; i < mask.length; i++) kept += mask[i];
    const soft = await softenMask(mask, fs.width, fs.height);
    // Statistics at the flow size: area-averaged copies of G and W, on the mask's grid.
    let [gs, ws] = await Promise.all([downsampleRgb(generated, fs.width, fs.height), downsampleRgb(warped, fs.width, fs.height)]);
    let shift: { dx: number; dy: number } | undefined;
    if (this.dejitter > 0) {
      // Against the guide, not W: W inherits every earlier correction, so aligning to it would drift.
      const p = await globalShift(rgbToGray({ width: fs.width, height: fs.height, data: gs }).data, g.data, fs.width, fs.height);
      // Below a twentieth of a pixel the resampling would cost more sharpness than the shift is worth.
      if (p && Math.hypot(p.dx, p.dy) * (W / fs.width) >= 0.05) {
        shift = { dx: this.dejitter * p.dx * (W / fs.width), dy: this.dejitter * p.dy * (H / fs.height) };
        generated = await shiftFrame(generated, shift.dx, shift.dy);
        gs = await downsampleRgb(generated, fs.width, fs.height);
      }
    }
    const [gb, wb] = await Promise.all([blurRgb(gs, fs.width, fs.height, 1.5), blurRgb(ws, fs.width, fs.height, 1.5)]);
    const colorStrength = this.colorStrength > 0 ? Math.max(this.colorStrength, 1 - 1 / Math.min(this.sinceReset + 1, this.colorMemory)) : 0;
    // The full match (strength 1); the blend applies colorStrength of it, and the field is the residual after the FULL match.
    const affine = this.colorStrength > 0 ? globalColorFit(gb, wb, soft, 1) : { gain: [1, 1, 1] as [number, number, number], offset: [0, 0, 0] as [number, number, number] };
    let field: Float32Array | undefined, smallField: Float32Array | undefined;
    if (this.fieldStrength > 0) {
      const sigma = Math.max(0.5, this.fieldSigma * (fs.width / W));
      smallField = await lowFrequencyField(gs, ws, soft, fs.width, fs.height, affine, sigma);
      field = await upsampleFloat(smallField, fs.width, fs.height, 3, W, H);
    }
    let data: Uint8Array;
    if (this.highBandSigma > 0) {
      const radius = this.detailRadius;
      const { weight: low } = await detailWeight(gs, ws, soft, smallField, affine, fs.width, fs.height, { strength: this.detailStrength, tolerance: this.detailTolerance, radius });
      const looseSoft = looseMask ? await softenMask(looseMask, fs.width, fs.height) : soft;
      const { weight: high } = await detailWeight(gs, ws, looseSoft, smallField, affine, fs.width, fs.height, { strength: this.highBandStrength, tolerance: this.highBandTolerance, radius });
      const [lowFull, highFull] = await Promise.all([upsampleFloat(low, fs.width, fs.height, 1, W, H), upsampleFloat(high, fs.width, fs.height, 1, W, H)]);
      data = await fusedBlendBands(generated.data, warped.data, lowFull, highFull, field, affine, colorStrength, this.fieldStrength, W, H, this.highBandSigma);
    } else if (this.detailGrid === 'flow') {
      const { weight } = await detailWeight(gs, ws, soft, smallField, affine, fs.width, fs.height, { strength: this.detailStrength, tolerance: this.detailTolerance, radius: this.detailRadius });
      const wFull = await upsampleFloat(weight, fs.width, fs.height, 1, W, H);
      data = fusedBlend(generated.data, warped.data, wFull, field, affine, colorStrength, this.fieldStrength);
    } else {
      const confidence = await upsampleFloat(soft, fs.width, fs.height, 1, W, H);
      ({ data } = await blendDetail(generated.data, warped.data, confidence, field, affine, W, H, {
        strength: this.detailStrength,
        tolerance: this.detailTolerance,
        radius: this.detailRadius,
        colorStrength,
        fieldStrength: this.fieldStrength,
      }));
    }
    const frame: Frame = { width: W, height: H, data };
    this.prevGuide = g;
    this.prevOut = frame;
    return { frame, reliable: kept / mask.length, reset: false, color: { gain: [...affine.gain], offset: [...affine.offset] }, shift };
  }
}

/**
 * Runs the consistency filter over in-memory frames (tests, notebooks).
 * `initial` primes the recursion (see TemporalConsistency.prime).
 */
export async function applyTemporalConsistency(
  guide: (Frame | GrayFrame)[],
  generated: Frame[],
  opts: TemporalOptions & { initial?: { guide: Frame | GrayFrame; output: Frame } } = {},
): Promise<Frame[]> {
  if (guide.length !== generated.length) throw new ReshootError(`guide has ${guide.length} frames, generated ${generated.length}`);
  const tc = new TemporalConsistency(opts);
  if (opts.initial) await tc.prime(opts.initial.guide, opts.initial.output);
  const out: Frame[] = [];
  for (let i = 0; i < generated.length; i++) out.push((await tc.push(guide[i], generated[i])).frame);
  return out;
}

export interface TemporalVideoOptions extends TemporalOptions {
  /** 2 (default): the guide's flow is computed one frame ahead on a worker thread; 1: all on this thread. Same output bytes. */
  threads?: number;
  /** libx264 preset of the output. Default TEMPORAL_ENCODE.preset. */
  preset?: string;
  /** libx264 constant rate factor of the output. Default TEMPORAL_ENCODE.crf. */
  crf?: number;
  overwrite?: boolean;
  onProgress?: ProgressFn;
}

/**
 * Output encoding of temporalVideo (`reshoot temporal`). x264 'veryfast' at CRF 15 instead of the
 * encoder's default 'medium' at 18: on 80 frames 640x480 (vtest, bench/temporal-cli-speed.ts's
 * clip) it took 1.0 CPU s instead of 2.3 and its PSNR against the frames it encoded was 40.3 dB
 * against 40.0 (the same quality or better; 'veryfast' at 18 gave 38.8 dB), at 1.8x the file size.
 * The encode was about a fifth of the command's CPU time (issue 16's 15 fps target).
 */
export const TEMPORAL_ENCODE = { preset: 'veryfast', crf: 15 } as const;

export interface TemporalVideoResult {
  frames: number;
  /** Mean fraction of pixels blended over the frames that were not resets. */
  meanReliable: number;
  resets: number;
  seconds: number;
}

/**
 * Applies the stage to video files, streaming: `generated` and `guide` are
 * decoded side by side (the guide as gray at the flow size), the result is
 * encoded to `outPath` at the generated clip's frame rate. Both clips must
 * have the same number of frames; sizes may differ if the aspect matches.
 */
export async function temporalVideo(generatedPath: string, guidePath: string, outPath: string, opts: TemporalVideoOptions = {}): Promise<TemporalVideoResult> {
  const [gi, ii] = await Promise.all([probeVideo(generatedPath), probeVideo(guidePath)]);
  if (gi.frameCount !== ii.frameCount) {
    throw new ReshootError(`${generatedPath} has ${gi.frameCount} frames but its guide ${guidePath} has ${ii.frameCount}: they must match frame for frame`);
  }
  if (Math.abs(gi.width / gi.height - ii.width / ii.height) > 0.02) {
    throw new ReshootError(`${generatedPath} (${gi.width}x${gi.height}) and its guide ${guidePath} (${ii.width}x${ii.height}) have different aspect ratios`);
  }
  const tc = new TemporalConsistency(opts);
  const fs = flowSize(gi.width, gi.height, tc.flowScale);
  const threads = opts.threads ?? 2;
  if (!(threads === 1 || threads === 2)) throw new ReshootError(`temporal threads must be 1 or 2, got ${String(threads)}`);
  const started = performance.now();
  let frames = 0, reliableSum = 0, blended = 0, resets = 0;
  // With 2 threads the guide's flow of frame t+1 is computed on a worker while frame t is filtered
  // (bit-identical flows: the same denseFlow on the same OpenCV build).
  const ahead = threads === 2 ? new FlowAhead(tc.flowOptions) : null;
  async function* run(): AsyncGenerator<Frame> {
    const gens = decodeFrames(generatedPath, { info: gi });
    const guides = decodeFrames(guidePath, { info: ii, gray: true, scale: fs })[Symbol.asyncIterator]();
    let prevGuide: GrayFrame | undefined;
    // Guide frames read ahead of the filter, each with its flow to the one before. The filter decides
    // where it restarts and then ignores the flow (one wasted flow per reset, no second copy of that rule).
    const queue: { guide: GrayFrame; flow?: Promise<FlowField> }[] = [];
    const readGuide = async (): Promise<boolean> => {
      const r = await guides.next();
      if (r.done) return false;
      const g = r.value as GrayFrame;
      const flow = ahead && prevGuide ? ahead.flow(g, prevGuide) : undefined;
      flow?.catch(() => undefined);
      queue.push({ guide: g, flow });
      prevGuide = g;
      return true;
    };
    try {
      for (;;) {
        while (queue.length < 3 && (await readGuide()));
        const a = await gens.next();
        const b = queue.shift();
        if (a.done || !b) {
          if (!!a.done !== !b) throw new ReshootError(`${a.done ? generatedPath : guidePath} ended early at frame ${frames}`);
          break;
        }
        const step = await tc.push(b.guide, a.value, { flow: b.flow ? await b.flow : undefined });
        frames++;
        if (step.reset) resets++;
        else {
          blended++;
          reliableSum += step.reliable;
        }
        opts.onProgress?.(frames, gi.frameCount);
        yield step.frame;
      }
    } finally {
      await Promise.all([gens.return(undefined), guides.return?.(undefined)]);
    }
  }
  try {
    await encodeFrames(run(), outPath, { fps: gi.fps, preset: opts.preset ?? TEMPORAL_ENCODE.preset, crf: opts.crf ?? TEMPORAL_ENCODE.crf, overwrite: opts.overwrite });
  } finally {
    await ahead?.close();
  }
  return { frames, meanReliable: blended ? reliableSum / blended : 0, resets, seconds: (performance.now() - started) / 1000 };
}

/** out = F + (w / 255) (G - F): the generated frame where `weight` is 255, the filtered one where it is 0. */
export function keepGeneratedWhere(filtered: Frame, generated: Frame, weight: GrayFrame): Frame {
  const F = filtered.data, G = generated.data, W = weight.data;
  const out = new Uint8Array(F);
  for (let i = 0, j = 0; i < W.length; i++, j += 3) {
    const w = W[i];
    if (w === 0) continue;
    const a = w / 255;
    out[j] = Math.round(F[j] + a * (G[j] - F[j]));
    out[j + 1] = Math.round(F[j + 1] + a * (G[j + 1] - F[j + 1]));
    out[j + 2] = Math.round(F[j + 2] + a * (G[j + 2] - F[j + 2]));
  }
  return { width: filtered.width, height: filtered.height, data: out };
}

/** See TemporalOptions.keepUnchanged: out = G + w (F - G), w = clamp((d - k) / k, 0, 1), d = max_c |G - guide|. */
export function keepUnchangedPixels(filtered: Frame, generated: Frame, guide: Frame, k: number): Frame {
  const F = filtered.data, G = generated.data, I = guide.data;
  const out = new Uint8Array(F.length);
  for (let j = 0; j < F.length; j += 3) {
    const d = Math.max(Math.abs(G[j] - I[j]), Math.abs(G[j + 1] - I[j + 1]), Math.abs(G[j + 2] - I[j + 2]));
    const w = d <= k ? 0 : d >= 2 * k ? 1 : (d - k) / k;
    out[j] = Math.round(G[j] + w * (F[j] - G[j]));
    out[j + 1] = Math.round(G[j + 1] + w * (F[j + 1] - G[j + 1]));
    out[j + 2] = Math.round(G[j + 2] + w * (F[j + 2] - G[j + 2]));
  }
  return { width: filtered.width, height: filtered.height, data: out };
}
