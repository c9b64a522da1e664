/**
 * The orchestrator: the only place that knows the order of the stages.
 *
 *   probe -> stabilize (analysis only; frames are corrected on the fly)
 *         -> decompose pass: pose track on stabilized frames, masks + frames for the plate samples
 *         -> plate -> segment plan -> contacts + foot-lock plan
 *         -> per segment: frames -> masks -> generate -> temporal -> composite -> foot lock -> segment clip
 *         -> finish: blend the segment clips -> re-shake -> encode with the source fps and audio
 *
 * Memory: whole-video passes stream one frame at a time; a segment streams in
 * chunks of `chunkFrames` through frame-independent generators (passthrough,
 * synthetic, onnx). A cmd: generator gets the whole segment (it writes it to a
 * folder for the external program), so its memory scales with segment length.
 */
import { existsSync, statSync } from 'node:fs';
import { link, readFile, rm } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { loadOpenCV } from '../cv/opencv.js';
import { computePlate, sourceFromArrays, type Plate } from '../background/index.js';
import { blendOver, featherMaskSync } from '../composite/index.js';
import { detectContacts, lockFrameSync, planFootLock, writeContacts, type LockPlan } from '../footlock/index.js';
import { createGenerator, readRgb, writePng, type Generator } from '../generate/index.js';
import { createPersonMasker, type PersonMasker } from '../person-mask/index.js';
import { createPoseEstimator, DEFAULT_ONE_EURO, PoseTracker, readPoseTrack, writePoseTrack, type PoseEstimator } from '../pose/index.js';
import type { PoseFrame, PoseTrack } from '../pose/types.js';
import { blendSegmentStreams, flowMotionEnergy, planSegments, poseMotionEnergy, validatePlan, type SegmentPlan } from '../segment/index.js';
import { analyzeVideo, applyCorrection, loadTransforms, reshakeFrame, saveTransforms, type TransformsData } from '../stabilize/index.js';
import { TemporalConsistency } from '../temporal/index.js';
import { assertCanWrite, assertWritableDir, ensureDir, writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { startRssSampler } from '../util/process-tree.js';
import { decodeFrames, encodeFrames, probeVideo, type Frame, type GrayFrame, type VideoInfo } from '../video/index.js';
import type { PipelineConfig } from './config.js';
import { stageReporter, type PipelineListener, type StageName } from './events.js';
import { RunFolder, type SegmentRecord } from './run-folder.js';
import { collectVersions } from './versions.js';

export interface ProcessOptions {
  input: string;
  output: string;
  config: PipelineConfig;
  /** Default: `<output without extension>.run` beside the output. */
  runDir?: string;
  /** Continue the run in runDir: completed steps and segments are reused. */
  resume?: boolean;
  /** Replace an existing output (and reuse a non-empty run folder from scratch). */
  overwrite?: boolean;
  onEvent?: PipelineListener;
  signal?: AbortSignal;
  /** Frames per chunk through frame-independent generators. Default 24. */
  chunkFrames?: number;
  /** Threads for the pose/mask models (default: onnxruntime's choice). */
  threads?: number;
}

export interface ProcessResult {
  output: string;
  runDir: string;
  run: RunFolder;
  resumed: boolean;
  seconds: number;
}

const SEGMENT_CLIP_CRF = 4; // near-lossless intermediate: seams and flicker are measured on these

export async function processVideo(opts: ProcessOptions): Promise<ProcessResult> {
  const started = performance.now();
  const emit: PipelineListener = opts.onEvent ?? (() => undefined);
  const input = resolve(opts.input);
  const output = resolve(opts.output);
  const cfg = opts.config;
  if (!existsSync(input)) throw new ReshootError(`input ${opts.input} not found`);
  if (extname(output).toLowerCase() !== '.mp4') throw new ReshootError(`output ${opts.output} must be an .mp4 file`);
  assertCanWrite(output, { overwrite: opts.overwrite || opts.resume });
  await assertWritableDir(output);
  const runDir = resolve(opts.runDir ?? join(dirname(output), `${basename(output, extname(output))}.run`));

  const timed = async <T>(stage: StageName, work: () => Promise<T>, segment?: number): Promise<[T, number]> => {
    emit({ type: 'stage-start', stage, segment });
    const t0 = performance.now();
    const value = await work();
    const seconds = (performance.now() - t0) / 1000;
    emit({ type: 'stage-end', stage, segment, seconds });
    return [value, seconds];
  };

  // The generator first: a bad spec, sidecar or model fails before any frame is processed.
  const generator: Generator = await createGenerator(cfg.generator.spec, {
    synthetic: { seed: cfg.generator.seed },
    cmd: { timeoutMs: cfg.generator.timeoutSeconds * 1000 },
    onnx: { releaseBetweenSegments: cfg.generator.releaseBetweenSegments },
  });
  const [info] = await timed('probe', () => probeVideo(input)).catch(async (err) => {
    await generator.close();
    throw err;
  });
  if (info.frameCount < 2) throw new ReshootError(`${opts.input} has ${info.frameCount} frame(s): the pipeline needs at least 2`);
  const st = statSync(input);
  const { run, resumed } = await RunFolder.open(
    runDir,
    {
      input: { path: input, bytes: st.size, mtimeMs: st.mtimeMs },
      output,
      config: cfg,
      versions: await collectVersions(),
      video: { width: info.width, height: info.height, fps: info.fps, frameCount: info.frameCount, hasAudio: info.hasAudio },
    },
    { resume: opts.resume, overwrite: opts.overwrite },
  );

  // Ctrl-C / SIGTERM: record the interruption before the exit-cleanup handler ends the process.
  const onSignal = (signal: NodeJS.Signals) => {
    try {
      run.markInterruptedSync(signal);
    } catch {
      // The manifest from the last completed step stays valid.
    }
    if (process.listenerCount(signal) === 1) process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);

  let estimator: PoseEstimator | undefined;
  let masker: PersonMasker | undefined;
  try {
    // ---- stabilize: analysis only; frames are corrected when read.
    let transforms: TransformsData | null = null;
    if (cfg.stabilize.enabled) {
      if (!run.isDone('stabilize')) {
        const [analysis, seconds] = await timed('stabilize', () =>
          analyzeVideo(input, {
            info,
            smoother: cfg.stabilize.smoother,
            window: cfg.stabilize.window,
            maxCropZoom: cfg.stabilize.maxCropZoom,
            onAnalyzeProgress: stageReporter(emit, 'stabilize'),
          }),
        );
        await saveTransforms(run.path('transforms.json'), analysis.transforms, { overwrite: true });
        await run.markStep('stabilize', { status: 'done', seconds, file: 'transforms.json' });
      } else emit({ type: 'stage-end', stage: 'stabilize', reused: true });
      transforms = await loadTransforms(run.path('transforms.json'), { width: info.width, height: info.height, frameCount: info.frameCount });
    } else await run.markStep('stabilize', { status: 'skipped', note: 'stabilize.enabled = false' });
    const frameCount = transforms ? transforms.frames.length : info.frameCount;
    const stabilized = (start: number, count: number) => stabilizedFrames(input, info, transforms, start, count);

    // ---- decompose: pose track + the plate's sample frames and masks, in one pass.
    // Masks feed the plate, the composite, the foot lock's person layer, and generators that take conditioning.
    const wantPlate = cfg.pose.enabled && cfg.masks.enabled && cfg.background.mode !== 'off';
    const wantMasks = cfg.pose.enabled && cfg.masks.enabled && (wantPlate || cfg.footlock.enabled || generator.kind === 'cmd' || generator.kind === 'onnx');
    let track: PoseTrack | null = null;
    if (cfg.pose.enabled) {
      estimator = await createPoseEstimator({ model: cfg.pose.model === 'movenet-lightning' ? 'lightning' : 'thunder', minScore: cfg.pose.minScore, threads: opts.threads });
      if (wantMasks) masker = await createPersonMasker({ model: cfg.masks.model === 'selfie' ? 'selfie' : 'full', feather: 0, threads: opts.threads });
    }
    if (cfg.pose.enabled && !(run.isDone('pose') && (!wantPlate || run.isDone('plate')))) {
      const samples = new Set(wantPlate ? plateSamples(frameCount, cfg.background.mode === 'inpaint' ? 1 : cfg.background.samples) : []);
      const sampleFrames: Frame[] = [];
      const sampleMasks: GrayFrame[] = [];
      let best: { score: number; frame: Frame } | null = null;
      const tracker = new PoseTracker(estimator!, { fps: info.fpsValue, smoothing: cfg.pose.smoothing ? DEFAULT_ONE_EURO : null });
      const poses: PoseFrame[] = [];
      const report = stageReporter(emit, 'pose');
      const [, poseSeconds] = await timed('pose', async () => {
        let t = 0;
        for await (const frame of stabilized(0, frameCount)) {
          opts.signal?.throwIfAborted();
          const pose = await tracker.next(frame);
          poses.push(pose);
          if (samples.has(t)) {
            sampleFrames.push(frame);
            sampleMasks.push((await masker!.mask(frame, pose.found ? pose : null)).alpha);
          }
          if (pose.found && (!best || pose.score > best.score)) best = { score: pose.score, frame };
          report(++t, frameCount);
        }
      });
      track = {
        schema: 'reshoot.poses/1',
        source: { path: input, width: info.width, height: info.height, fps: info.fps, frameCount: poses.length },
        model: { id: estimator!.modelId, inputSize: estimator!.inputSize, provider: estimator!.provider },
        minScore: estimator!.minScore,
        smoothing: cfg.pose.smoothing ? { kind: 'one-euro', ...DEFAULT_ONE_EURO } : null,
        frames: poses,
      };
      await writePoseTrack(run.path('poses.json'), track, { overwrite: true });
      // The appearance reference: the stabilized frame with the most confident pose.
      await writePng(run.path('reference.png'), (best as { frame: Frame } | null)?.frame ?? sampleFrames[0] ?? (await firstFrame(stabilized)));
      await run.markStep('pose', { status: 'done', seconds: poseSeconds, file: 'poses.json', note: `${estimator!.modelId} on ${estimator!.provider}` });
      if (wantPlate) {
        const [plate, plateSeconds] = await timed('plate', () =>
          computePlate(sourceFromArrays(sampleFrames, sampleMasks), { maxSamples: sampleFrames.length, inpaint: 'telea', onProgress: stageReporter(emit, 'plate') }),
        );
        await savePlate(run, plate);
        await run.markStep('plate', {
          status: 'done',
          seconds: plateSeconds,
          file: 'plate.png',
          note: `${plate.samples.length} samples, ${(100 * plate.inpaintedFraction).toFixed(2)} % inpainted`,
        });
      }
    } else if (cfg.pose.enabled) {
      emit({ type: 'stage-end', stage: 'pose', reused: true });
    } else {
      await run.markStep('pose', { status: 'skipped', note: 'pose.enabled = false (masks, plate and foot lock need poses)' });
    }
    if (cfg.pose.enabled) track = await readPoseTrack(run.path('poses.json'));
    if (!wantPlate) await run.markStep('plate', { status: 'skipped', note: wantMasks ? 'background.mode = off' : 'no masks' });
    const plate: Frame | null = wantPlate ? await readRgb(run.path('plate.png')) : null;
    const reference: Frame = existsSync(run.path('reference.png')) ? await readRgb(run.path('reference.png')) : await firstFrame(stabilized);

    // ---- segment plan.
    let plan: SegmentPlan;
    if (!run.isDone('plan')) {
      const [p, seconds] = await timed('plan', async () => {
        const energy = track
          ? { energy: poseMotionEnergy(track, frameCount), source: 'pose-box-speed' as const }
          : { energy: (await flowMotionEnergy(input, { onProgress: stageReporter(emit, 'plan') })).energy.slice(0, frameCount), source: 'flow-residual' as const };
        return planSegments(frameCount, energy.energy, {
          count: cfg.segments.count,
          overlap: cfg.segments.overlap,
          minLength: cfg.segments.minLength,
          energySource: energy.source,
        });
      });
      await writeJsonAtomic(run.path('plan.json'), p, { overwrite: true });
      await run.markStep('plan', { status: 'done', seconds, file: 'plan.json', note: `${p.method}: ${p.reason}` });
    }
    plan = validatePlan(JSON.parse(await readFile(run.path('plan.json'), 'utf8')));

    // ---- contacts and the foot-lock plan (driving pose).
    let lock: LockPlan | null = null;
    if (cfg.footlock.enabled && track) {
      const [contacts, seconds] = await timed('contacts', async () => detectContacts(track!));
      if (!run.isDone('contacts')) {
        await writeContacts(run.path('contacts.json'), contacts, { overwrite: true });
        await run.markStep('contacts', { status: 'done', seconds, file: 'contacts.json' });
      }
      lock = planFootLock(contacts, track, { strength: cfg.footlock.strength });
    } else {
      await run.markStep('contacts', { status: 'skipped', note: track ? 'footlock.enabled = false' : 'no poses' });
    }

    // ---- segments, one at a time.
    if (resumed) run.manifest.segments = run.manifest.segments.filter((s) => s.index < plan.segments.length);
    const cv = await loadOpenCV();
    let carried: { guide: Frame; output: Frame; index: number } | null = null;
    for (const seg of plan.segments) {
      const previous = run.manifest.segments[seg.index];
      const clip = join('segments', `seg-${String(seg.index).padStart(2, '0')}.mp4`);
      if (previous?.status === 'done' && existsSync(run.path(clip)) && previous.start === seg.start && previous.end === seg.end) {
        emit({ type: 'stage-end', stage: 'segment', segment: seg.index, segments: plan.count, reused: true });
        carried = null; // a reused segment's last output frame is not kept; the next segment restarts its recursion
        continue;
      }
      const record: SegmentRecord = { index: seg.index, label: seg.label, start: seg.start, end: seg.end, status: 'pending', seconds: {}, generator: generator.describe() };
      run.manifest.segments[seg.index] = record;
      await ensureDir(run.path('segments'));
      const segStart = performance.now();
      // This segment's peak, unlike the process-wide maxRSS in run.json.
      const rss = startRssSampler(200);
      emit({ type: 'stage-start', stage: 'segment', segment: seg.index, segments: plan.count, start: seg.start, end: seg.end });
      const add = (stage: string, t0: number) => (record.seconds[stage] = (record.seconds[stage] ?? 0) + (performance.now() - t0) / 1000);
      const frames = await processSegmentFrames({
        seg,
        plan,
        stabilized,
        track,
        masker: masker ?? null,
        plate,
        reference,
        generator,
        lock,
        cv,
        cfg,
        info,
        workDir: run.path('work', `seg-${String(seg.index).padStart(2, '0')}`),
        chunkFrames: opts.chunkFrames ?? 24,
        carried: cfg.temporal.carry ? carried : null,
        add,
        report: stageReporter(emit, 'segment', { segment: seg.index, segments: plan.count }),
        signal: opts.signal,
      });
      const t0 = performance.now();
      await encodeFrames(frames.stream, run.path(clip), { fps: info.fps, crf: SEGMENT_CLIP_CRF, preset: 'ultrafast', overwrite: true });
      add('encode', t0);
      // encode pulled the stream, so encode time includes the stages; subtract them to keep stages disjoint.
      record.seconds.encode = Math.max(0, record.seconds.encode - sumExcept(record.seconds, 'encode'));
      carried = frames.last();
      if (cfg.generator.releaseBetweenSegments) await generator.release();
      record.status = 'done';
      record.file = clip;
      record.peakRssMB = rss.stop().selfBytes / 2 ** 20;
      record.seconds.total = (performance.now() - segStart) / 1000;
      await run.save();
      emit({ type: 'stage-end', stage: 'segment', segment: seg.index, segments: plan.count, start: seg.start, end: seg.end, seconds: record.seconds.total });
    }

    // ---- finish: blend -> re-shake -> encode.
    await estimator?.release();
    await masker?.release();
    estimator = undefined;
    masker = undefined;
    const [, finishSeconds] = await timed('finish', async () => {
      const sources = plan.segments.map((s) => decodeFrames(run.path(run.manifest.segments[s.index].file!)));
      const blended = blendSegmentStreams(sources, plan, { ramp: cfg.blend.ramp, colorMatch: cfg.blend.colorMatch, onProgress: stageReporter(emit, 'finish') });
      async function* reshaken(): AsyncGenerator<Frame> {
        let t = 0;
        for await (const f of blended) {
          opts.signal?.throwIfAborted();
          if (transforms && cfg.reshake.enabled) yield await reshakeFrame(f, transforms.frames[t].correction, zoomOf(transforms, t));
          else yield f;
          t++;
        }
      }
      await encodeFrames(reshaken(), output, {
        fps: info.fps,
        crf: cfg.encode.crf,
        preset: cfg.encode.preset,
        audioFrom: cfg.encode.audio && info.hasAudio ? input : undefined,
        overwrite: true, // checked at the start
      });
    });
    await linkIntoRun(run, output);
    await run.markStep('finish', { status: 'done', seconds: finishSeconds, file: 'output.mp4' });
    run.manifest.status = 'done';
    run.manifest.totalSeconds = (performance.now() - started) / 1000;
    await run.save();
    return { output, runDir, run, resumed, seconds: run.manifest.totalSeconds };
  } catch (err) {
    run.manifest.status = opts.signal?.aborted ? 'interrupted' : 'failed';
    run.manifest.error = (err as Error)?.message ?? String(err);
    await run.save().catch(() => undefined);
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await generator.close().catch(() => undefined);
    await estimator?.release().catch(() => undefined);
    await masker?.release().catch(() => undefined);
  }
}

function sumExcept(seconds: Record<string, number>, except: string): number {
  let s = 0;
  for (const [k, v] of Object.entries(seconds)) if (k !== except && k !== 'total') s += v;
  return s;
}

function zoomOf(transforms: TransformsData, t: number): number {
  if (transforms.crop.border === 'fill') return 1;
  const z = transforms.crop.zoom;
  return typeof z === 'number' ? z : z[t];
}

/** Frames [start, start+count) of the input, corrected by the stabilization (or as decoded when it is off). */
async function* stabilizedFrames(input: string, info: VideoInfo, transforms: TransformsData | null, start: number, count: number): AsyncGenerator<Frame> {
  let t = start;
  for await (const frame of decodeFrames(input, { info, start, count })) {
    yield transforms ? await applyCorrection(frame, transforms.frames[t].correction, { border: transforms.crop.border, zoom: zoomOf(transforms, t) }) : frame;
    t++;
  }
}

async function firstFrame(stabilized: (start: number, count: number) => AsyncGenerator<Frame>): Promise<Frame> {
  for await (const f of stabilized(0, 1)) return f;
  throw new ReshootError('the input delivered no frames');
}

/** Evenly spread sample indices (the plate's median works on these). */
export function plateSamples(frameCount: number, k: number): number[] {
  const n = Math.max(1, Math.min(k, frameCount));
  if (n === 1) return [Math.floor(frameCount / 2)];
  return Array.from({ length: n }, (_, i) => Math.round((i * (frameCount - 1)) / (n - 1)));
}

async function savePlate(run: RunFolder, plate: Plate): Promise<void> {
  await writePng(run.path('plate.png'), plate.plate);
  await writePng(run.path('plate-confidence.png'), plate.confidence);
  await writePng(run.path('plate-holes.png'), plate.holes);
}

/** Hard-links the output into the run folder (no copy); records nothing when the filesystems differ. */
async function linkIntoRun(run: RunFolder, output: string): Promise<void> {
  const target = run.path('output.mp4');
  await rm(target, { force: true });
  await link(output, target).catch(() => undefined);
}

interface SegmentWork {
  seg: SegmentPlan['segments'][number];
  plan: SegmentPlan;
  stabilized: (start: number, count: number) => AsyncGenerator<Frame>;
  track: PoseTrack | null;
  masker: PersonMasker | null;
  plate: Frame | null;
  reference: Frame;
  generator: Generator;
  lock: LockPlan | null;
  cv: Awaited<ReturnType<typeof loadOpenCV>>;
  cfg: PipelineConfig;
  info: VideoInfo;
  workDir: string;
  chunkFrames: number;
  carried: { guide: Frame; output: Frame; index: number } | null;
  add: (stage: string, t0: number) => void;
  report: (done: number, total?: number) => void;
  signal?: AbortSignal;
}

/**
 * One segment as a stream of final (pre-blend) frames: masks -> generate ->
 * temporal -> composite over the plate -> foot lock. Frame-independent
 * generators get chunks; cmd: gets the whole segment.
 */
function processSegmentFrames(w: SegmentWork): Promise<{ stream: AsyncGenerator<Frame>; last(): { guide: Frame; output: Frame; index: number } | null }> {
  const { seg, cfg } = w;
  const count = seg.end - seg.start;
  const chunk = w.generator.kind === 'cmd' ? count : Math.max(1, w.chunkFrames);
  let last: { guide: Frame; output: Frame; index: number } | null = null;
  const temporal = cfg.temporal.enabled ? new TemporalConsistency({ strength: cfg.temporal.strength, flowScale: cfg.temporal.flowScale, carry: cfg.temporal.carry }) : null;

  async function* stream(): AsyncGenerator<Frame> {
    if (temporal && w.carried && w.carried.index === seg.start - 1) await temporal.prime(w.carried.guide, w.carried.output);
    const source = w.stabilized(seg.start, count);
    let done = 0;
    while (done < count) {
      w.signal?.throwIfAborted();
      let t0 = performance.now();
      const frames: Frame[] = [];
      while (frames.length < chunk && done + frames.length < count) {
        const next = await source.next();
        if (next.done) throw new ReshootError(`segment ${seg.index}: the input ended at frame ${seg.start + done + frames.length}, the plan needs ${seg.end}`);
        frames.push(next.value);
      }
      w.add('decode', t0);
      const first = seg.start + done;
      const poses = w.track ? w.track.frames.slice(first, first + frames.length) : undefined;
      t0 = performance.now();
      const masks: GrayFrame[] | undefined = w.masker
        ? await Promise.all(frames.map(async (f, i) => (await w.masker!.mask(f, poses && poses[i]?.found ? poses[i] : null)).alpha))
        : undefined;
      if (masks) w.add('masks', t0);
      t0 = performance.now();
      const generated = await w.generator.generate({
        segmentIndex: seg.index,
        label: seg.label,
        start: first,
        frames,
        poses,
        masks,
        plate: w.plate,
        reference: w.reference,
        fps: w.info.fps,
        workDir: w.workDir,
        signal: w.signal,
      });
      w.add('generate', t0);
      for (let i = 0; i < generated.length; i++) {
        const t = first + i;
        let out = generated[i];
        let t1 = performance.now();
        if (temporal) out = (await temporal.push(frames[i], out)).frame;
        w.add('temporal', t1);
        if (temporal && cfg.temporal.carry && t === seg.end - 1 - seg.overlap) last = { guide: frames[i], output: out, index: t };
        t1 = performance.now();
        // Without a person in this frame there is no layer to put over the plate: the generated frame
        // stays whole (an empty mask would replace the whole scene by the static plate).
        const personHere = poses?.[i]?.found === true;
        const feathered = masks && personHere ? featherMaskSync(w.cv, masks[i], { feather: cfg.masks.feather }) : null;
        if (w.plate && feathered) out = blendOver(out, w.plate, feathered);
        w.add('composite', t1);
        t1 = performance.now();
        if (w.lock) out = lockFrameSync(w.cv, out, w.lock.matrices[t], feathered ?? undefined, w.plate ?? undefined);
        w.add('footlock', t1);
        yield out;
        w.report(done + i + 1, count);
      }
      done += frames.length;
    }
  }
  return Promise.resolve({ stream: stream(), last: () => last });
}
