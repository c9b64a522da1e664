/**
 * Pose tracks of whole files: a video (decoded frame by frame) or a still
 * image (a one-frame track), with an optional skeleton overlay video written
 * in the same pass.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import { writeJsonAtomic, assertCanWrite } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { decodeFrames, encodeFrames, probeVideo } from '../video/index.js';
import type { Frame, ProgressFn } from '../video/types.js';
import { createPoseEstimator, type PoseEstimator, type PoseModelName } from './estimator.js';
import type { OneEuroParams } from './one-euro.js';
import { drawPose, type OverlayStyle } from './overlay.js';
import { PoseTracker, type PoseTrackerStats } from './track.js';
import { ShotDetector } from '../shots/index.js';
import { PersonDetector } from './detector.js';
import { PEOPLE_PASS, PeopleTracker, selectSubject, splitTracksAtCuts, subjectRuleText, type PeopleTrackerStats, type PersonPose, type PeopleTracks, type SubjectRule } from './people.js';
import type { PoseFrame, PoseTrack } from './types.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff']);

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(path).toLowerCase());
}

/**
 * Reads a still image as an RGB Frame: grayscale is expanded to three equal
 * channels, alpha is dropped (composited over nothing: the colour values are kept).
 */
export async function readImageFrame(path: string): Promise<Frame> {
  if (!existsSync(path)) throw new ReshootError(`image ${path} not found`);
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(await readFile(path)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ReshootError(`cannot read image ${path}: ${(err as Error).message}`, { cause: err });
  }
  const { width, height, channels } = raw.info;
  const src = raw.data;
  if (channels === 3) return { width, height, data: new Uint8Array(src.buffer, src.byteOffset, src.length) };
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, n = width * height; i < n; i++) {
    // 1 channel: gray; 2 (gray+alpha that removeAlpha kept): take the gray one.
    const v = src[i * channels];
    data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = v;
  }
  return { width, height, data };
}

export interface TrackPosesOptions {
  model?: PoseModelName;
  minScore?: number;
  minValid?: number;
  /** One Euro parameters (null/undefined: no smoothing). */
  smoothing?: OneEuroParams | null;
  followCrop?: boolean;
  /** See PoseTrackerOptions (searchTiles default true, keepSubject default false). */
  searchTiles?: boolean;
  keepSubject?: boolean;
  /**
   * Track every person (PeopleTracker) and pick the subject by this rule; the
   * track then also holds `tracks` and `subject`. Undefined: follow one person (PoseTracker).
   */
  subject?: SubjectRule;
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  /** Use this estimator (not released here) instead of creating one. */
  estimator?: PoseEstimator;
  /** With `subject`: how every person is found, as decompose's `pose.people` (default 'detector': NanoDet). */
  people?: 'detector' | 'sweep';
  /** Write a skeleton overlay video (mp4) here. */
  overlayPath?: string;
  overlayStyle?: OverlayStyle;
  overwrite?: boolean;
  /** Only the first `count` frames (from `start`). */
  start?: number;
  count?: number;
  onProgress?: ProgressFn;
  /** Called with every frame and its pose (e.g. to draw or collect). */
  onFrame?: (frame: Frame, pose: PoseFrame) => void;
}

export interface TrackPosesResult {
  track: PoseTrack;
  /** Single-subject mode: how each frame's pose was obtained (all zero with a subject rule). */
  stats: PoseTrackerStats;
  /** With a subject rule: every person and the tracker's work counts. */
  people?: PeopleTracks;
  peopleStats?: PeopleTrackerStats;
  seconds: number;
}

/**
 * Pose track of a video or an image file (see PoseTracker for how the subject
 * is followed). With overlayPath, the annotated frames are encoded as they are
 * produced (image input: a one-frame video).
 */
export async function trackPoses(path: string, opts: TrackPosesOptions = {}): Promise<TrackPosesResult> {
  if (!existsSync(path)) throw new ReshootError(`input ${path} not found`);
  if (opts.overlayPath) assertCanWrite(opts.overlayPath, { overwrite: opts.overwrite });
  const started = performance.now();
  const image = isImagePath(path);
  const info = image ? undefined : await probeVideo(path);
  const first = image ? await readImageFrame(path) : undefined;
  const width = first?.width ?? info!.width;
  const height = first?.height ?? info!.height;
  const fps = info?.fps ?? { num: 1, den: 1 };
  const fpsValue = info?.fpsValue ?? 1;
  const start = opts.start ?? 0;
  const total = image ? 1 : Math.max(0, Math.min(opts.count ?? Infinity, info!.frameCount - start));

  const estimator = opts.estimator ?? (await createPoseEstimator({ model: opts.model, minScore: opts.minScore, minValid: opts.minValid, provider: opts.provider, threads: opts.threads }));
  const tracker = new PoseTracker(estimator, { fps: fpsValue, smoothing: opts.smoothing ?? null, startIndex: start, followCrop: opts.followCrop, searchTiles: opts.searchTiles, keepSubject: opts.keepSubject });
  // A still has no second frame to confirm a new person in.
  // Every person is tracked the way decompose does it (PEOPLE_PASS), so ids agree with `process --subject`.
  const fast =
    opts.subject !== undefined && !opts.estimator && (opts.model ?? 'thunder') !== PEOPLE_PASS.fastModel
      ? await createPoseEstimator({ model: PEOPLE_PASS.fastModel, minScore: opts.minScore, minValid: opts.minValid, provider: opts.provider, threads: opts.threads })
      : undefined;
  const detector = opts.subject !== undefined && (opts.people ?? 'detector') === 'detector' ? await PersonDetector.create({ threads: opts.threads }) : undefined;
  const people =
    opts.subject !== undefined
      ? new PeopleTracker(estimator, { fps: fpsValue, smoothing: opts.smoothing ?? null, startIndex: start, confirmFrames: image ? 1 : 2, followEvery: PEOPLE_PASS.followEvery(fpsValue), sweepOnMiss: PEOPLE_PASS.sweepOnMiss, fastEstimator: fast, detector })
      : null;
  // Frames between the people pass's key frames draw the last key frame's people.
  let drawn: PersonPose[] = [];
  // Hard cuts split tracks the way the pipeline's decompose pass does, so an id seen here names the same person in `process --subject`.
  const shots = people ? new ShotDetector() : null;
  const frames: PoseFrame[] = [];
  const source: AsyncIterable<Frame> | Iterable<Frame> = first ? [first] : decodeFrames(path, { info, start, count: opts.count });
  async function* annotated(): AsyncGenerator<Frame> {
    for await (const frame of source) {
      if (people) {
        // Every person is drawn (the subject is only chosen at the end); onFrame is single-subject only.
        shots!.push(frame);
        const pf = await people.next(frame);
        let out = frame;
        if ((pf.index - start) % PEOPLE_PASS.followEvery(fpsValue) === 0) drawn = [...pf.people, ...pf.tentative];
        if (opts.overlayPath) for (const p of drawn) out = drawPose(out, p, opts.overlayStyle);
        frames.push({ index: pf.index, found: false, box: null, score: 0, keypoints: [] });
        opts.onProgress?.(frames.length, total);
        if (opts.overlayPath) yield out;
        continue;
      }
      const pose = await tracker.next(frame);
      frames.push(pose);
      opts.onFrame?.(frame, pose);
      opts.onProgress?.(frames.length, total);
      if (opts.overlayPath) yield drawPose(frame, pose, opts.overlayStyle);
    }
  }
  try {
    if (opts.overlayPath) {
      await encodeFrames(annotated(), opts.overlayPath, { fps, overwrite: opts.overwrite, crf: 20, preset: 'veryfast' });
    } else {
      for await (const _ of annotated());
    }
  } finally {
    if (!opts.estimator) await estimator.release();
    await fast?.release();
    await detector?.release();
  }
  const track: PoseTrack = {
    schema: 'reshoot.poses/1',
    source: { path, width, height, fps, frameCount: frames.length },
    model: { id: estimator.modelId, inputSize: estimator.inputSize, provider: estimator.provider },
    minScore: estimator.minScore,
    smoothing: opts.smoothing ? { kind: 'one-euro', ...opts.smoothing } : null,
    frames,
  };
  if (people) {
    const all = splitTracksAtCuts(people.result(), shots!.result().cuts.map((c) => c + start));
    const chosen = selectSubject(all, opts.subject!);
    track.frames = chosen.track.frames;
    track.tracks = all.tracks;
    track.subject = { id: chosen.id, rule: subjectRuleText(opts.subject!) };
    if (all.tracks.length === 0) track.notes = ['no person found: tracks is empty and every frame has found=false'];
    return { track, stats: { ...tracker.stats }, people: all, peopleStats: { ...people.stats }, seconds: (performance.now() - started) / 1000 };
  }
  return { track, stats: { ...tracker.stats }, seconds: (performance.now() - started) / 1000 };
}

/** Writes a pose track as JSON (atomically; refuses to replace a file unless overwrite). */
export async function writePoseTrack(path: string, track: PoseTrack, opts: { overwrite?: boolean } = {}): Promise<void> {
  await writeJsonAtomic(path, track, opts);
}

/** Reads poses.json, checking the schema tag and the frame layout. */
export async function readPoseTrack(path: string): Promise<PoseTrack> {
  if (!existsSync(path)) throw new ReshootError(`pose track ${path} not found`);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ReshootError(`pose track ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const t = value as Partial<PoseTrack>;
  if (t?.schema !== 'reshoot.poses/1') throw new ReshootError(`${path} is not a reshoot pose track (schema reshoot.poses/1)`);
  if (!Array.isArray(t.frames) || t.frames.some((f) => !Array.isArray(f?.keypoints) || f.keypoints.length !== 17)) {
    throw new ReshootError(`pose track ${path} is malformed: every frame needs 17 keypoints`);
  }
  return t as PoseTrack;
}
