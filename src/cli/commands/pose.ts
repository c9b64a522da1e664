import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { createPersonMasker, maskCoverage, maskVideo, sidecarPath, type MaskModelName } from '../../person-mask/index.js';
import {
  isImagePath, parseSubjectRule, readImageFrame, readPoseTrack, selectSubject, subjectRuleText, trackPoses, writePoseTrack, LEFT_ANKLE, RIGHT_ANKLE,
  type PoseModelName, type PoseTrack, type SubjectRule,
} from '../../pose/index.js';
import { assertCanWrite, withAtomicOutput, writeJsonAtomic } from '../../util/atomic.js';
import { ReshootError } from '../../util/errors.js';
import { withProgress } from '../progress.js';

type ProviderOpt = 'auto' | 'cpu' | 'cuda';

export interface PoseCliOptions {
  out: string;
  model: string;
  overlay?: string;
  minScore: number;
  smooth?: boolean;
  minCutoff: number;
  beta: number;
  dCutoff: number;
  follow: boolean;
  subject?: string;
  frames?: number;
  provider: string;
  threads?: number;
  overwrite?: boolean;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new ReshootError(`--${name} must be one of ${allowed.join(', ')}; got "${value}"`);
  return value as T;
}

export async function poseCommand(input: string, opts: PoseCliOptions): Promise<void> {
  const model = oneOf<PoseModelName>('model', opts.model, ['thunder', 'lightning']);
  const provider = oneOf<ProviderOpt>('provider', opts.provider, ['auto', 'cpu', 'cuda']);
  if (!(opts.minScore >= 0 && opts.minScore <= 1)) throw new ReshootError(`--min-score must be in 0..1; got ${opts.minScore}`);
  if (opts.frames !== undefined && !(opts.frames >= 1)) throw new ReshootError(`--frames must be at least 1; got ${opts.frames}`);
  const inPath = resolve(input);
  if (!existsSync(inPath)) throw new ReshootError(`input ${input} not found`);
  const out = resolve(opts.out);
  assertCanWrite(out, { overwrite: opts.overwrite });
  const smoothing = opts.smooth ? { minCutoff: opts.minCutoff, beta: opts.beta, dCutoff: opts.dCutoff } : null;
  // --no-follow keeps the old whole-frame, one-person mode; otherwise everyone is tracked and a subject chosen.
  const subject = opts.follow ? parseSubjectRule(opts.subject ?? 'auto') : undefined;
  const result = await withProgress('pose', (onProgress) =>
    trackPoses(inPath, {
      model,
      minScore: opts.minScore,
      smoothing,
      followCrop: opts.follow,
      subject,
      provider,
      threads: opts.threads,
      overlayPath: opts.overlay ? resolve(opts.overlay) : undefined,
      overwrite: opts.overwrite,
      count: opts.frames,
      onProgress,
    }),
  );
  await writePoseTrack(out, result.track, { overwrite: opts.overwrite });
  const frames = result.track.frames;
  const found = frames.filter((f) => f.found).length;
  const ankles = frames.filter((f) => f.found && f.keypoints[LEFT_ANKLE].valid && f.keypoints[RIGHT_ANKLE].valid).length;
  const s = result.stats;
  const lines = [
    `pose       ${frames.length} frame(s) -> ${out}`,
    `model      ${result.track.model.id} (${result.track.model.inputSize} px) on ${result.track.model.provider}; keypoints with score < ${result.track.minScore} marked invalid`,
    found === 0
      ? `person     NO PERSON FOUND in ${input}: every keypoint is marked invalid`
      : `person     found in ${found}/${frames.length} frame(s); both ankles valid in ${ankles}`,
  ];
  if (result.track.tracks) {
    const ts = result.track.tracks;
    lines.push(
      ts.length === 0
        ? `people     none (${result.track.notes?.join('; ') ?? 'no person found'})`
        : `people     ${ts.length} track(s): ${ts.map((t) => `#${t.id} (${t.frames.length} frames)`).join(', ')}; subject #${result.track.subject!.id} by rule ${result.track.subject!.rule}`,
    );
  } else if (frames.length > 1) lines.push(`tracking   crop ${s.crop}, wider crop ${s['wide-crop']}, whole frame ${s.full + s['full-refined']} (re-acquired), not found ${s.notFound}`);
  lines.push(`smoothing  ${smoothing ? `One Euro (minCutoff ${smoothing.minCutoff} Hz, beta ${smoothing.beta}, dCutoff ${smoothing.dCutoff} Hz)` : 'off'}`);
  lines.push(`speed      ${(frames.length / result.seconds).toFixed(1)} frames/s including decode and load`);
  if (opts.overlay) lines.push(`overlay    ${resolve(opts.overlay)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export interface MasksCliOptions {
  out: string;
  model: string;
  poses?: string;
  poseModel: string;
  margin: number;
  feather?: number;
  sidecar?: string;
  frames?: number;
  subject?: string;
  /** Temporal mask filter strength (0 = per-frame masks). */
  temporal: number;
  provider: string;
  threads?: number;
  overwrite?: boolean;
}

/** The subject of a pose track chosen again by `rule` from its `tracks` (a track written with --subject). */
function reselect(poses: PoseTrack, rule: SubjectRule, path: string): PoseTrack {
  if (!poses.tracks) throw new ReshootError(`--subject needs a pose track with every person (${path} has no tracks: write it with \`reshoot pose\` without --no-follow)`);
  const fps = poses.source.fps.num / poses.source.fps.den;
  const start = poses.frames[0]?.index ?? 0;
  const chosen = selectSubject({ startIndex: start, frameCount: poses.frames.length, fps, width: poses.source.width, height: poses.source.height, tracks: poses.tracks, cuts: [] }, rule);
  return { ...poses, frames: chosen.track.frames, subject: { id: chosen.id, rule: subjectRuleText(rule) } };
}

export async function masksCommand(input: string, opts: MasksCliOptions): Promise<void> {
  const model = oneOf<MaskModelName>('model', opts.model, ['full', 'selfie']);
  const poseModel = oneOf<PoseModelName>('pose-model', opts.poseModel, ['thunder', 'lightning']);
  const provider = oneOf<ProviderOpt>('provider', opts.provider, ['auto', 'cpu', 'cuda']);
  if (!(opts.margin >= 0 && opts.margin <= 2)) throw new ReshootError(`--margin must be in 0..2; got ${opts.margin}`);
  if (opts.feather !== undefined && !(opts.feather >= 0)) throw new ReshootError(`--feather must be >= 0 pixels; got ${opts.feather}`);
  if (!(opts.temporal >= 0 && opts.temporal < 1)) throw new ReshootError(`--temporal must be in [0, 1); got ${opts.temporal}`);
  const inPath = resolve(input);
  if (!existsSync(inPath)) throw new ReshootError(`input ${input} not found`);
  const out = resolve(opts.out);
  const side = resolve(opts.sidecar ?? sidecarPath(out));
  const subject = opts.subject !== undefined ? parseSubjectRule(opts.subject) : undefined;
  let poses = opts.poses ? await readPoseTrack(resolve(opts.poses)) : undefined;
  if (poses && subject !== undefined) poses = reselect(poses, subject, opts.poses!);
  else if (!poses && subject !== undefined) {
    poses = (await withProgress('pose', (onProgress) => trackPoses(inPath, { model: poseModel, provider, threads: opts.threads, subject, count: opts.frames, onProgress }))).track;
  }

  if (isImagePath(inPath)) {
    // A still: one mask as a gray PNG plus the same sidecar.
    if (!/\.png$/i.test(out)) throw new ReshootError(`for an image input the mask output must be a .png; got ${opts.out}`);
    assertCanWrite(out, { overwrite: opts.overwrite });
    assertCanWrite(side, { overwrite: opts.overwrite });
    const frame = await readImageFrame(inPath);
    const pose = poses?.frames[0] ?? (await trackPoses(inPath, { model: poseModel, provider, threads: opts.threads })).track.frames[0];
    const masker = await createPersonMasker({ model, margin: opts.margin, feather: opts.feather, provider, threads: opts.threads });
    let r;
    try {
      r = await masker.mask(frame, pose);
    } finally {
      await masker.release();
    }
    await withAtomicOutput(out, (tmp) => sharp(Buffer.from(r.alpha.data), { raw: { width: frame.width, height: frame.height, channels: 1 } }).png().toFile(tmp).then(() => undefined), { overwrite: opts.overwrite });
    await writeJsonAtomic(side, {
      schema: 'reshoot.masks/1',
      source: { path: inPath, width: frame.width, height: frame.height, fps: { num: 1, den: 1 }, frameCount: 1 },
      storage: 'png',
      model: { id: masker.modelId, provider: masker.provider, margin: masker.margin, feather: opts.feather ?? Math.max(frame.width, frame.height) * 0.004 },
      pose: { id: poses?.model.id ?? `movenet-${poseModel}`, from: poses ? 'pose track' : 'tracked' },
      frames: [{ index: 0, found: r.found, coverage: Number(maskCoverage(r.alpha).toFixed(5)) }],
    }, { overwrite: opts.overwrite });
    process.stdout.write(`mask       ${r.found ? `person covers ${(100 * maskCoverage(r.alpha)).toFixed(1)}% of the image` : `NO PERSON FOUND in ${input}: the mask is empty`} -> ${out}\nsidecar    ${side}\n`);
    return;
  }

  const r = await withProgress('masks', (onProgress) =>
    maskVideo(inPath, out, {
      model,
      margin: opts.margin,
      feather: opts.feather,
      poses,
      poseModel,
      provider,
      threads: opts.threads,
      sidecar: side,
      overwrite: opts.overwrite,
      count: opts.frames,
      temporal: opts.temporal,
      onProgress,
    }),
  );
  const frames = r.sidecar.frames;
  const found = frames.filter((f) => f.found).length;
  const lines = [
    `masks      ${frames.length} frame(s) -> ${out} (${r.sidecar.storage === 'mp4' ? 'gray H.264: threshold at 128' : 'raw 8-bit, width*height bytes per frame'})`,
    `model      ${r.sidecar.model.id} on ${r.sidecar.model.provider}, crop margin ${r.sidecar.model.margin}, feather sigma ${r.sidecar.model.feather.toFixed(1)} px`,
    found === frames.length ? `person     found in every frame` : `person     found in ${found}/${frames.length} frame(s); the others have an empty mask (found: false in the sidecar)`,
    `sidecar    ${r.sidecarPath}`,
    `speed      ${(frames.length / r.seconds).toFixed(1)} frames/s including pose, decode and encode`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
