/**
 * Phase 4: transforms.json (schema 'reshoot.transforms', version 2; version 1
 * files are still read: they are one shot with no notes); see README.md in
 * this folder for the field-by-field description.
 */
import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import type { Rational } from '../video/types.js';
import { shotsFromCuts, validateShots, type Shot } from '../shots/detect.js';
import type { MotionEstimate } from './motion.js';
import type { CorrectionPlan } from './correction.js';
import { isFiniteMatrix, type Mat2x3, type PathParams } from './similarity.js';
import { depthAt, invert3, isFiniteMatrix3, type Mat3x3 } from '../geometry/homography.js';

export const TRANSFORMS_SCHEMA = 'reshoot.transforms';
export const TRANSFORMS_VERSION = 2;
/** A file with any 3x3 `homography` frame is version 3, so that a reader of version 2 refuses it instead of using the 2x3 part alone. */
export const TRANSFORMS_VERSION_HOMOGRAPHY = 3;
/** Versions loadTransforms reads (1: before shots and notes). */
export const TRANSFORMS_READABLE_VERSIONS: readonly number[] = [1, 2, 3];

export interface TransformsFrame {
  index: number;
  /** M_t: frame t-1 px -> frame t px (identity for t = 0 and on fallback). */
  interframe: Mat2x3;
  /** Raw path P_t (frame 0 -> frame t) about the frame centre; angle in radians. */
  trajectory: PathParams;
  /** Smoothed path S_t, same convention. */
  smoothed: PathParams;
  /** C_t = S_t ∘ P_t^-1: source frame t px -> stabilized px (zoom not included). */
  correction: Mat2x3;
  /**
   * Only in shots where motionModel 'homography' / 'auto' chose a homography:
   * the 3x3 correction C'_t (row-major, h8 = 1; source frame t px ->
   * stabilized px, zoom not included) that frame t is warped with INSTEAD of
   * `correction` (which stays the similarity part, for plots). Consumers that
   * only handle 2x3 warps must refuse such files (apply.ts warpAt does).
   */
  homography?: Mat3x3;
  /** motionModel 'homography' / 'auto': the pair's model, 'homography' or 'similarity: <why not>'. */
  modelChoice?: string;
  /** Set when motion estimation fell back to identity for this frame ('cut' on the first frame of a shot after a cut). */
  fallback?: string;
  inliers: number;
}

export interface TransformsData {
  schema: typeof TRANSFORMS_SCHEMA;
  version: typeof TRANSFORMS_VERSION | typeof TRANSFORMS_VERSION_HOMOGRAPHY;
  source: { path: string; width: number; height: number; fps: Rational; frameCount: number };
  /** Every option used (motion, smoother, border), for reproducibility. */
  params: Record<string, unknown>;
  /** e.g. 'reshoot 0.1.0'. */
  createdBy: string;
  frames: TransformsFrame[];
  /** Shots [start, end) tiling the clip; each is smoothed on its own and its trajectory restarts at identity. */
  shots: Shot[];
  /** Human-readable remarks: fallback counts, cuts found, masks used. */
  notes: string[];
  crop: {
    border: 'zoom' | 'adaptive' | 'fill';
    /** One zoom for the clip, or one per frame ('adaptive'). */
    zoom: number | number[];
    /** Per frame least zoom for full coverage (null where impossible, i.e. Infinity). */
    minimalZoom: (number | null)[];
    limited: boolean;
  };
}

/** Builds the file's contents from the pipeline's pieces. */
export function buildTransforms(args: {
  source: TransformsData['source'];
  params: Record<string, unknown>;
  createdBy: string;
  motions: Pick<MotionEstimate, 'matrix' | 'inliers' | 'fallback' | 'modelChoice'>[];
  trajectory: PathParams[];
  smoothed: PathParams[];
  plan: CorrectionPlan;
  /** Default: one shot. */
  shots?: Shot[];
  notes?: string[];
}): TransformsData {
  const { motions, trajectory, smoothed, plan } = args;
  const n = motions.length;
  if (trajectory.length !== n || smoothed.length !== n || plan.corrections.length !== n) {
    throw new ReshootError(`inconsistent lengths: ${n} motions, ${trajectory.length} path, ${smoothed.length} smoothed, ${plan.corrections.length} corrections`);
  }
  return {
    schema: TRANSFORMS_SCHEMA,
    version: plan.homographies?.some(Boolean) ? TRANSFORMS_VERSION_HOMOGRAPHY : TRANSFORMS_VERSION,
    source: args.source,
    params: args.params,
    createdBy: args.createdBy,
    frames: motions.map((m, index) => ({
      index,
      interframe: m.matrix,
      trajectory: trajectory[index],
      smoothed: smoothed[index],
      correction: plan.corrections[index],
      ...(plan.homographies?.[index] ? { homography: plan.homographies[index] } : {}),
      ...(m.modelChoice ? { modelChoice: m.modelChoice } : {}),
      ...(m.fallback ? { fallback: m.fallback } : {}),
      inliers: m.inliers,
    })),
    shots: (args.shots ?? shotsFromCuts([], n)).map((x) => ({ start: x.start, end: x.end })),
    notes: args.notes ?? [],
    crop: {
      border: plan.border,
      zoom: plan.zoom,
      minimalZoom: plan.minimalZoom.map((z) => (Number.isFinite(z) ? z : null)),
      limited: plan.limited,
    },
  };
}

/** Writes transforms.json atomically (refuses to replace an existing file unless overwrite). */
export async function saveTransforms(path: string, data: TransformsData, options: { overwrite?: boolean } = {}): Promise<void> {
  validateTransforms(data, path);
  await writeJsonAtomic(path, data, options);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPos = (v: unknown): v is number => isNum(v) && v > 0;

function isPath(p: unknown): p is PathParams {
  const o = p as PathParams;
  return typeof p === 'object' && p !== null && isNum(o.x) && isNum(o.y) && isNum(o.angle) && isPos(o.scale);
}

/** Checks the shape of parsed transforms data; throws a ReshootError naming the first problem. */
export function validateTransforms(d: unknown, label = 'transforms.json'): asserts d is TransformsData {
  const bad = (what: string): never => {
    throw new ReshootError(`${label} is not a valid transforms file: ${what}`);
  };
  if (typeof d !== 'object' || d === null || Array.isArray(d)) bad('not a JSON object');
  const o = d as Record<string, any>;
  if (o.schema !== TRANSFORMS_SCHEMA) bad(`schema is ${JSON.stringify(o.schema)}, expected "${TRANSFORMS_SCHEMA}"`);
  if (!TRANSFORMS_READABLE_VERSIONS.includes(o.version)) {
    bad(`version ${JSON.stringify(o.version)} is not supported (this reshoot reads versions ${TRANSFORMS_READABLE_VERSIONS.slice(0, -1).join(', ')} and ${TRANSFORMS_READABLE_VERSIONS.at(-1)})`);
  }
  if (o.version === 1) {
    // Version 1 had no shots or notes: the whole clip is one shot.
    if (o.shots === undefined) o.shots = Array.isArray(o.frames) ? shotsFromCuts([], o.frames.length) : [];
    if (o.notes === undefined) o.notes = [];
    o.version = TRANSFORMS_VERSION;
  }
  const s = o.source;
  if (typeof s !== 'object' || s === null) bad('missing source');
  if (typeof s.path !== 'string') bad('source.path is not a string');
  if (!(Number.isInteger(s.width) && s.width > 0 && Number.isInteger(s.height) && s.height > 0)) bad('source width/height are not positive integers');
  if (!(typeof s.fps === 'object' && s.fps !== null && isPos(s.fps.num) && isPos(s.fps.den))) bad('source.fps is not {num, den}');
  if (!(Number.isInteger(s.frameCount) && s.frameCount >= 0)) bad('source.frameCount is not a whole number');
  if (typeof o.params !== 'object' || o.params === null) bad('params is not an object');
  if (typeof o.createdBy !== 'string') bad('createdBy is not a string');
  if (!Array.isArray(o.frames)) bad('frames is not an array');
  if (o.frames.length !== s.frameCount) bad(`frames has ${o.frames.length} entries but source.frameCount is ${s.frameCount}`);
  o.frames.forEach((f: any, i: number) => {
    if (typeof f !== 'object' || f === null) bad(`frames[${i}] is not an object`);
    if (f.index !== i) bad(`frames[${i}].index is ${JSON.stringify(f.index)}`);
    if (!isFiniteMatrix(f.interframe)) bad(`frames[${i}].interframe is not 6 finite numbers`);
    if (!isFiniteMatrix(f.correction)) bad(`frames[${i}].correction is not 6 finite numbers`);
    if (!isPath(f.trajectory)) bad(`frames[${i}].trajectory is not {x, y, angle, scale} with finite numbers`);
    if (!isPath(f.smoothed)) bad(`frames[${i}].smoothed is not {x, y, angle, scale} with finite numbers`);
    if (f.fallback !== undefined && typeof f.fallback !== 'string') bad(`frames[${i}].fallback is not a string`);
    if (!(Number.isInteger(f.inliers) && f.inliers >= 0)) bad(`frames[${i}].inliers is not a whole number`);
    const det = f.correction[0] * f.correction[4] - f.correction[1] * f.correction[3];
    if (Math.abs(det) < 1e-9) bad(`frames[${i}].correction is singular`);
    if (f.homography !== undefined) {
      if (o.version !== TRANSFORMS_VERSION_HOMOGRAPHY) bad(`frames[${i}] has a homography but the file is version ${o.version} (3x3 frames need version ${TRANSFORMS_VERSION_HOMOGRAPHY})`);
      if (!isFiniteMatrix3(f.homography)) bad(`frames[${i}].homography is not 9 finite numbers`);
      try {
        invert3(f.homography);
      } catch {
        bad(`frames[${i}].homography is singular`);
      }
      const W = s.width - 1, H = s.height - 1;
      if (![[0, 0], [W, 0], [0, H], [W, H]].every(([x, y]) => depthAt(f.homography, x, y) > 0)) bad(`frames[${i}].homography puts a frame corner behind the camera`);
    }
    if (f.modelChoice !== undefined && typeof f.modelChoice !== 'string') bad(`frames[${i}].modelChoice is not a string`);
  });
  if (!Array.isArray(o.shots)) bad('shots is not an array');
  try {
    validateShots(o.shots, o.frames.length, 'shots');
  } catch (err) {
    bad((err as Error).message);
  }
  if (!Array.isArray(o.notes) || !o.notes.every((x: unknown) => typeof x === 'string')) bad('notes is not an array of strings');
  const c = o.crop;
  if (typeof c !== 'object' || c === null) bad('missing crop');
  if (!['zoom', 'adaptive', 'fill'].includes(c.border)) bad(`crop.border is ${JSON.stringify(c.border)}`);
  if (Array.isArray(c.zoom)) {
    if (c.zoom.length !== o.frames.length || !c.zoom.every(isPos)) bad('crop.zoom per frame must have one positive number per frame');
  } else if (!isPos(c.zoom)) bad('crop.zoom is not a positive number');
  if (!Array.isArray(c.minimalZoom) || c.minimalZoom.length !== o.frames.length || !c.minimalZoom.every((z: unknown) => z === null || isPos(z))) {
    bad('crop.minimalZoom must have one positive number (or null) per frame');
  }
  if (typeof c.limited !== 'boolean') bad('crop.limited is not a boolean');
}

/**
 * Reads and validates transforms.json. With `expect`, refuses a file made for
 * another video: "transforms.json is for 768x576, 795 frames; video is 640x480, 120 frames".
 */
export async function loadTransforms(
  path: string,
  expect?: { width?: number; height?: number; frameCount?: number },
): Promise<TransformsData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ReshootError(code === 'ENOENT' ? `transforms file ${path} does not exist` : `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ReshootError(`${path} is not valid JSON (${(err as Error).message}); was it truncated?`, { cause: err });
  }
  validateTransforms(data, path);
  if (expect) {
    const s = data.source;
    const differs =
      (expect.width !== undefined && expect.width !== s.width) ||
      (expect.height !== undefined && expect.height !== s.height) ||
      (expect.frameCount !== undefined && expect.frameCount !== s.frameCount);
    if (differs) {
      const video = [
        expect.width !== undefined || expect.height !== undefined ? `${expect.width ?? s.width}x${expect.height ?? s.height}` : undefined,
        expect.frameCount !== undefined ? `${expect.frameCount} frames` : undefined,
      ].filter(Boolean).join(', ');
      throw new ReshootError(`${path} is for ${s.width}x${s.height}, ${s.frameCount} frames; video is ${video}`);
    }
  }
  return data;
}
