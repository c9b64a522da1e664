/**
 * Decompose: what the rest of the pipeline needs to know about the input
 * BEFORE anything moves it. One streaming pass over the original frames:
 *
 *   pose track (the subject, original pixels) -> person mask per frame
 *   -> hard cuts (shots) -> plate sample frames -> appearance reference
 *
 * It runs before stabilization so the stabilizer can exclude the subject
 * (a person moving in the frame is not camera motion) and smooth per shot.
 * Everything is in ORIGINAL input coordinates; the pipeline maps it into the
 * stabilized canvas through transforms.json (exact for points, a warp for masks).
 *
 * Files (in `dir`): poses.json, masks.raw + masks.json, shots.json,
 * samples/<frame>.png, reference.png. Memory: one frame at a time plus the
 * plate samples' indices; masks and samples go to disk.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readRgb, writePng } from '../generate/images.js';
import { createPersonMasker, type PersonMasker } from '../person-mask/index.js';
import { createPoseEstimator, DEFAULT_ONE_EURO, PoseTracker, readPoseTrack, writePoseTrack, type PoseEstimator } from '../pose/index.js';
import type { PoseFrame, PoseTrack } from '../pose/types.js';
import { ShotDetector, type Shot } from '../shots/index.js';
import { ensureDir, writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { decodeFrames, type Frame, type GrayFrame, type VideoInfo } from '../video/index.js';
import { MaskFile, MaskFileWriter } from './mask-file.js';

export { MaskFile, MaskFileWriter } from './mask-file.js';

export interface ShotsFile {
  schema: 'reshoot.shots/1';
  frameCount: number;
  shots: Shot[];
  cuts: number[];
  /** Per-frame cut score of the detector (0 for frame 0). */
  scores: number[];
  method: string;
}

export interface DecomposeOptions {
  info: VideoInfo;
  /** Folder for the files (the run folder). */
  dir: string;
  pose: { model: 'thunder' | 'lightning'; minScore: number; smoothing: boolean } | null;
  /** null: no masks (they need poses too). */
  masks: { model: 'full' | 'selfie' } | null;
  /** How many evenly spread frames to keep for the background plate (0 = none). */
  plateSamples: number;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface Decomposition {
  frameCount: number;
  /** The subject's pose per frame in ORIGINAL pixels (null when pose is off). */
  track: PoseTrack | null;
  masks: MaskFile | null;
  shots: ShotsFile;
  /** Frame indices saved under samples/ for the plate. */
  samples: number[];
  /** Frame index of the appearance reference (reference.png, original pixels). */
  reference: number;
  /** Human-readable observations for run.json (no person, ...). */
  notes: string[];
}

export const DECOMPOSE_FILES = ['poses.json', 'masks.raw', 'masks.json', 'shots.json', 'reference.png', 'decompose.json'] as const;

/** Evenly spread sample indices (the plate's median works on these). */
export function plateSamples(frameCount: number, k: number): number[] {
  if (k <= 0) return [];
  const n = Math.max(1, Math.min(k, frameCount));
  if (n === 1) return [Math.floor(frameCount / 2)];
  return Array.from({ length: n }, (_, i) => Math.round((i * (frameCount - 1)) / (n - 1)));
}

export const sampleFile = (t: number) => join('samples', `${String(t).padStart(6, '0')}.png`);

/** Runs the decompose pass over `input` and writes its files into opts.dir. */
export async function decomposeVideo(input: string, opts: DecomposeOptions): Promise<Decomposition> {
  const { info, dir } = opts;
  let estimator: PoseEstimator | undefined;
  let masker: PersonMasker | undefined;
  let writer: MaskFileWriter | undefined;
  try {
    if (opts.pose) estimator = await createPoseEstimator({ model: opts.pose.model, minScore: opts.pose.minScore, threads: opts.threads });
    if (opts.pose && opts.masks) masker = await createPersonMasker({ model: opts.masks.model, feather: 0, threads: opts.threads });
    const samples = new Set(plateSamples(info.frameCount, opts.plateSamples));
    if (samples.size) await ensureDir(join(dir, 'samples'));
    const shots = new ShotDetector();
    const smoothing = opts.pose?.smoothing ? DEFAULT_ONE_EURO : null;
    let tracker = estimator ? new PoseTracker(estimator, { fps: info.fpsValue, smoothing }) : null;
    const poses: PoseFrame[] = [];
    let best: { score: number; t: number; frame: Frame } | null = null;
    let firstFrame: Frame | null = null;
    const cover = maskCoverage();
    let t = 0;
    for await (const frame of decodeFrames(input, { info })) {
      opts.signal?.throwIfAborted();
      firstFrame ??= frame;
      shots.push(frame);
      if (tracker) {
        const pose = await tracker.next(frame);
        poses.push({ ...pose, index: t });
        if (pose.found && (!best || pose.score > best.score)) best = { score: pose.score, t, frame };
        if (masker) {
          writer ??= new MaskFileWriter(join(dir, 'masks.raw'), frame.width, frame.height);
          const m = pose.found ? await masker.mask(frame, pose) : null;
          writer.append(m?.alpha ?? emptyMask(frame.width, frame.height), m?.found === true);
          if (m?.found) cover.add(m.alpha);
        }
      }
      if (samples.has(t)) await writePng(join(dir, sampleFile(t)), frame);
      t++;
      opts.onProgress?.(t, info.frameCount);
    }
    if (t !== info.frameCount) throw new ReshootError(`${input}: decoding delivered ${t} frames, the probe promised ${info.frameCount}`);
    const referenceFrame = (best as { frame: Frame } | null)?.frame ?? firstFrame;
    if (referenceFrame) await writePng(join(dir, 'reference.png'), referenceFrame);
    const notes: string[] = [];
    let track: PoseTrack | null = null;
    if (estimator) {
      track = {
        schema: 'reshoot.poses/1',
        source: { path: input, width: info.width, height: info.height, fps: info.fps, frameCount: poses.length },
        model: { id: estimator.modelId, inputSize: estimator.inputSize, provider: estimator.provider },
        minScore: estimator.minScore,
        smoothing: smoothing ? { kind: 'one-euro', ...smoothing } : null,
        frames: poses,
      };
      await writePoseTrack(join(dir, 'poses.json'), track, { overwrite: true });
      const found = poses.filter((p) => p.found).length;
      if (found === 0) notes.push('no person found in any frame: nothing is generated over, the output keeps the input');
      else if (found < poses.length) notes.push(`person found in ${found} of ${poses.length} frames`);
    }
    const coverNote = cover.note();
    if (coverNote) notes.push(coverNote);
    if (writer && masker) {
      await writer.finish(
        {
          source: { path: input, width: info.width, height: info.height, fps: info.fps, frameCount: info.frameCount },
          model: { id: masker.modelId, provider: masker.provider, margin: masker.margin, feather: 0 },
          pose: { id: estimator!.modelId, from: 'decompose' },
        },
        join(dir, 'masks.json'),
      );
      writer = undefined;
    }
    tracker = null;
    const shotResult = shots.result();
    const shotsFile: ShotsFile = { schema: 'reshoot.shots/1', frameCount: t, ...shotResult, method: 'src/shots ShotDetector (histogram + thumbnail difference against the local median)' };
    if (shotResult.cuts.length) notes.push(`${shotResult.shots.length} shots (cuts at ${shotResult.cuts.join(', ')})`);
    await writeJsonAtomic(join(dir, 'shots.json'), shotsFile, { overwrite: true });
    const result = { frameCount: t, samples: [...samples].sort((a, b) => a - b), reference: (best as { t: number } | null)?.t ?? 0, notes };
    await writeJsonAtomic(join(dir, 'decompose.json'), result, { overwrite: true });
    return { ...result, track, shots: shotsFile, masks: opts.masks && opts.pose ? await MaskFile.open(join(dir, 'masks.raw'), join(dir, 'masks.json')) : null };
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    await estimator?.release().catch(() => undefined);
    await masker?.release().catch(() => undefined);
  }
}

/** Reads a decomposition written by decomposeVideo (resume). */
export async function loadDecomposition(dir: string, withPose: boolean, withMasks: boolean): Promise<Decomposition> {
  const meta = JSON.parse(await readFile(join(dir, 'decompose.json'), 'utf8')) as Pick<Decomposition, 'frameCount' | 'samples' | 'reference' | 'notes'>;
  const shots = JSON.parse(await readFile(join(dir, 'shots.json'), 'utf8')) as ShotsFile;
  if (shots.schema !== 'reshoot.shots/1') throw new ReshootError(`${join(dir, 'shots.json')} is not a reshoot.shots/1 file`);
  const track = withPose ? await readPoseTrack(join(dir, 'poses.json')) : null;
  const masks = withMasks && existsSync(join(dir, 'masks.raw')) ? await MaskFile.open(join(dir, 'masks.raw'), join(dir, 'masks.json')) : null;
  return { ...meta, shots, track, masks };
}

export async function readSample(dir: string, t: number): Promise<Frame> {
  return readRgb(join(dir, sampleFile(t)));
}

/**
 * How much of the frame the person covers. Above 25 % at its largest, run.json says so: the stabilizer then
 * fits the camera on a thin margin of background (and falls back per frame where too few points remain).
 */
function maskCoverage() {
  let max = 0, sum = 0, n = 0;
  return {
    add(alpha: GrayFrame) {
      let on = 0;
      for (let i = 0; i < alpha.data.length; i++) if (alpha.data[i] >= 128) on++;
      const f = on / alpha.data.length;
      max = Math.max(max, f);
      sum += f;
      n++;
    },
    note(): string | null {
      if (max <= 0.25) return null;
      return `the person covers up to ${(100 * max).toFixed(0)} % of the frame (${(100 * sum / n).toFixed(0)} % on average where found): little background is left for the stabilizer`;
    },
  };
}

function emptyMask(width: number, height: number): GrayFrame {
  return { width, height, data: new Uint8Array(width * height) };
}
