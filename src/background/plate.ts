import { loadOpenCV, type CV } from '../cv/opencv.js';
import { ReshootError } from '../util/errors.js';
import type { Frame, GrayFrame, ProgressFn } from '../video/types.js';
import { MaskedMedian } from './median.js';

/**
 * Random access to the (stabilized) frames and person masks a plate is built
 * from. A FrameStore pair or plain arrays both fit (see sourceFromArrays); the
 * plate code reads frames one at a time, so memory does not grow with length.
 */
export interface PlateSource {
  width: number;
  height: number;
  length: number;
  frame(index: number): Promise<Frame>;
  /** Person alpha 0-255 for frame `index` (255 = person), or null when unknown (the frame counts as all background). */
  mask?(index: number): Promise<GrayFrame | null>;
}

export type InpaintMethod = 'telea' | 'ns' | 'none';

export interface PlateOptions {
  /** First frame (inclusive) and last (exclusive) the plate may use. Default: the whole source. */
  start?: number;
  end?: number;
  /** Static plate: at most this many frames, evenly spaced, enter the median. Default 25. */
  maxSamples?: number;
  /** Mask alpha at or above this counts as person. Default 32 (soft mask edges count as person). */
  maskThreshold?: number;
  /** Grow the person mask by this many pixels before excluding it (mask edges are never exact). Default 4. */
  dilate?: number;
  /** A pixel needs at least this many clean samples, else it is inpainted. Default 1. */
  minObservations?: number;
  /** How pixels without clean samples are filled: OpenCV Telea (default), Navier-Stokes, or left black ('none'). */
  inpaint?: InpaintMethod;
  /** cv.inpaint's neighbourhood radius in pixels. Default 5. */
  inpaintRadius?: number;
  /** Clean samples needed for full confidence. Default 5. */
  minSupport?: number;
  /** Interquartile spread (0-255) of the clean samples at which confidence reaches 0. Default 64. */
  spreadScale?: number;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

/** A background plate with what is known about each pixel. */
export interface Plate {
  /** The background image (RGB). */
  plate: Frame;
  /**
   * 0-255 per pixel: 255 * min(1, samples / minSupport) * max(0, 1 - spread / spreadScale);
   * 0 where the pixel was inpainted.
   */
  confidence: GrayFrame;
  /** 255 where no clean observation existed (the pixel was inpainted), else 0. */
  holes: GrayFrame;
  /** Share of the frame that was inpainted (0..1). */
  inpaintedFraction: number;
  /** Frames that entered the median. */
  samples: number[];
}

export interface SlidingPlateOptions extends Omit<PlateOptions, 'maxSamples'> {
  /** Frames in each window (centred on the frame, shifted inwards at the clip ends). Default 30. */
  window?: number;
  /** Average this many consecutive window plates (odd; 1 = off). Default 3. */
  smoothing?: number;
  /** Compute window plates every `step` frames and blend linearly in between. Default 1 (every frame). */
  step?: number;
  /** Use only every `stride`-th frame (video index % stride === 0) inside each window. Default 1 (all). */
  stride?: number;
}

/** One plate of a sliding-window sequence. */
export interface FramePlate extends Plate {
  index: number;
}

interface Resolved {
  maskThreshold: number;
  dilate: number;
  minObservations: number;
  inpaint: InpaintMethod;
  inpaintRadius: number;
  minSupport: number;
  spreadScale: number;
}

function resolveOptions(opts: PlateOptions | SlidingPlateOptions): Resolved {
  const r: Resolved = {
    maskThreshold: opts.maskThreshold ?? 32,
    dilate: opts.dilate ?? 4,
    minObservations: opts.minObservations ?? 1,
    inpaint: opts.inpaint ?? 'telea',
    inpaintRadius: opts.inpaintRadius ?? 5,
    minSupport: opts.minSupport ?? 5,
    spreadScale: opts.spreadScale ?? 64,
  };
  if (!(r.maskThreshold >= 1 && r.maskThreshold <= 255)) throw new ReshootError(`plate: mask threshold must be 1..255 (got ${r.maskThreshold})`);
  if (!(Number.isInteger(r.dilate) && r.dilate >= 0)) throw new ReshootError(`plate: dilate must be a whole number >= 0 (got ${r.dilate})`);
  if (!(Number.isInteger(r.minObservations) && r.minObservations >= 1)) {
    throw new ReshootError(`plate: minObservations must be a whole number >= 1 (got ${r.minObservations})`);
  }
  if (!['telea', 'ns', 'none'].includes(r.inpaint)) throw new ReshootError(`plate: inpaint must be telea, ns or none (got "${r.inpaint}")`);
  if (!(r.inpaintRadius > 0)) throw new ReshootError(`plate: inpaint radius must be > 0 (got ${r.inpaintRadius})`);
  if (!(r.minSupport >= 1)) throw new ReshootError(`plate: minSupport must be >= 1 (got ${r.minSupport})`);
  if (!(r.spreadScale > 0)) throw new ReshootError(`plate: spreadScale must be > 0 (got ${r.spreadScale})`);
  return r;
}

function range(source: PlateSource, opts: { start?: number; end?: number }): [number, number] {
  const start = opts.start ?? 0;
  const end = opts.end ?? source.length;
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= source.length && start < end)) {
    throw new ReshootError(`plate: frame range ${start}..${end} is not inside 0..${source.length} or is empty`);
  }
  return [start, end];
}

/** Plain arrays as a PlateSource (masks optional, entries may be null). */
export function sourceFromArrays(frames: Frame[], masks?: (GrayFrame | null)[]): PlateSource {
  if (frames.length === 0) throw new ReshootError('plate: no frames');
  const { width, height } = frames[0];
  if (masks && masks.length !== frames.length) throw new ReshootError(`plate: ${frames.length} frames but ${masks.length} masks`);
  return {
    width,
    height,
    length: frames.length,
    frame: async (i) => frames[i],
    mask: masks ? async (i) => masks[i] : undefined,
  };
}

/**
 * 1 where the frame shows background: alpha < threshold after growing the
 * person region by `dilate` pixels (elliptical kernel). null mask = all clean.
 */
export function cleanMask(cv: CV, mask: GrayFrame | null, width: number, height: number, threshold: number, dilate: number): Uint8Array | null {
  if (!mask) return null;
  if (mask.width !== width || mask.height !== height || mask.data.length !== width * height) {
    throw new ReshootError(`plate: mask is ${mask.width}x${mask.height}, frames are ${width}x${height}`);
  }
  const n = width * height;
  const person = new Uint8Array(n);
  for (let i = 0; i < n; i++) person[i] = mask.data[i] >= threshold ? 255 : 0;
  let grown = person;
  if (dilate > 0) {
    const src = cv.matFromArray(height, width, cv.CV_8UC1, person as unknown as number[]);
    const dst = new cv.Mat();
    const kernel = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(2 * dilate + 1, 2 * dilate + 1));
    try {
      cv.dilate(src, dst, kernel);
      grown = new Uint8Array(dst.data as Uint8Array);
    } finally {
      src.delete();
      dst.delete();
      kernel.delete();
    }
  }
  const clean = new Uint8Array(n);
  for (let i = 0; i < n; i++) clean[i] = grown[i] === 0 ? 1 : 0;
  return clean;
}

/** Fills the pixels where holes[p] is 255 from their surroundings (cv.inpaint). */
export function inpaintHoles(cv: CV, image: Frame, holes: GrayFrame, method: Exclude<InpaintMethod, 'none'>, radius: number): Frame {
  const src = cv.matFromArray(image.height, image.width, cv.CV_8UC3, image.data as unknown as number[]);
  const mask = cv.matFromArray(holes.height, holes.width, cv.CV_8UC1, holes.data as unknown as number[]);
  const dst = new cv.Mat();
  try {
    cv.inpaint(src, mask, dst, radius, method === 'ns' ? cv.INPAINT_NS : cv.INPAINT_TELEA);
    return { width: image.width, height: image.height, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    src.delete();
    mask.delete();
    dst.delete();
  }
}

/** Turns the current median state into a Plate (holes, inpainting, confidence). */
function finish(cv: CV, acc: MaskedMedian, r: Resolved, samples: number[]): Plate {
  const { image, spread } = acc.median();
  const { width, height } = image;
  const n = width * height;
  const holes = new Uint8Array(n);
  const confidence = new Uint8Array(n);
  let holeCount = 0;
  for (let p = 0; p < n; p++) {
    const k = acc.count[p];
    if (k < r.minObservations) {
      holes[p] = 255;
      holeCount++;
      continue;
    }
    const support = Math.min(1, k / r.minSupport);
    const agreement = Math.max(0, 1 - spread[p] / r.spreadScale);
    confidence[p] = Math.round(255 * support * agreement);
  }
  const holesFrame: GrayFrame = { width, height, data: holes };
  let plate = image;
  if (holeCount > 0) {
    if (holeCount === n) throw new ReshootError('plate: no frame shows any background pixel (the masks cover everything)');
    // Pixels with too few samples still hold a median of what they have; clear them so inpainting does not see it.
    for (let p = 0; p < n; p++) if (holes[p]) image.data[p * 3] = image.data[p * 3 + 1] = image.data[p * 3 + 2] = 0;
    if (r.inpaint !== 'none') plate = inpaintHoles(cv, image, holesFrame, r.inpaint, r.inpaintRadius);
  }
  return { plate, confidence: { width, height, data: confidence }, holes: holesFrame, inpaintedFraction: holeCount / n, samples };
}

/** Indices of at most `k` frames evenly spread over start..end-1 (both ends included). */
export function evenSamples(start: number, end: number, k: number): number[] {
  const len = end - start;
  if (len <= k) return Array.from({ length: len }, (_, i) => start + i);
  if (k === 1) return [start + Math.floor((len - 1) / 2)];
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const idx = start + Math.round((i * (len - 1)) / (k - 1));
    if (out[out.length - 1] !== idx) out.push(idx);
  }
  return out;
}

/**
 * One plate for a static (or stabilized) shot: per-pixel temporal median of the
 * frames where the person mask is off, over up to `maxSamples` evenly spaced
 * frames; pixels no frame shows clean are inpainted.
 */
export async function computePlate(source: PlateSource, opts: PlateOptions = {}): Promise<Plate> {
  const r = resolveOptions(opts);
  const [start, end] = range(source, opts);
  const maxSamples = opts.maxSamples ?? 25;
  if (!(Number.isInteger(maxSamples) && maxSamples >= 1)) throw new ReshootError(`plate: maxSamples must be a whole number >= 1 (got ${maxSamples})`);
  const cv = await loadOpenCV();
  const samples = evenSamples(start, end, maxSamples);
  const acc = new MaskedMedian(source.width, source.height, samples.length);
  opts.onProgress?.(0, samples.length);
  for (let i = 0; i < samples.length; i++) {
    opts.signal?.throwIfAborted();
    const t = samples[i];
    const frame = await source.frame(t);
    const mask = source.mask ? await source.mask(t) : null;
    acc.add(frame, cleanMask(cv, mask, source.width, source.height, r.maskThreshold, r.dilate));
    opts.onProgress?.(i + 1, samples.length);
  }
  return finish(cv, acc, r, samples);
}

/** The window [lo, hi) used for frame t: centred, shifted inwards at the clip ends. */
export function windowOf(t: number, window: number, length: number): [number, number] {
  const lo = Math.max(0, Math.min(t - Math.floor(window / 2), length - window));
  return [lo, Math.min(length, lo + window)];
}

/**
 * One plate per frame for scenes that change (light, parked cars, slow pans
 * that stabilization leaves): the masked median over a window of `window`
 * frames around each frame, then averaged over `smoothing` consecutive plates
 * (default 3) so window steps do not flicker. Yields frames start..end-1 in
 * order. The window is maintained incrementally (frames in and out as it
 * moves); frames are re-read from the source to remove them, so memory is the
 * sorted samples (width*height*3*window bytes) plus a few frames and masks.
 *
 * With `step` > 1 the window plates are computed only at anchor frames (every
 * `step`-th frame and the last), smoothed over `smoothing` consecutive
 * anchors, and the frames between two anchors get the linear blend of the
 * two; that saves the median, inpainting and confidence passes between
 * anchors. Every frame still enters and leaves the window once, which is the
 * larger cost: `stride` > 1 uses only every `stride`-th frame inside the
 * windows (video index % stride === 0), dividing that cost by `stride`.
 * step = stride (e.g. 5) is the fast setting for slowly changing scenes.
 *
 * Anchors just outside start..end are computed too (when they exist), so a
 * video processed segment by segment gets the same plates as in one call.
 */
export async function* slidingPlates(source: PlateSource, opts: SlidingPlateOptions = {}): AsyncGenerator<FramePlate> {
  const r = resolveOptions(opts);
  const [start, end] = range(source, opts);
  const L = source.length;
  const window = Math.min(opts.window ?? 30, L);
  const smoothing = opts.smoothing ?? 3;
  const step = opts.step ?? 1;
  if (!(Number.isInteger(window) && window >= 1)) throw new ReshootError(`plate: window must be a whole number >= 1 (got ${opts.window})`);
  if (!(Number.isInteger(smoothing) && smoothing >= 1 && smoothing % 2 === 1)) {
    throw new ReshootError(`plate: smoothing must be an odd whole number >= 1 (got ${smoothing})`);
  }
  if (!(Number.isInteger(step) && step >= 1)) throw new ReshootError(`plate: step must be a whole number >= 1 (got ${opts.step})`);
  const stride = opts.stride ?? 1;
  if (!(Number.isInteger(stride) && stride >= 1 && stride <= window)) {
    throw new ReshootError(`plate: stride must be a whole number from 1 to the window (${window}); got ${opts.stride}`);
  }
  const sampled = (i: number) => i % stride === 0;
  const half = (smoothing - 1) / 2;
  const cv = await loadOpenCV();
  const acc = new MaskedMedian(source.width, source.height, Math.ceil(window / stride));
  // Clean masks of the frames in the window, so removing a frame does not redo its dilation.
  const cleans = new Map<number, Uint8Array | null>();
  const cleanOf = async (i: number) => {
    if (!cleans.has(i)) cleans.set(i, cleanMask(cv, source.mask ? await source.mask(i) : null, source.width, source.height, r.maskThreshold, r.dilate));
    return cleans.get(i) ?? null;
  };
  let lo = 0;
  let hi = 0; // frames lo..hi-1 are in the accumulator
  const drop = async (i: number) => {
    acc.remove(await source.frame(i), await cleanOf(i));
    cleans.delete(i);
  };
  const rawPlate = async (t: number): Promise<Plate> => {
    const [wlo, whi] = windowOf(t, window, L);
    // Windows only move forward here: drop what fell out, add what came in.
    if (wlo >= hi || whi <= lo) {
      for (let i = lo; i < hi; i++) if (sampled(i)) await drop(i);
      lo = hi = wlo;
    }
    for (; lo < wlo; lo++) if (sampled(lo)) await drop(lo);
    for (; hi < whi; hi++) if (sampled(hi)) acc.add(await source.frame(hi), await cleanOf(hi));
    return finish(cv, acc, r, Array.from({ length: whi - wlo }, (_, i) => wlo + i).filter(sampled));
  };

  const anchors: number[] = [];
  for (let a = 0; a < L; a += step) anchors.push(a);
  if (anchors[anchors.length - 1] !== L - 1) anchors.push(L - 1);
  const anchorAtOrBefore = (t: number) => Math.min(Math.floor(t / step), anchors.length - 1);
  const raw = new Map<number, Plate>();
  const smooth = new Map<number, Plate>();
  let nextRaw = Math.max(0, anchorAtOrBefore(start) - half);
  const smoothed = async (k: number): Promise<Plate> => {
    const cached = smooth.get(k);
    if (cached) return cached;
    const last = Math.min(anchors.length - 1, k + half);
    for (; nextRaw <= last; nextRaw++) raw.set(nextRaw, await rawPlate(anchors[nextRaw]));
    const group: Plate[] = [];
    for (let j = Math.max(0, k - half); j <= last; j++) group.push(raw.get(j)!);
    const p = averagePlates(group, raw.get(k)!);
    smooth.set(k, p);
    return p;
  };

  const total = end - start;
  opts.onProgress?.(0, total);
  for (let t = start; t < end; t++) {
    opts.signal?.throwIfAborted();
    const k = anchorAtOrBefore(t);
    let plate: Plate;
    if (anchors[k] === t) plate = await smoothed(k);
    else {
      const a = await smoothed(k);
      const b = await smoothed(k + 1);
      plate = blendPlates(a, b, (t - anchors[k]) / (anchors[k + 1] - anchors[k]));
    }
    for (const j of [...raw.keys()]) if (j < k - half) raw.delete(j);
    for (const j of [...smooth.keys()]) if (j < k) smooth.delete(j);
    yield { index: t, ...plate };
    opts.onProgress?.(t - start + 1, total);
  }
}

/** (1 - w) * a + w * b (w rounded to 1/256) for plate and confidence; holes are the union of both. */
export function blendPlates(a: Plate, b: Plate, w: number): Plate {
  const { width, height } = a.plate;
  // Fixed point (weights in 1/256): this runs once per frame on full-size plates.
  const wb = Math.round(w * 256);
  const wa = 256 - wb;
  const mix = (x: Uint8Array, y: Uint8Array) => {
    const out = new Uint8Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i] * wa + y[i] * wb + 128) >> 8;
    return out;
  };
  const holes = new Uint8Array(width * height);
  let n = 0;
  for (let i = 0; i < holes.length; i++) {
    if (a.holes.data[i] || b.holes.data[i]) {
      holes[i] = 255;
      n++;
    }
  }
  return {
    plate: { width, height, data: mix(a.plate.data, b.plate.data) },
    confidence: { width, height, data: mix(a.confidence.data, b.confidence.data) },
    holes: { width, height, data: holes },
    inpaintedFraction: n / holes.length,
    samples: [...new Set([...a.samples, ...b.samples])].sort((x, y) => x - y),
  };
}

/** Mean of plates and confidences (rounded); holes and inpainted share come from `own`. */
export function averagePlates(group: Plate[], own: Plate): Plate {
  if (group.length === 1) return own;
  const { width, height } = own.plate;
  const plate = new Uint8Array(width * height * 3);
  const conf = new Uint8Array(width * height);
  const g = group.length;
  for (let i = 0; i < plate.length; i++) {
    let s = 0;
    for (let k = 0; k < g; k++) s += group[k].plate.data[i];
    plate[i] = Math.round(s / g);
  }
  for (let i = 0; i < conf.length; i++) {
    let s = 0;
    for (let k = 0; k < g; k++) s += group[k].confidence.data[i];
    conf[i] = Math.round(s / g);
  }
  return {
    plate: { width, height, data: plate },
    confidence: { width, height, data: conf },
    holes: own.holes,
    inpaintedFraction: own.inpaintedFraction,
    samples: own.samples,
  };
}
