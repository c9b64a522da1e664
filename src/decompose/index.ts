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
import { rgbToGray } from '../flow/index.js';
import { createPersonMasker, type PersonMasker } from '../person-mask/index.js';
import { TemporalMaskFilter } from '../person-mask/stability.js';
import {
  createPoseEstimator, DEFAULT_ONE_EURO, PEOPLE_PASS, PeopleTracker, readPoseTrack, selectSubject, splitTracksAtCuts, SubjectRefiner, subjectRuleText, writePoseTrack,
  type PeopleTracks, type PoseEstimator, type SubjectRule,
} from '../pose/index.js';
import { PersonDetector } from '../pose/index.js';
import type { Box, PoseFrame, PoseTrack } from '../pose/types.js';
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
  /** `subject`: which tracked person is the subject (default 'auto': the largest, longest-visible). */
  /** `people`: how every person is found (PeopleTracker's sweep): 'detector' (NanoDet, the default) or 'sweep' (pose-model sweeps). */
  pose: { model: 'thunder' | 'lightning'; minScore: number; smoothing: boolean; subject?: SubjectRule; people?: 'detector' | 'sweep' } | null;
  /**
   * null: no masks (they need poses too). `temporal`: strength of the temporal
   * mask filter (src/person-mask TemporalMaskFilter; 0 or absent = per-frame masks).
   */
  masks: { model: 'full' | 'selfie'; temporal?: number } | null;
  /** How many evenly spread frames to keep for the background plate (0 = none). */
  plateSamples: number;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface Decomposition {
  frameCount: number;
  /**
   * The subject's pose per frame in ORIGINAL pixels (null when pose is off);
   * `track.tracks` holds every person with their id and `track.subject` the
   * chosen id and rule (absent in run folders written before people tracking).
   */
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

/** Runs the decompose passes over `input` and writes their files into opts.dir. */
export async function decomposeVideo(input: string, opts: DecomposeOptions): Promise<Decomposition> {
  const { info, dir } = opts;
  let estimator: PoseEstimator | undefined;
  let fast: PoseEstimator | undefined;
  let detector: PersonDetector | undefined;
  let masker: PersonMasker | undefined;
  let writer: MaskFileWriter | undefined;
  try {
    // No busy-waiting worker threads: the pose calls are small (256 px), and spinning between them burnt about as
    // much CPU as the inferences on the shared machine (README "Cost"), CPU that decode and the masks need.
    if (opts.pose) estimator = await createPoseEstimator({ model: opts.pose.model, minScore: opts.pose.minScore, threads: opts.threads, spinning: false });
    if (opts.pose && opts.pose.model !== PEOPLE_PASS.fastModel) fast = await createPoseEstimator({ model: PEOPLE_PASS.fastModel, minScore: opts.pose.minScore, threads: opts.threads, spinning: false });
    const samples = new Set(plateSamples(info.frameCount, opts.plateSamples));
    if (samples.size) await ensureDir(join(dir, 'samples'));
    const shots = new ShotDetector();
    const smoothing = opts.pose?.smoothing ? DEFAULT_ONE_EURO : null;
    if (opts.pose && (opts.pose.people ?? 'detector') === 'detector') detector = await PersonDetector.create({ threads: opts.threads });
    const people = estimator
      ? new PeopleTracker(estimator, { fps: info.fpsValue, smoothing, followEvery: PEOPLE_PASS.followEvery(info.fpsValue), sweepOnMiss: PEOPLE_PASS.sweepOnMiss, fastEstimator: fast, detector })
      : null;
    const withMasks = !!(opts.pose && opts.masks);
    // Pass 2 (the subject re-read on every frame, masks) reports the second half of the progress.
    const total = estimator ? 2 * info.frameCount : info.frameCount;
    let firstFrame: Frame | null = null;
    const cover = maskCoverage();
    let t = 0;
    for await (const frame of decodeFrames(input, { info })) {
      opts.signal?.throwIfAborted();
      firstFrame ??= frame;
      shots.push(frame);
      if (people) await people.next(frame);
      if (samples.has(t)) await writePng(join(dir, sampleFile(t)), frame);
      t++;
      opts.onProgress?.(t, total);
    }
    if (t !== info.frameCount) throw new ReshootError(`${input}: decoding delivered ${t} frames, the probe promised ${info.frameCount}`);
    const shotResult = shots.result();
    const notes: string[] = [];
    let track: PoseTrack | null = null;
    let all: PeopleTracks | null = null;
    let chosen: ReturnType<typeof selectSubject> | null = null;
    const rule = opts.pose?.subject ?? 'auto';
    await fast?.release();
    await detector?.release();
    detector = undefined;
    fast = undefined;
    if (estimator && people) {
      // The tracker never saw the cuts (the detector needs frames after one to call it): ids are split there afterwards.
      all = splitTracksAtCuts(people.result(), shotResult.cuts);
      chosen = selectSubject(all, rule);
    }
    // The coarse subject (key frames and interpolations) picks the reference; pass 2 reads the subject again.
    const coarse = chosen?.track.frames ?? null;

    // Pass 2: the subject on every frame (the main model), its masks and the reference (the best-scoring frame, else frame 0).
    let bestT = -1;
    if (coarse) for (const p of coarse) if (p.found && (bestT < 0 || p.score > coarse[bestT].score)) bestT = p.index;
    const subjectFrames: PoseFrame[] = [];
    if (estimator || bestT > 0) {
      if (withMasks) masker = await createPersonMasker({ model: opts.masks!.model, feather: 0, threads: opts.threads, spinning: false });
      const refiner = estimator ? new SubjectRefiner(estimator, { fps: info.fpsValue, smoothing, cuts: shotResult.cuts }) : null;
      const strength = opts.masks?.temporal ?? 0;
      const filter = withMasks && strength > 0 ? new TemporalMaskFilter({ strength }) : null;
      const cuts = new Set(shotResult.cuts);
      let u = 0;
      const count = estimator ? info.frameCount : bestT + 1;
      for await (const frame of decodeFrames(input, { info, count })) {
        opts.signal?.throwIfAborted();
        if (u === bestT) await writePng(join(dir, 'reference.png'), frame);
        const pose = refiner && coarse ? await refiner.next(frame, coarse[u]) : null;
        if (pose) subjectFrames.push(pose);
        if (masker) {
          writer ??= new MaskFileWriter(join(dir, 'masks.raw'), frame.width, frame.height);
          const m = pose!.found ? await masker.mask(frame, pose!) : null;
          let alpha = m?.found ? m.alpha : null;
          if (filter) {
            // Nothing is carried across a cut.
            if (cuts.has(u)) filter.reset();
            alpha = await filter.push(rgbToGray(frame), alpha);
          }
          writer.append(alpha ?? emptyMask(frame.width, frame.height), m?.found === true);
          if (alpha && m?.found) cover.add(alpha);
        }
        u++;
        if (estimator) opts.onProgress?.(info.frameCount + u, total);
      }
      if (u !== count) throw new ReshootError(`${input}: the second decoding delivered ${u} frames, the first ${count}`);
    }

    if (estimator && all && chosen) {
      // The subject's entry in `tracks` is the re-read one, so every consumer sees the same poses.
      const tracks = all.tracks.map((tr) => (tr.id === chosen!.id ? { id: tr.id, frames: subjectFrames.filter((p) => p.found) } : tr));
      track = {
        schema: 'reshoot.poses/1',
        source: { path: input, width: info.width, height: info.height, fps: info.fps, frameCount: t },
        model: { id: estimator.modelId, inputSize: estimator.inputSize, provider: estimator.provider },
        minScore: estimator.minScore,
        smoothing: smoothing ? { kind: 'one-euro', ...smoothing } : null,
        frames: subjectFrames,
        tracks,
        subject: { id: chosen.id, rule: subjectRuleText(rule) },
        ...(all.tracks.length === 0 && { notes: ['no person found: tracks is empty and every frame has found=false'] }),
      };
      await writePoseTrack(join(dir, 'poses.json'), track, { overwrite: true });
      const found = track.frames.filter((p) => p.found).length;
      if (found === 0) notes.push('no person found in any frame: nothing is generated over, the output keeps the input');
      else {
        notes.push(`${all.tracks.length} person track(s); subject #${chosen.id} by rule ${subjectRuleText(rule)}`);
        if (found < t) notes.push(`subject found in ${found} of ${t} frames`);
      }
    }

    const coverNote = cover.note();
    if (coverNote) notes.push(coverNote);
    if (bestT <= 0 && firstFrame) await writePng(join(dir, 'reference.png'), firstFrame);
    firstFrame = null;
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
    const shotsFile: ShotsFile = { schema: 'reshoot.shots/1', frameCount: t, ...shotResult, method: 'src/shots ShotDetector (histogram + thumbnail difference against the local median)' };
    if (shotResult.cuts.length) notes.push(`${shotResult.shots.length} shots (cuts at ${shotResult.cuts.join(', ')})`);
    await writeJsonAtomic(join(dir, 'shots.json'), shotsFile, { overwrite: true });
    const result = { frameCount: t, samples: [...samples].sort((a, b) => a - b), reference: Math.max(0, bestT), notes };
    await writeJsonAtomic(join(dir, 'decompose.json'), result, { overwrite: true });
    return { ...result, track, shots: shotsFile, masks: withMasks ? await MaskFile.open(join(dir, 'masks.raw'), join(dir, 'masks.json')) : null };
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    await estimator?.release().catch(() => undefined);
    await fast?.release().catch(() => undefined);
    await detector?.release().catch(() => undefined);
    await masker?.release().catch(() => undefined);
  }
}

/**
 * Every tracked person's box per frame (original pixels), from a pose track
 * with `tracks`; a track without them (older run folders, single-subject
 * tracks) gives the subject's boxes.
 */
export function peopleBoxes(track: PoseTrack): Map<number, Box[]> {
  const out = new Map<number, Box[]>();
  const add = (p: PoseFrame) => {
    if (!p.found || !p.box) return;
    const list = out.get(p.index);
    if (list) list.push(p.box);
    else out.set(p.index, [p.box]);
  };
  if (track.tracks) for (const tr of track.tracks) for (const p of tr.frames) add(p);
  else for (const p of track.frames) add(p);
  return out;
}

/**
 * Marks a person's region from their valid-keypoint box: that box stops at the
 * eyes and ankles and misses hands held out, so it is widened by
 * max(25 % of its width, 10 % of its height) left and right and 15 % of its
 * height above and below (head top, feet, a swinging arm).
 */
export function fillPersonBox(mask: GrayFrame, b: Box): void {
  const mx = Math.max(0.25 * b.width, 0.1 * b.height), my = 0.15 * b.height;
  const rx0 = Math.floor(b.x - mx), rx1 = Math.ceil(b.x + b.width + mx);
  const ry0 = Math.floor(b.y - my), ry1 = Math.ceil(b.y + b.height + my);
  if (rx1 < 0 || ry1 < 0 || rx0 >= mask.width || ry0 >= mask.height) return;
  const x0 = Math.max(0, rx0), x1 = Math.min(mask.width - 1, rx1);
  const y0 = Math.max(0, ry0), y1 = Math.min(mask.height - 1, ry1);
  for (let y = y0; y <= y1; y++) mask.data.fill(255, y * mask.width + x0, y * mask.width + x1 + 1);
}

/**
 * The stabilizer's exclusion mask per frame (original pixels, 255 = excluded):
 * the union of EVERY tracked person (their widened boxes) and the subject's
 * segmentation mask, so nobody walking through the frame is taken for camera
 * motion. undefined for frames without anyone.
 */
export function stabilizerMaskFor(dec: Pick<Decomposition, 'track' | 'masks'>, width: number, height: number): ((t: number) => GrayFrame | undefined) | undefined {
  const boxes = dec.track ? peopleBoxes(dec.track) : new Map<number, Box[]>();
  const masks = dec.masks;
  if (!masks && boxes.size === 0) return undefined;
  return (t: number) => {
    const subject = masks?.found(t) ? masks.read(t) : undefined;
    const bs = boxes.get(t);
    if (!bs?.length) return subject;
    const m: GrayFrame = { width, height, data: subject ? new Uint8Array(subject.data) : new Uint8Array(width * height) };
    for (const b of bs) fillPersonBox(m, b);
    return m;
  };
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
