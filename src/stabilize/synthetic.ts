/**
 * Synthetic shaky clips with ground truth, made by warping a still image:
 * for tests, benchmarks and notebooks. The true camera path is given as
 * PathParams (about the frame centre, frame 0 -> frame t) = intentional part
 * (a constant-velocity pan, optional) + shake (sinusoids or seeded noise).
 */
import { loadOpenCV } from '../cv/opencv.js';
import type { Frame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { warpFrameSync } from './correction.js';
import { compose, fromParams, invert, translation, type Mat2x3, type PathParams } from './similarity.js';
import { compose3, cornersOf, homographyFrom4, identity3, toMat3, type Mat3x3 } from '../geometry/homography.js';

export interface ShakyClipOptions {
  frames: number;
  width: number;
  height: number;
  /** Intentional pan, px per frame of the frame-0 centre's position in frame t (default [0, 0]). */
  pan?: [number, number];
  /** Shake amplitude in px (default 4) and degrees (default 0.5). */
  amplitude?: number;
  amplitudeDeg?: number;
  /** 'sine': sum of two sinusoids with periods 2.7 and 5.3 frames; 'noise': seeded uniform noise (default). */
  kind?: 'sine' | 'noise';
  seed?: number;
}

export interface ShakyClip {
  frames: Frame[];
  /** True path P_t (frame 0 -> frame t). */
  path: PathParams[];
  /** Intentional part of the path (the pan). */
  intentional: PathParams[];
  /** path - intentional, per channel. */
  shake: PathParams[];
  /** True inter-frame motions M_t = P_t ∘ P_{t-1}^-1 (index 0 identity). */
  interframe: Mat2x3[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/** Frames cut from the middle of `base` (must be larger than width x height plus the motion). */
export async function makeShakyClip(base: Frame, opts: ShakyClipOptions): Promise<ShakyClip> {
  const cv = await loadOpenCV();
  const { frames: n, width, height } = opts;
  if (base.width < width || base.height < height) throw new ReshootError(`base image ${base.width}x${base.height} is smaller than ${width}x${height}`);
  const [vx, vy] = opts.pan ?? [0, 0];
  const A = opts.amplitude ?? 4;
  const Ad = ((opts.amplitudeDeg ?? 0.5) * Math.PI) / 180;
  const r = rng(opts.seed ?? 7);
  const path: PathParams[] = [];
  const intentional: PathParams[] = [];
  const shake: PathParams[] = [];
  for (let t = 0; t < n; t++) {
    let s: PathParams;
    if (t === 0) s = { x: 0, y: 0, angle: 0, scale: 1 };
    else if (opts.kind === 'sine') {
      const w1 = (2 * Math.PI) / 2.7, w2 = (2 * Math.PI) / 5.3;
      s = { x: A * Math.sin(w1 * t), y: A * Math.sin(w2 * t + 1), angle: Ad * Math.sin(w1 * t + 2), scale: 1 };
    } else s = { x: A * (2 * r() - 1), y: A * (2 * r() - 1), angle: Ad * (2 * r() - 1), scale: 1 };
    const i: PathParams = { x: vx * t, y: vy * t, angle: 0, scale: 1 };
    intentional.push(i);
    shake.push(s);
    path.push({ x: i.x + s.x, y: i.y + s.y, angle: s.angle, scale: 1 });
  }
  // base -> frame 0: window centred in the base image
  const G0 = translation(-(base.width - width) / 2, -(base.height - height) / 2);
  const frames: Frame[] = [];
  const interframe: Mat2x3[] = [];
  let prevP: Mat2x3 | undefined;
  for (const p of path) {
    const P = fromParams(p, width, height);
    const G = compose(P, G0);
    const warped = warpFrameSync(cv, base, G, 'replicate');
    // crop the top-left width x height (warpFrameSync keeps the source size)
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) data.set(warped.data.subarray(y * base.width * 3, y * base.width * 3 + width * 3), y * width * 3);
    frames.push({ width, height, data });
    interframe.push(prevP ? compose(P, invert(prevP)) : [1, 0, 0, 0, 1, 0]);
    prevP = P;
  }
  return { frames, path, intentional, shake, interframe };
}

export interface PlanarClipOptions {
  frames: number;
  width: number;
  height: number;
  /** Intended pan: content px per frame (default [0, 0]). */
  pan?: [number, number];
  /** Similarity shake: px (default 3) and degrees (default 0.3), seeded noise. */
  amplitude?: number;
  amplitudeDeg?: number;
  /**
   * Perspective wobble (default 0: none): each frame corner moves by up to this
   * many px (two sinusoids of periods 3.1 and 4.7 frames with seeded phases per
   * corner and axis), the frame in between by the homography through the four corners.
   */
  wobble?: number;
  seed?: number;
}

export interface PlanarClip {
  frames: Frame[];
  /** True camera motion M_t: frame 0 px -> frame t px (3x3; M_0 = identity). */
  motion: Mat3x3[];
  /** The intended part of M_t (the pan): I_t = translation(pan * t). */
  intended: Mat3x3[];
}

/**
 * A planar scene (a still) filmed by a camera whose frame-to-frame motion is a
 * homography: M_t = I_t ∘ S_t ∘ W_t, with I_t the intended pan, S_t a
 * similarity shake about the centre and W_t the perspective wobble (a
 * homography moving the four frame corners). Frame t shows the base image
 * through M_t (bilinear, edges repeated), cut from the base image's middle.
 * With wobble 0 the clip is a pure-similarity one.
 */
export async function makePlanarClip(base: Frame, opts: PlanarClipOptions): Promise<PlanarClip> {
  const cv = await loadOpenCV();
  const { frames: n, width, height } = opts;
  if (base.width < width || base.height < height) throw new ReshootError(`base image ${base.width}x${base.height} is smaller than ${width}x${height}`);
  const [vx, vy] = opts.pan ?? [0, 0];
  const A = opts.amplitude ?? 3;
  const Ad = ((opts.amplitudeDeg ?? 0.3) * Math.PI) / 180;
  const wob = opts.wobble ?? 0;
  const r = rng(opts.seed ?? 11);
  const phase = Array.from({ length: 16 }, () => 2 * Math.PI * r());
  const corners = cornersOf(identity3(), width, height);
  const G0 = toMat3(translation(-(base.width - width) / 2, -(base.height - height) / 2));
  const frames: Frame[] = [];
  const motion: Mat3x3[] = [];
  const intended: Mat3x3[] = [];
  for (let t = 0; t < n; t++) {
    const I = toMat3(translation(vx * t, vy * t));
    let M = I;
    if (t > 0) {
      const S = toMat3(fromParams({ x: A * (2 * r() - 1), y: A * (2 * r() - 1), angle: Ad * (2 * r() - 1), scale: 1 }, width, height));
      const moved = corners.map((c, k) => c + wob * (0.6 * Math.sin((2 * Math.PI * t) / 3.1 + phase[k]) + 0.4 * Math.sin((2 * Math.PI * t) / 4.7 + phase[8 + k])));
      M = compose3(I, compose3(S, wob > 0 ? homographyFrom4(corners, moved) : identity3()));
    }
    motion.push(M);
    intended.push(I);
    frames.push(warpFrameSync(cv, base, compose3(M, G0), 'replicate', { width, height }));
  }
  return { frames, motion, intended };
}
