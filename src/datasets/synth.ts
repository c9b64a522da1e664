import { readFile, rm } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { ReshootError } from '../util/errors.js';
import { assertCanWrite, writeJsonAtomic } from '../util/atomic.js';
import { loadOpenCV } from '../cv/opencv.js';
import { decodeFrames, encodeFrames } from '../video/index.js';
import type { Frame, ProgressFn, Rational } from '../video/types.js';
import { datasetPath } from './fetch.js';
import { findClip, type ClipEntry } from './manifest.js';
import { bandLimitedNoise } from './shake.js';

/** A camera pose component: translation x, y (output px at zoom 1), roll angle (degrees), zoom (factor). */
export interface Pose {
  x: number;
  y: number;
  angle: number;
  scale: number;
}

/** A 2x3 affine matrix, row-major: [[a, b, c], [d, e, f]] maps (u, v) to (a u + b v + c, d u + e v + f). */
export type Affine2x3 = [[number, number, number], [number, number, number]];

/** Intentional camera motion. Velocities are in output px per frame (at zoom 1). */
export type IntentionalMotion =
  | { type: 'none' }
  /** Constant-velocity pan, centred: the path is symmetric about the source anchor. */
  | { type: 'pan'; vx: number; vy?: number }
  /** Zoom-in ramp from 1 to endScale (geometric), optionally with a centred pan. */
  | { type: 'dolly'; endScale: number; vx?: number; vy?: number }
  /**
   * A piecewise path through key poses (a camera that holds, pans, eases, stops):
   * keys[0].t must be 0, times strictly increasing; the pose holds the last key
   * after it. Each key's `ease` shapes the piece that ends at it: 'linear'
   * (constant velocity), 'in' (starts from rest, u^2), 'out' (comes to rest,
   * 1 - (1-u)^2), 'inout' (smoothstep 3u^2 - 2u^3). Scale is interpolated
   * geometrically. Missing fields keep the previous key's value (x, y 0, angle 0, scale 1 at key 0).
   */
  | { type: 'keys'; keys: MotionKey[] };

/** One key pose of a 'keys' motion: frame t, translation (output px), roll (degrees), zoom. */
export interface MotionKey {
  t: number;
  x?: number;
  y?: number;
  angle?: number;
  scale?: number;
  ease?: 'linear' | 'in' | 'out' | 'inout';
}

/** Handheld shake: band-limited Gaussian noise per channel, independent channels. */
export interface ShakeSpec {
  /** RMS of x and of y (each), in output px at zoom 1. */
  translationRms: number;
  /** RMS of the roll angle, degrees. */
  angleRmsDeg: number;
  /** RMS of the relative zoom (shake.scale - 1). */
  scaleRms: number;
  /** -3 dB cut-off of the Gaussian low-pass, Hz at the clip's fps. */
  cutoffHz: number;
  /**
   * Walking bob added to the noise (optional): y = ampY sin(2 pi hz t),
   * x = ampX sin(pi hz t) (the sway has half the step rate), roll = angleDeg sin(pi hz t); px / degrees.
   */
  bob?: { hz: number; ampX: number; ampY: number; angleDeg?: number };
}

export interface SynthSpec {
  /** Preset name, when the spec came from one (informational). */
  name?: string;
  /** Source clip id from datasets/manifest.json: a still image or a video. */
  source: string;
  /** Video sources: first source frame used (output frame t shows source frame sourceStart + t). Default 0. */
  sourceStart?: number;
  /** Output size (even numbers: the mp4 is yuv420p). */
  width: number;
  height: number;
  /** Number of output frames (>= 2). */
  frames: number;
  /** Output frame rate. Images: default 30/1. Videos: the source's rate (frames are used 1:1); giving another is an error. */
  fps?: Rational;
  /** Source px per output px at zoom 1 (< 1 magnifies). Default 1. */
  sourceScale?: number;
  /** Offset of the camera's rest point from the source centre, source px. Default {x: 0, y: 0}. */
  anchor?: { x: number; y: number };
  motion: IntentionalMotion;
  shake: ShakeSpec;
  seed: number;
}

export interface GroundTruth {
  schema: 1;
  seed: number;
  spec: SynthSpec;
  width: number;
  height: number;
  fps: Rational;
  frames: number;
  source: {
    clip: string;
    file: string;
    sha256: string;
    kind: 'video' | 'image';
    width: number;
    height: number;
    /** Video sources: source frame index shown by output frame 0. */
    startFrame: number;
  };
  convention: string;
  intentional: Pose[];
  shake: Pose[];
  camera: Affine2x3[];
  interframe: Affine2x3[];
}

export interface SynthOptions {
  /** Replace existing outputs (mp4 and gt JSON). Default false: refuse. */
  overwrite?: boolean;
  /** Where to write the ground truth. Default: outPath with its extension replaced by `.gt.json`. */
  gtPath?: string;
  /** x264 CRF of the mp4. Default 12 (near-lossless, so the pixels keep the geometry). */
  crf?: number;
  /** Datasets cache folder the source is read from (see datasetPath). */
  cacheDir?: string;
  /** Use this file as the source instead of the cached dataset (must be the same content). */
  sourcePath?: string;
  /** (frames rendered, total). */
  onProgress?: ProgressFn;
  log?: (msg: string) => void;
}

export const GT_CONVENTION =
  'Pixel coordinates (u, v): origin at the centre of the top-left pixel, u right, v down. ' +
  'camera[t] maps output-frame-t pixel coords p to source pixel coords s: ' +
  's = cs + k*(T + R(angle)*(p - co)/scale), co = ((width-1)/2, (height-1)/2) the output centre, ' +
  'cs = ((sourceWidth-1)/2 + anchor.x, (sourceHeight-1)/2 + anchor.y), k = spec.sourceScale, ' +
  'T = (x, y), R(a) = [[cos a, -sin a], [sin a, cos a]] with a in degrees, ' +
  'pose = intentional composed with shake as x = xi + xs, y = yi + ys, angle = ai + as, scale = si * ss. ' +
  'interframe[t] = inverse(camera[t]) o camera[t-1] maps frame t-1 pixel coords to frame t pixel coords ' +
  '(true for content static in the source); interframe[0] is the identity. Matrices are 2x3 row-major.';

const IDENTITY: Affine2x3 = [
  [1, 0, 0],
  [0, 1, 0],
];

/** a o b: apply b first, then a. */
export function composeAffine(a: Affine2x3, b: Affine2x3): Affine2x3 {
  return [
    [
      a[0][0] * b[0][0] + a[0][1] * b[1][0],
      a[0][0] * b[0][1] + a[0][1] * b[1][1],
      a[0][0] * b[0][2] + a[0][1] * b[1][2] + a[0][2],
    ],
    [
      a[1][0] * b[0][0] + a[1][1] * b[1][0],
      a[1][0] * b[0][1] + a[1][1] * b[1][1],
      a[1][0] * b[0][2] + a[1][1] * b[1][2] + a[1][2],
    ],
  ];
}

export function invertAffine(m: Affine2x3): Affine2x3 {
  const [[a, b, c], [d, e, f]] = m;
  const det = a * e - b * d;
  if (det === 0) throw new RangeError('singular affine matrix');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [
    [ia, ib, -(ia * c + ib * f)],
    [id, ie, -(id * c + ie * f)],
  ];
}

export function applyAffine(m: Affine2x3, u: number, v: number): [number, number] {
  return [m[0][0] * u + m[0][1] * v + m[0][2], m[1][0] * u + m[1][1] * v + m[1][2]];
}

// ---------------------------------------------------------------- presets

const PRESETS: Record<string, { description: string; spec: SynthSpec }> = {
  'vtest-shake': {
    description: 'vtest.avi (static camera, pedestrians) at 10 fps 1:1, handheld shake, no intentional motion',
    spec: {
      name: 'vtest-shake',
      source: 'vtest',
      sourceStart: 0,
      width: 640,
      height: 480,
      frames: 80,
      sourceScale: 1,
      motion: { type: 'none' },
      shake: { translationRms: 4, angleRmsDeg: 0.4, scaleRms: 0.004, cutoffHz: 1.5 },
      seed: 1001,
    },
  },
  'vtest-pan-shake': {
    description: 'vtest.avi at 10 fps 1:1, slow pan right (0.8 px/frame) plus handheld shake',
    spec: {
      name: 'vtest-pan-shake',
      source: 'vtest',
      sourceStart: 0,
      width: 640,
      height: 480,
      frames: 80,
      sourceScale: 0.9,
      motion: { type: 'pan', vx: 0.8, vy: 0 },
      shake: { translationRms: 4, angleRmsDeg: 0.4, scaleRms: 0.004, cutoffHz: 1.5 },
      seed: 1002,
    },
  },
  'photo-dolly-shake': {
    description: 'building.jpg virtual camera at 30 fps: slow dolly-in to 1.25x with a slight pan, moderate shake',
    spec: {
      name: 'photo-dolly-shake',
      source: 'building',
      width: 640,
      height: 480,
      frames: 90,
      fps: { num: 30, den: 1 },
      sourceScale: 0.85,
      motion: { type: 'dolly', endScale: 1.25, vx: 0.3, vy: 0 },
      shake: { translationRms: 3, angleRmsDeg: 0.3, scaleRms: 0.004, cutoffHz: 2 },
      seed: 1003,
    },
  },
  'photo-strong-shake': {
    description: 'leuvenA.jpg virtual camera at 30 fps: no intentional motion, strong handheld shake',
    spec: {
      name: 'photo-strong-shake',
      source: 'leuven',
      width: 640,
      height: 480,
      frames: 90,
      fps: { num: 30, den: 1 },
      sourceScale: 0.8,
      motion: { type: 'none' },
      shake: { translationRms: 8, angleRmsDeg: 1, scaleRms: 0.012, cutoffHz: 2.5 },
      seed: 1004,
    },
  },
};

export interface SynthPresetInfo {
  name: string;
  description: string;
  spec: SynthSpec;
}

/** The named presets (copies). */
export function listSynthPresets(): SynthPresetInfo[] {
  return Object.entries(PRESETS).map(([name, p]) => ({ name, description: p.description, spec: structuredClone(p.spec) }));
}

/** A copy of preset `name`, with optional overrides (e.g. from the CLI: seed, frames, size). */
export function getSynthPreset(name: string, overrides: Partial<SynthSpec> = {}): SynthSpec & { name: string } {
  const p = PRESETS[name];
  if (!p) throw new ReshootError(`unknown synth preset "${name}"; known: ${Object.keys(PRESETS).join(', ')}`);
  const spec = structuredClone(p.spec);
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (spec as unknown as Record<string, unknown>)[k] = structuredClone(v);
  }
  return spec as SynthSpec & { name: string };
}

/** Default ground-truth path for an output clip: `clip.mp4` -> `clip.gt.json`. */
export function defaultGtPath(outPath: string): string {
  const ext = extname(outPath);
  return `${ext ? outPath.slice(0, -ext.length) : outPath}.gt.json`;
}

// ---------------------------------------------------------------- ground truth

function label(spec: SynthSpec): string {
  return spec.name ? `synth spec "${spec.name}"` : `synth spec (source ${spec.source})`;
}

function fail(spec: SynthSpec, msg: string): never {
  throw new ReshootError(`${label(spec)}: ${msg}`);
}

function validateSpec(spec: SynthSpec, clip: ClipEntry): { fps: Rational; k: number } {
  const intPos = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (!intPos(spec.width) || !intPos(spec.height) || spec.width % 2 || spec.height % 2) {
    fail(spec, `width and height must be even positive integers (got ${spec.width}x${spec.height})`);
  }
  if (!Number.isInteger(spec.frames) || spec.frames < 2) fail(spec, `frames must be an integer >= 2 (got ${spec.frames})`);
  if (!Number.isInteger(spec.seed)) fail(spec, `seed must be an integer (got ${spec.seed})`);
  const k = spec.sourceScale ?? 1;
  if (!(k > 0 && Number.isFinite(k))) fail(spec, `sourceScale must be > 0 (got ${k})`);
  let fps: Rational;
  if (clip.kind === 'video') {
    const src = clip.fps ?? { num: 30, den: 1 };
    if (spec.fps && spec.fps.num * src.den !== src.num * spec.fps.den) {
      fail(spec, `a video source is used frame by frame at its own rate ${src.num}/${src.den}; do not set fps`);
    }
    fps = { num: src.num, den: src.den };
    const start = spec.sourceStart ?? 0;
    if (!Number.isInteger(start) || start < 0) fail(spec, `sourceStart must be an integer >= 0`);
    if (clip.frames !== undefined && start + spec.frames > clip.frames) {
      fail(spec, `needs source frames ${start}..${start + spec.frames - 1} but ${clip.file} has ${clip.frames}`);
    }
  } else {
    fps = spec.fps ?? { num: 30, den: 1 };
  }
  if (!(fps.num > 0 && fps.den > 0)) fail(spec, `bad fps ${fps.num}/${fps.den}`);
  const s = spec.shake;
  for (const [name, v] of [
    ['translationRms', s.translationRms],
    ['angleRmsDeg', s.angleRmsDeg],
    ['scaleRms', s.scaleRms],
  ] as const) {
    if (!(v >= 0 && Number.isFinite(v))) fail(spec, `shake.${name} must be >= 0 (got ${v})`);
  }
  const nyquist = fps.num / fps.den / 2;
  if (!(s.cutoffHz > 0 && s.cutoffHz <= nyquist)) {
    fail(spec, `shake.cutoffHz must be in (0, ${nyquist}] at ${fps.num}/${fps.den} fps (got ${s.cutoffHz})`);
  }
  if (spec.motion.type === 'dolly' && !(spec.motion.endScale > 0)) fail(spec, 'dolly endScale must be > 0');
  if (spec.motion.type === 'keys') {
    const keys = spec.motion.keys;
    if (!Array.isArray(keys) || keys.length === 0 || keys[0].t !== 0) fail(spec, 'keys motion needs keys starting at t = 0');
    keys.forEach((k, i) => {
      if (!Number.isInteger(k.t) || (i > 0 && k.t <= keys[i - 1].t)) fail(spec, `keys[${i}].t must be a whole number after keys[${i - 1}].t`);
      for (const v of [k.x, k.y, k.angle]) if (v !== undefined && !Number.isFinite(v)) fail(spec, `keys[${i}] has a non-finite value`);
      if (k.scale !== undefined && !(k.scale > 0)) fail(spec, `keys[${i}].scale must be > 0`);
      if (k.ease !== undefined && !['linear', 'in', 'out', 'inout'].includes(k.ease)) fail(spec, `keys[${i}].ease must be linear, in, out or inout`);
    });
  }
  const bob = s.bob;
  if (bob && !([bob.hz, bob.ampX, bob.ampY, bob.angleDeg ?? 0].every((v) => Number.isFinite(v) && v >= 0))) fail(spec, 'shake.bob values must be finite and >= 0');
  return { fps, k };
}

function intentionalPath(spec: SynthSpec): Pose[] {
  const n = spec.frames;
  const mid = (n - 1) / 2;
  const m = spec.motion;
  return Array.from({ length: n }, (_, t) => {
    switch (m.type) {
      case 'none':
        return { x: 0, y: 0, angle: 0, scale: 1 };
      case 'pan':
        return { x: m.vx * (t - mid), y: (m.vy ?? 0) * (t - mid), angle: 0, scale: 1 };
      case 'dolly':
        return {
          x: (m.vx ?? 0) * (t - mid),
          y: (m.vy ?? 0) * (t - mid),
          angle: 0,
          scale: Math.pow(m.endScale, t / (n - 1)),
        };
      case 'keys':
        return keyPose(m.keys, t);
      default:
        throw new ReshootError(`unknown motion type ${(m as { type: string }).type}`);
    }
  });
}

const EASE = {
  linear: (u: number) => u,
  in: (u: number) => u * u,
  out: (u: number) => 1 - (1 - u) * (1 - u),
  inout: (u: number) => u * u * (3 - 2 * u),
};

/** Pose of a 'keys' motion at frame t (see IntentionalMotion). */
function keyPose(keys: MotionKey[], t: number): Pose {
  // resolve missing fields by carrying the previous key's value
  const full: Pose[] = [];
  for (const k of keys) {
    const prev = full[full.length - 1] ?? { x: 0, y: 0, angle: 0, scale: 1 };
    full.push({ x: k.x ?? prev.x, y: k.y ?? prev.y, angle: k.angle ?? prev.angle, scale: k.scale ?? prev.scale });
  }
  let i = 1;
  while (i < keys.length && keys[i].t < t) i++;
  if (i >= keys.length) return { ...full[full.length - 1] };
  const a = full[i - 1], b = full[i];
  const u = EASE[keys[i].ease ?? 'linear']((t - keys[i - 1].t) / (keys[i].t - keys[i - 1].t));
  const mix = (p: number, q: number) => p + (q - p) * u;
  return { x: mix(a.x, b.x), y: mix(a.y, b.y), angle: mix(a.angle, b.angle), scale: Math.exp(mix(Math.log(a.scale), Math.log(b.scale))) };
}

function shakePath(spec: SynthSpec, fpsValue: number): Pose[] {
  const n = spec.frames;
  const c = spec.shake.cutoffHz / fpsValue;
  const sx = bandLimitedNoise(n, c, spec.shake.translationRms, spec.seed, 0);
  const sy = bandLimitedNoise(n, c, spec.shake.translationRms, spec.seed, 1);
  const sa = bandLimitedNoise(n, c, spec.shake.angleRmsDeg, spec.seed, 2);
  const ss = bandLimitedNoise(n, c, spec.shake.scaleRms, spec.seed, 3);
  const bob = spec.shake.bob;
  const w = bob ? (2 * Math.PI * bob.hz) / fpsValue : 0;
  return Array.from({ length: n }, (_, t) => ({
    x: sx[t] + (bob ? bob.ampX * Math.sin((w * t) / 2) : 0),
    y: sy[t] + (bob ? bob.ampY * Math.sin(w * t) : 0),
    angle: sa[t] + (bob ? (bob.angleDeg ?? 0) * Math.sin((w * t) / 2) : 0),
    scale: 1 + ss[t],
  }));
}

/** camera matrix for a total pose: output px -> source px (see GT_CONVENTION). */
export function cameraMatrix(
  pose: Pose,
  k: number,
  sourceCentre: { x: number; y: number },
  outputCentre: { x: number; y: number },
): Affine2x3 {
  const rad = (pose.angle * Math.PI) / 180;
  const a = (k * Math.cos(rad)) / pose.scale;
  const b = (k * Math.sin(rad)) / pose.scale;
  const co = outputCentre;
  return [
    [a, -b, sourceCentre.x + k * pose.x - a * co.x + b * co.y],
    [b, a, sourceCentre.y + k * pose.y - b * co.x - a * co.y],
  ];
}

/**
 * The full ground truth of a spec (no file is read or written besides the
 * manifest). Throws a ReshootError when the spec is invalid or when the camera
 * would see outside the source at any frame.
 */
export function synthGroundTruth(spec: SynthSpec): GroundTruth {
  const clip = findClip(spec.source);
  const { fps, k } = validateSpec(spec, clip);
  const fpsValue = fps.num / fps.den;
  const intentional = intentionalPath(spec);
  const shake = shakePath(spec, fpsValue);
  const sw = clip.width;
  const sh = clip.height;
  const anchor = spec.anchor ?? { x: 0, y: 0 };
  const cs = { x: (sw - 1) / 2 + anchor.x, y: (sh - 1) / 2 + anchor.y };
  const co = { x: (spec.width - 1) / 2, y: (spec.height - 1) / 2 };
  const camera: Affine2x3[] = intentional.map((p, t) => {
    const s = shake[t];
    return cameraMatrix({ x: p.x + s.x, y: p.y + s.y, angle: p.angle + s.angle, scale: p.scale * s.scale }, k, cs, co);
  });
  // Every output pixel centre must map inside [0, w-1] x [0, h-1] of the source,
  // so bilinear sampling never needs a border: checking the four corner pixel
  // centres suffices since the map is affine (the image of a box is convex).
  const corners: [number, number][] = [
    [0, 0],
    [spec.width - 1, 0],
    [0, spec.height - 1],
    [spec.width - 1, spec.height - 1],
  ];
  const eps = 1e-9;
  camera.forEach((m, t) => {
    for (const [u, v] of corners) {
      const [x, y] = applyAffine(m, u, v);
      if (x < -eps || y < -eps || x > sw - 1 + eps || y > sh - 1 + eps) {
        fail(
          spec,
          `the camera leaves the source ${clip.file} (${sw}x${sh}) at frame ${t}: output corner (${u}, ${v}) maps to ` +
            `(${x.toFixed(1)}, ${y.toFixed(1)}); reduce the shake/pan/dolly, the output size or sourceScale`,
        );
      }
    }
  });
  const interframe = camera.map((m, t) => (t === 0 ? IDENTITY : composeAffine(invertAffine(m), camera[t - 1])));
  return {
    schema: 1,
    seed: spec.seed,
    spec: structuredClone(spec),
    width: spec.width,
    height: spec.height,
    fps,
    frames: spec.frames,
    source: {
      clip: clip.id,
      file: clip.file,
      sha256: clip.sha256,
      kind: clip.kind,
      width: sw,
      height: sh,
      startFrame: clip.kind === 'video' ? (spec.sourceStart ?? 0) : 0,
    },
    convention: GT_CONVENTION,
    intentional,
    shake,
    camera,
    interframe: interframe.map((m) => [[...m[0]], [...m[1]]] as Affine2x3),
  };
}

// ---------------------------------------------------------------- rendering

async function loadImageRGB(path: string): Promise<Frame> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new ReshootError(`${path}: expected 3 channels after conversion, got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/**
 * Renders the clip described by `spec` to `outPath` (H.264 mp4) and writes its
 * ground truth JSON (default: `clip.mp4` -> `clip.gt.json`), both atomically. The spec
 * is checked (including that the camera stays inside the source) before
 * anything is written. Returns the ground truth.
 */
export async function synthesizeClip(spec: SynthSpec, outPath: string, opts: SynthOptions = {}): Promise<GroundTruth> {
  const gt = synthGroundTruth(spec);
  const gtPath = opts.gtPath ?? defaultGtPath(outPath);
  assertCanWrite(outPath, opts);
  assertCanWrite(gtPath, opts);
  const srcPath = opts.sourcePath ?? datasetPath(gt.source.clip, { cacheDir: opts.cacheDir });
  const cv = await loadOpenCV();
  const W = gt.width;
  const H = gt.height;
  const N = gt.frames;
  const log = opts.log ?? (() => {});
  log(`${spec.name ?? spec.source}: rendering ${N} frames ${W}x${H} from ${srcPath}`);

  const still = gt.source.kind === 'image' ? await loadImageRGB(srcPath) : undefined;
  if (still && (still.width !== gt.source.width || still.height !== gt.source.height)) {
    throw new ReshootError(`${srcPath} is ${still.width}x${still.height}, the manifest says ${gt.source.width}x${gt.source.height}`);
  }

  async function* sourceFrames(): AsyncGenerator<Frame> {
    if (still) {
      for (let t = 0; t < N; t++) yield still;
      return;
    }
    let t = 0;
    for await (const f of decodeFrames(srcPath, { start: gt.source.startFrame, count: N })) {
      if (f.width !== gt.source.width || f.height !== gt.source.height) {
        throw new ReshootError(`${srcPath} decodes to ${f.width}x${f.height}, the manifest says ${gt.source.width}x${gt.source.height}`);
      }
      yield f;
      if (++t >= N) return;
    }
    if (t < N) throw new ReshootError(`${srcPath} gave only ${t} frames from ${gt.source.startFrame}, ${N} needed`);
  }

  async function* rendered(): AsyncGenerator<Frame> {
    const src = new cv.Mat(gt.source.height, gt.source.width, cv.CV_8UC3);
    const dst = new cv.Mat();
    const M = new cv.Mat(2, 3, cv.CV_64F);
    const size = new cv.Size(W, H);
    const border = new cv.Scalar(0, 0, 0, 0);
    let lastSource: Frame | undefined;
    try {
      let t = 0;
      for await (const f of sourceFrames()) {
        if (f !== lastSource) {
          src.data.set(f.data);
          lastSource = f;
        }
        const c = gt.camera[t];
        M.data64F.set([c[0][0], c[0][1], c[0][2], c[1][0], c[1][1], c[1][2]]);
        // camera maps output -> source, i.e. the inverse map warpAffine wants with WARP_INVERSE_MAP.
        cv.warpAffine(src, dst, M, size, cv.INTER_LINEAR | cv.WARP_INVERSE_MAP, cv.BORDER_REFLECT, border);
        yield { width: W, height: H, data: new Uint8Array(dst.data) };
        t += 1; // not inside the optional call below: `f?.(++t)` skips the increment when f is undefined
        opts.onProgress?.(t, N);
      }
    } finally {
      src.delete();
      dst.delete();
      M.delete();
    }
  }

  await encodeFrames(rendered(), outPath, {
    fps: gt.fps,
    overwrite: opts.overwrite,
    crf: opts.crf ?? 12,
    totalFrames: N,
  });
  try {
    await writeJsonAtomic(gtPath, gt, { overwrite: opts.overwrite });
  } catch (err) {
    await rm(outPath, { force: true });
    throw err;
  }
  log(`${spec.name ?? spec.source}: wrote ${outPath} and ${gtPath}`);
  return gt;
}

/** Reads and checks a ground-truth file written by synthesizeClip. */
export async function readGroundTruth(path: string): Promise<GroundTruth> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ReshootError(code === 'ENOENT' ? `ground truth ${path} does not exist` : `ground truth ${path} is not readable JSON: ${(err as Error).message}`);
  }
  const gt = data as Partial<GroundTruth>;
  const n = gt.frames;
  const ok =
    gt.schema === 1 &&
    typeof n === 'number' &&
    Array.isArray(gt.camera) && gt.camera.length === n &&
    Array.isArray(gt.intentional) && gt.intentional.length === n &&
    Array.isArray(gt.shake) && gt.shake.length === n &&
    Array.isArray(gt.interframe) && gt.interframe.length === n &&
    typeof gt.width === 'number' && typeof gt.height === 'number' && !!gt.spec && !!gt.source;
  if (!ok) throw new ReshootError(`${path} is not a reshoot ground-truth file (schema 1 with camera, intentional, shake and interframe per frame)`);
  return gt as GroundTruth;
}
