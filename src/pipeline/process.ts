/**
 * The orchestrator: the only place that knows the order of the stages.
 *
 *   probe -> decompose (pose, masks, shots, plate samples; ORIGINAL frames)
 *         -> stabilize (analysis with the subject excluded, per shot)
 *         -> plate (in the stabilized canvas) -> plan (segments never span a cut) -> contacts
 *         -> per segment: canvas frames -> generate -> temporal -> composite -> foot lock -> clip
 *         -> finish: blend clips -> re-shake onto the input camera -> keep the scene -> encode
 *
 * Geometry: the generator works on a stabilized CANVAS (zoom 1, larger than the
 * frame by the camera's largest excursion), so re-shake always lands on pixels
 * that came from a source frame: no replicated edges. In `original` mode the
 * output is the input frame everywhere except the subject's (grown, feathered)
 * region, which comes from the re-shaken result.
 *
 * Memory: whole-video passes stream one frame at a time; a segment streams in
 * chunks through frame-independent generators; a cmd: generator gets the whole
 * segment (it writes it to a folder for the external program), and so does one
 * that says `wholeSegment` (style: in subject scope: one crop box per segment).
 */
import { existsSync, statSync } from 'node:fs';
import { link, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { computePlate, sourceFromArrays } from '../background/index.js';
import { blendOver, growFeatherSync } from '../composite/index.js';
import { loadOpenCV, type CV } from '../cv/opencv.js';
import { decomposeVideo, loadDecomposition, readSample, stabilizerMaskFor, type Decomposition } from '../decompose/index.js';
import { detectContacts, FollowDrivingLock, lockFrameSync, measureAnkleOffsets, writeContacts, type Contacts } from '../footlock/index.js';
import { createPoseEstimator, cropRegionFromPose, type PoseEstimator } from '../pose/index.js';
import { createGenerator, readRgb, writePng, type Generator } from '../generate/index.js';
import { parseSubjectRule } from '../pose/people.js';
import type { PoseFrame, PoseTrack } from '../pose/types.js';
import { blendSegmentStreams, flowMotionEnergy, planShotSegments, poseMotionEnergy, type Segment, type SegmentPlan } from '../segment/index.js';
import { analyzeVideo, compose, outputTransform, saveTransforms, translation, type TransformsData } from '../stabilize/index.js';
import { TEMPORAL_STYLE_PRESET, TemporalConsistency, type TemporalOptions } from '../temporal/index.js';
import { assertCanWrite, assertWritableDir, ensureDir, writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { startRssSampler } from '../util/process-tree.js';
import { decodeFrames, encodeFrames, probeVideo, type Frame, type GrayFrame, type VideoInfo } from '../video/index.js';
import { canvasGeometry, canvasMatrix, fromCanvas, reshakeChange, toCanvas, warpTo, type CanvasGeometry } from './canvas.js';
import { perFrame, runChain, type ChainFrame, type FrameStage } from './chain.js';
import type { PipelineConfig } from './config.js';
import { stageReporter, type PipelineListener, type StageName } from './events.js';
import { defaultRunDir, RUN_FILES, RunFolder, segmentWorkDir, type SegmentRecord } from './run-folder.js';
import { keyOf, StepRunner, type Step } from './steps.js';
import { collectVersions } from './versions.js';
import { preflightProcess } from './preflight.js';

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
  /**
   * One segment at a time (`--sequential`). Default: up to three segments in flight, the generator taking
   * them in order, so that CPU work hides behind a slow generator; the output bytes are the same.
   */
  sequential?: boolean;
  /** A generator object instead of `config.generator.spec` (finish-external.ts hands in the model's finished video this way). */
  generator?: Generator;
  /**
   * One piece of the run against its run folder, for workers of a queue (src/queue); default: all of it.
   * `prepare`: probe, decompose, stabilize, plate, contacts, plan (resumable like the whole run).
   * `{ segment: k }`: segment k's chain and clip; the prepare steps must be done (reused, never rerun); it
   * writes segments/seg-NN.json, not run.json (several workers share the folder); a done segment is reused.
   * `finish`: blend, re-shake, encode; every segment must be done. The output bytes equal one whole run's.
   * The segment and finish phases imply `resume`; the configured generator is created only for segments.
   */
  phase?: ProcessPhase;
}

export type ProcessPhase = 'prepare' | { segment: number } | 'finish';

export interface ProcessResult {
  output: string;
  runDir: string;
  run: RunFolder;
  resumed: boolean;
  seconds: number;
}

/** Segments in flight at once: the one the generator has, the next being prepared, the previous being finished. */
export const SEGMENTS_IN_FLIGHT = 3;

const SEGMENT_CLIP_CRF = 4; // near-lossless intermediate: seams and flicker are measured on these

/**
 * The temporal stage leaves pixels the generator reproduced (within 4 levels of the stabilized input:
 * a model's rounding) alone: they carry the input's real motion, and filtering them ghosted small moving
 * people through a passthrough (vtest 320x240: worst frame 30.3 dB with, 36.5 dB without temporal).
 */
const KEEP_UNCHANGED_LEVELS = 4;

/**
 * How far (px) the subject may move between frames and still count as the same generated region: the
 * temporal stage blends there (its flow follows the motion); beyond it the subject's pixels are new to
 * the generator's domain and the generated frame is kept (src/temporal PushOptions.fresh).
 */
const FRESH_REACH_PX = 24;

/** Where the subject's mask covers pixels the previous frame's mask was not near: weight 0-255, or undefined when none. */
function freshRegion(cv: CV, mask: GrayFrame | null, prev: GrayFrame | null): GrayFrame | undefined {
  if (!mask) return undefined;
  const near = prev ? growFeatherSync(cv, prev, FRESH_REACH_PX, 8) : null;
  const out = new Uint8Array(mask.data.length);
  let any = false;
  for (let i = 0; i < out.length; i++) {
    // Saturated over the mask's soft edge: a half-weight edge would still fade the new content in there.
    const m = Math.min(255, mask.data[i] * 8);
    if (m === 0) continue;
    const v = near ? Math.round((m * (255 - near.data[i])) / 255) : m;
    out[i] = v;
    any ||= v > 0;
  }
  return any ? { width: mask.width, height: mask.height, data: out } : undefined;
}

/** What one run knows once the whole-video steps are done; the segment chain and finish read it. */
export interface RunState {
  cfg: PipelineConfig;
  info: VideoInfo;
  input: string;
  cv: CV;
  dec: Decomposition;
  transforms: TransformsData | null;
  canvas: CanvasGeometry & { clipped: boolean };
  /** The subject's poses in canvas pixels. */
  track: PoseTrack | null;
  plate: Frame | null;
  reference: Frame;
  /** Driving contacts (canvas pixels) for the foot lock; null when it is off or there are no poses. */
  contacts: Contacts | null;
  /** The pose model the foot lock measures generated ankles with (made on first use, released at the end). */
  ankleEstimator: () => Promise<PoseEstimator>;
  releaseAnkleEstimator: () => Promise<void>;
  generator: Generator;
  /** The composite mode actually used (original needs masks; see notes). */
  mode: PipelineConfig['background']['mode'];
}

export async function processVideo(opts: ProcessOptions): Promise<ProcessResult> {
  const started = performance.now();
  const emit: PipelineListener = opts.onEvent ?? (() => undefined);
  const input = resolve(opts.input);
  const output = resolve(opts.output);
  const cfg = opts.config;
  const phase = opts.phase;
  const segmentPhase = typeof phase === 'object' ? phase.segment : null;
  // Segment and finish jobs continue the run that prepare started.
  if (phase !== undefined && phase !== 'prepare') opts = { ...opts, resume: true };
  if (segmentPhase !== null && !(Number.isInteger(segmentPhase) && segmentPhase >= 0)) throw new ReshootError(`phase segment must be a whole number >= 0; got ${segmentPhase}`);
  if (!existsSync(input)) throw new ReshootError(`input ${opts.input} not found`);
  if (extname(output).toLowerCase() !== '.mp4') throw new ReshootError(`output ${opts.output} must be an .mp4 file`);
  assertCanWrite(output, { overwrite: opts.overwrite || opts.resume });
  await assertWritableDir(output);
  const runDir = opts.runDir ? resolve(opts.runDir) : defaultRunDir(output);

  // Everything checkable from the probe, before any model loads or frame decodes.
  emit({ type: 'stage-start', stage: 'probe' });
  const info = await probeVideo(input);
  emit({ type: 'stage-end', stage: 'probe' });
  preflightProcess({ input, output, runDir, info, config: cfg, overwrite: opts.overwrite, resume: opts.resume });
  if (phase !== undefined && phase !== 'prepare') {
    if (!existsSync(join(runDir, RUN_FILES.manifest))) throw new ReshootError(`run folder ${runDir} has no run.json: run the prepare phase first`);
    // Carry hands each segment's last frame to the next: segments are not independent jobs then.
    if (cfg.temporal.carry && segmentPhase !== null) throw new ReshootError('temporal.carry chains the segments: a segment cannot run as a job of its own (run the video whole)');
  }
  // The generator first: a bad spec, sidecar or model fails before any frame is processed. Prepare and
  // finish never call it (a CPU worker must not load a GPU model): the spec was checked by the preflight.
  const generator: Generator = opts.generator ?? (phase === 'prepare' || phase === 'finish' ? await createGenerator('passthrough') : await createGenerator(cfg.generator.spec, {
    synthetic: { seed: cfg.generator.seed },
    cmd: { timeoutMs: cfg.generator.timeoutSeconds * 1000 },
    onnx: { releaseBetweenSegments: cfg.generator.releaseBetweenSegments },
    style: { size: cfg.generator.size, scope: cfg.generator.scope },
    wanAnimate: { refertNum: cfg.generator.refertNum },
    comfyui: cfg.generator.workflow ? { workflow: cfg.generator.workflow, seed: cfg.generator.seed, timeoutMs: cfg.generator.timeoutSeconds * 1000 } : undefined,
  }));
  if (info.frameCount < 2) {
    await generator.close();
    throw new ReshootError(`${opts.input} has ${info.frameCount} frame(s): the pipeline needs at least 2`);
  }
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
    { resume: opts.resume, overwrite: opts.overwrite, persist: segmentPhase === null },
  );
  if (resumed) await mergeSegmentRecords(run);

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

  const reporter = (stage: StageName) => stageReporter(emit, stage);
  const steps = phase === undefined || phase === 'prepare' ? new StepRunner(run, emit, reporter) : new ReuseOnlySteps(run, emit, reporter);
  const notes: string[] = [];
  let dec: Decomposition | null = null;
  let stateRef: RunState | null = null;
  try {
    const state = await wholeVideoSteps(steps, { cfg, info, input, generator, notes, signal: opts.signal, threads: opts.threads });
    stateRef = state;
    dec = state.dec;
    run.manifest.notes = notes;
    run.manifest.canvas = { width: state.canvas.width, height: state.canvas.height, offsetX: state.canvas.offsetX, offsetY: state.canvas.offsetY, clipped: state.canvas.clipped };
    const plan = (await steps.step(planStep(run, state)))!;
    notes.push(`segments: ${plan.reason}`);
    run.manifest.notes = notes;
    await run.save();
    if (phase === 'prepare') return { output, runDir, run, resumed, seconds: (performance.now() - started) / 1000 };
    if (segmentPhase !== null && segmentPhase >= plan.segments.length) throw new ReshootError(`segment ${segmentPhase} is not in the plan of ${runDir} (${plan.segments.length} segments)`);

    // ---- segments: up to SEGMENTS_IN_FLIGHT at once (opts.sequential: one at a time). The generator takes
    // the segments one after another in plan order (a turn per segment), so its calls and every output byte
    // are the same in both modes; while it works on segment k, the CPU prepares k+1 and finishes k-1.
    if (resumed) run.manifest.segments = run.manifest.segments.filter((s) => s.index < plan.segments.length);
    // The temporal carry hands segment k's last frame to segment k+1's first: that chain is sequential.
    const inFlight = opts.sequential || cfg.temporal.carry ? 1 : SEGMENTS_IN_FLIGHT;
    const segmentKey = (seg: Segment) =>
      keyOf({ seg, generator: cfg.generator, temporal: cfg.temporal, footlock: cfg.footlock, masks: cfg.masks, background: cfg.background, canvas: state.canvas });
    // turns[k] resolves when segment k is done with the generator (or failed, or was reused).
    const turns = plan.segments.map(() => deferred());
    // The first failure stops the other segments in flight.
    const failure = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, failure.signal]) : failure.signal;
    // A segment job generates alone: no other segment's turn to wait for.
    if (segmentPhase !== null) turns.forEach((t, k) => k !== segmentPhase && t.resolve());
    let carried: { guide: Frame; output: Frame; index: number } | null = null;
    const runSegment = async (seg: Segment): Promise<void> => {
      const previous = run.manifest.segments[seg.index];
      const clip = run.segmentClip(seg.index);
      const key = segmentKey(seg);
      const reusable = !steps.invalidated && previous?.status === 'done' && previous.key === key && existsSync(clip);
      if (phase === 'finish' && !reusable) throw new ReshootError(`segment ${seg.index} of ${runDir} is not done: run its segment job before finish`);
      if (reusable) {
        turns[seg.index].resolve();
        emit({ type: 'stage-end', stage: 'segment', segment: seg.index, segments: plan.count, reused: true });
        carried = null; // a reused segment's last output frame is not kept; the next segment restarts its recursion
        return;
      }
      const record: SegmentRecord = { index: seg.index, label: seg.label, start: seg.start, end: seg.end, status: 'pending', seconds: {}, generator: generator.describe(), key };
      run.manifest.segments[seg.index] = record;
      await ensureDir(dirname(clip));
      const segStart = performance.now();
      // This segment's peak, unlike the process-wide maxRSS in run.json (segments in flight together share it).
      const rss = startRssSampler(200);
      emit({ type: 'stage-start', stage: 'segment', segment: seg.index, segments: plan.count, start: seg.start, end: seg.end });
      const where = { segment: seg.index, segments: plan.count };
      emit({ type: 'stage-start', stage: 'decode', ...where });
      const time = (stage: StageName, seconds: number) => (record.seconds[stage] = (record.seconds[stage] ?? 0) + seconds);
      const report = stageReporter(emit, 'segment', where);
      const turn = {
        wait: seg.index > 0 ? turns[seg.index - 1].promise : Promise.resolve(),
        done: () => {
          turns[seg.index].resolve();
          emit({ type: 'stage-end', stage: 'generate', ...where });
          emit({ type: 'stage-start', stage: cfg.temporal.enabled ? 'temporal' : 'composite', ...where });
        },
        started: () => emit({ type: 'stage-start', stage: 'generate', ...where }),
      };
      const chain = segmentChain(state, seg, plan, segmentWorkDir(run.dir, seg.index), cfg.temporal.carry ? carried : null, signal, turn);
      let done = 0;
      const frames = runChain(chain.stages, seg, segmentBatches(state, seg, opts.chunkFrames ?? 24, time, signal), time);
      async function* outputs(): AsyncGenerator<Frame> {
        for await (const f of frames) {
          report(++done, seg.end - seg.start);
          yield f.output;
        }
      }
      const t0 = performance.now();
      try {
        await encodeFrames(outputs(), clip, { fps: info.fps, crf: SEGMENT_CLIP_CRF, preset: 'ultrafast', overwrite: true });
      } finally {
        turns[seg.index].resolve(); // never leave the next segment waiting on a failed one
      }
      // encode pulled the stream, so its wall time includes the stages; subtract them to keep stages disjoint.
      time('encode', Math.max(0, (performance.now() - t0) / 1000 - sumExcept(record.seconds, 'encode')));
      carried = chain.last();
      record.lockShiftMax = chain.lockShift();
      if (cfg.generator.releaseBetweenSegments) await generator.release();
      record.status = 'done';
      record.file = join('segments', basename(clip));
      record.peakRssMB = rss.stop().selfBytes / 2 ** 20;
      record.seconds.total = (performance.now() - segStart) / 1000;
      if (segmentPhase !== null) await writeJsonAtomic(run.segmentRecordPath(seg.index), record, { overwrite: true });
      await run.save();
      emit({ type: 'stage-end', stage: 'segment', segment: seg.index, segments: plan.count, start: seg.start, end: seg.end, seconds: record.seconds.total });
    };
    const running = new Set<Promise<void>>();
    let firstError: unknown = null;
    for (const seg of segmentPhase === null ? plan.segments : [plan.segments[segmentPhase]]) {
      while (running.size >= inFlight) await Promise.race(running);
      if (firstError) break;
      const p: Promise<void> = runSegment(seg)
        .catch((err) => {
          if (!firstError) firstError = err;
          failure.abort(err);
        })
        .finally(() => running.delete(p));
      running.add(p);
    }
    await Promise.all(running);
    if (firstError) throw firstError;
    if (segmentPhase !== null) return { output, runDir, run, resumed, seconds: (performance.now() - started) / 1000 };

    // ---- finish: blend -> re-shake -> keep the scene -> encode (always runs: the output is what was asked for).
    emit({ type: 'stage-start', stage: 'finish' });
    const tf = performance.now();
    await finish(state, plan, run, output, stageReporter(emit, 'finish'), opts.signal);
    const finishSeconds = (performance.now() - tf) / 1000;
    emit({ type: 'stage-end', stage: 'finish', seconds: finishSeconds });
    await linkIntoRun(run, output);
    await run.markStep('finish', { status: 'done', seconds: finishSeconds, files: [RUN_FILES.output].filter((f) => existsSync(run.path(f))) });
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
    dec?.masks?.close();
    await stateRef?.releaseAnkleEstimator().catch(() => undefined);
    await generator.close().catch(() => undefined);
  }
}

/** The step runner of segment and finish jobs: the prepare phase's steps are reused, never rerun. */
class ReuseOnlySteps extends StepRunner {
  override async step<T>(step: Step<T>): Promise<T | null> {
    if (!step.skip && !this.reusable(step)) throw new ReshootError(`step ${step.name} of ${this.run.dir} is not done (or its config changed): run the prepare phase first`);
    return super.step(step);
  }
}

/** Segment jobs record themselves in segments/seg-NN.json (src/queue); a done record there counts as the segment's. */
async function mergeSegmentRecords(run: RunFolder): Promise<void> {
  const dir = run.path('segments');
  if (!existsSync(dir)) return;
  for (const name of (await readdir(dir)).sort()) {
    const m = /^seg-(\d+)\.json$/.exec(name);
    if (!m) continue;
    const rec = JSON.parse(await readFile(join(dir, name), 'utf8')) as SegmentRecord;
    const k = Number(m[1]);
    if (rec.status !== 'done' || rec.index !== k) continue;
    // Dense: the resume code filters the list by index and looks segments up by position.
    for (let i = run.manifest.segments.length; i < k; i++) run.manifest.segments[i] = { index: i, label: '', start: 0, end: 0, status: 'pending', seconds: {} };
    run.manifest.segments[k] = rec;
  }
}

/** decompose -> stabilize -> plate -> contacts: everything before the segment plan. */
export async function wholeVideoSteps(
  steps: StepRunner,
  a: { cfg: PipelineConfig; info: VideoInfo; input: string; generator: Generator; notes: string[]; signal?: AbortSignal; threads?: number },
): Promise<RunState> {
  const { cfg, info, input, notes } = a;
  const run = steps.run;
  const wantMasks = cfg.pose.enabled && cfg.masks.enabled;
  let mode = cfg.background.mode;
  if (mode !== 'generated' && !wantMasks) {
    notes.push(`background.mode ${mode} needs poses and masks (switched off): the generator's whole frame is used`);
    mode = 'generated';
  }
  const wantPlate = wantMasks && mode !== 'generated';
  const samples = wantPlate ? (cfg.background.plate === 'inpaint' ? 1 : cfg.background.samples) : 0;

  // ---- decompose: on the ORIGINAL frames, before anything moves them.
  const decomposeKey = { pose: cfg.pose, masks: { enabled: cfg.masks.enabled, model: cfg.masks.model, temporal: cfg.masks.temporal }, samples };
  const dec = (await steps.step<Decomposition>({
    name: 'decompose',
    outputs: [RUN_FILES.shots, RUN_FILES.decompose, RUN_FILES.reference, ...(cfg.pose.enabled ? [RUN_FILES.poses] : []), ...(wantMasks ? [RUN_FILES.masks, RUN_FILES.masksSidecar] : [])],
    key: decomposeKey,
    run: async (ctx) => {
      const d = await decomposeVideo(input, {
        info,
        dir: run.dir,
        pose: cfg.pose.enabled
          ? { model: cfg.pose.model === 'movenet-lightning' ? 'lightning' : 'thunder', minScore: cfg.pose.minScore, smoothing: cfg.pose.smoothing, subject: parseSubjectRule(cfg.pose.subject), people: cfg.pose.people }
          : null,
        masks: wantMasks ? { model: cfg.masks.model === 'selfie' ? 'selfie' : 'full', temporal: cfg.masks.temporal } : null,
        plateSamples: samples,
        threads: a.threads,
        onProgress: ctx.report,
        signal: a.signal,
      });
      for (const n of d.notes) ctx.note(n);
      return d;
    },
    load: () => loadDecomposition(run.dir, cfg.pose.enabled, wantMasks),
  }))!;
  notes.push(...dec.notes);
  if (dec.track && !dec.track.frames.some((p) => p.found) && mode !== 'generated') {
    notes.push('no person in any frame: the output is the input scene (nothing to generate over)');
  }

  // ---- stabilize: every person excluded from the camera motion (src/decompose stabilizerMaskFor), smoothed per shot.
  const transforms = await steps.step<TransformsData>({
    name: 'stabilize',
    skip: cfg.stabilize.enabled ? null : 'stabilize.enabled = false',
    outputs: [RUN_FILES.transforms],
    key: { stabilize: cfg.stabilize, decompose: decomposeKey },
    run: async (ctx) => {
      const analysis = await analyzeVideo(input, {
        info,
        smoother: cfg.stabilize.smoother,
        window: cfg.stabilize.window,
        maxCropZoom: cfg.stabilize.maxCropZoom,
        maskFor: stabilizerMaskFor(dec, info.width, info.height),
        shots: dec.shots.shots,
        onAnalyzeProgress: ctx.report,
      });
      await saveTransforms(run.path(RUN_FILES.transforms), analysis.transforms, { overwrite: true });
      const fallbacks = analysis.transforms.frames.filter((f) => f.fallback).length;
      if (fallbacks) ctx.note(`${fallbacks} frame(s) without a motion estimate (identity used)`);
      return analysis.transforms;
    },
    load: () => run.transforms(),
  });
  const canvas = transforms ? canvasGeometry(transforms) : { mode: 'canvas' as const, width: info.width + (info.width % 2), height: info.height + (info.height % 2), offsetX: 0, offsetY: 0, clipped: false };
  if (canvas.clipped) notes.push(`the camera moves more than the canvas margin allows (${canvas.width}x${canvas.height}): some output border pixels repeat an edge`);
  const cv = await loadOpenCV();
  const track = dec.track ? mapTrack(dec.track, transforms, canvas) : null;

  // ---- plate, in canvas coordinates.
  const plate = await steps.step<Frame>({
    name: 'plate',
    skip: wantPlate ? null : mode === 'generated' ? `background.mode = ${mode}` : 'no masks',
    outputs: [RUN_FILES.plate, RUN_FILES.plateConfidence, RUN_FILES.plateHoles],
    key: { background: cfg.background, decompose: decomposeKey, stabilize: cfg.stabilize },
    run: async (ctx) => {
      const frames: Frame[] = [];
      const masks: GrayFrame[] = [];
      for (const t of dec.samples) {
        frames.push(toCanvas(cv, await readSample(run.dir, t), transforms, t, canvas));
        masks.push(toCanvas(cv, dec.masks!.read(t), transforms, t, canvas));
      }
      const p = await computePlate(sourceFromArrays(frames, masks), { maxSamples: frames.length, inpaint: 'telea', onProgress: ctx.report });
      await writePng(run.path(RUN_FILES.plate), p.plate);
      await writePng(run.path(RUN_FILES.plateConfidence), p.confidence);
      await writePng(run.path(RUN_FILES.plateHoles), p.holes);
      ctx.note(`${p.samples.length} samples, ${(100 * p.inpaintedFraction).toFixed(2)} % inpainted`);
      return p.plate;
    },
    load: () => readRgb(run.path(RUN_FILES.plate)),
  });
  const reference = toCanvas(cv, await readRgb(run.path(RUN_FILES.reference)), transforms, dec.reference, canvas);

  // ---- contacts of the driving pose (canvas pixels); the foot lock measures the generated feet against it per frame.
  const contacts = await steps.step({
    name: 'contacts',
    skip: !cfg.footlock.enabled ? 'footlock.enabled = false' : track ? null : 'no poses',
    outputs: [RUN_FILES.contacts],
    key: { footlock: cfg.footlock, decompose: decomposeKey, stabilize: cfg.stabilize },
    run: async () => {
      const c = detectContacts(track!);
      await writeContacts(run.path(RUN_FILES.contacts), c, { overwrite: true });
      return c;
    },
    load: () => run.contacts(),
  });
  let estimator: Promise<PoseEstimator> | null = null;
  // No busy-waiting threads: the foot lock's calls are small and run beside other segments' work; spinning
  // doubled their CPU (thunder on a 300 px crop at 720p, load 6: 88-102 -> 51-53 ms CPU, 160-173 -> 60 ms wall per call).
  const ankleEstimator = () =>
    (estimator ??= createPoseEstimator({ model: cfg.pose.model === 'movenet-lightning' ? 'lightning' : 'thunder', minScore: cfg.pose.minScore, threads: a.threads, spinning: false }));
  const releaseAnkleEstimator = async () => (estimator ? (await estimator).release() : undefined);
  return { cfg, info, input, cv, dec, transforms, canvas, track, plate, reference, contacts: contacts && track ? contacts : null, ankleEstimator, releaseAnkleEstimator, generator: a.generator, mode };
}

export function planStep(run: RunFolder, s: RunState) {
  const { cfg } = s;
  return {
    name: 'plan' as const,
    outputs: [RUN_FILES.plan],
    key: { segments: cfg.segments, shots: s.dec.shots.cuts, pose: cfg.pose, stabilize: cfg.stabilize },
    run: async (ctx: { report: (d: number, t?: number) => void; note(t: string): void }): Promise<SegmentPlan> => {
      const frameCount = s.dec.frameCount;
      const energy = s.track
        ? { energy: poseMotionEnergy(s.track, frameCount), source: 'pose-box-speed' as const }
        : { energy: (await flowMotionEnergy(s.input, { onProgress: ctx.report })).energy.slice(0, frameCount), source: 'flow-residual' as const };
      const p = planShotSegments(frameCount, energy.energy, s.dec.shots.shots, {
        count: cfg.segments.count,
        overlap: cfg.segments.overlap,
        minLength: cfg.segments.minLength,
        energySource: energy.source,
      });
      await writeJsonAtomic(run.path(RUN_FILES.plan), p, { overwrite: true });
      ctx.note(`${p.method}: ${p.reason}`);
      return p;
    },
    load: () => run.plan(),
  };
}

/** Keypoints and boxes from original pixels into canvas pixels (exact: points map through the warp). */
export function mapTrack(track: PoseTrack, transforms: TransformsData | null, canvas: CanvasGeometry): PoseTrack {
  const frames = track.frames.map((p, t): PoseFrame => mapPose(p, canvasMatrix(transforms, t, canvas)));
  // Every person's track moves the same way (frames carry their own index).
  const tracks = track.tracks?.map((tr) => ({ ...tr, frames: tr.frames.map((p) => mapPose(p, canvasMatrix(transforms, p.index, canvas))) }));
  return { ...track, source: { ...track.source, width: canvas.width, height: canvas.height }, frames, ...(tracks && { tracks }) };
}

function mapPose(p: PoseFrame, m: readonly number[]): PoseFrame {
  const map = (x: number, y: number): [number, number] => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
  const keypoints = p.keypoints.map((k) => {
    const [x, y] = map(k.x, k.y);
    return { ...k, x, y };
  });
  let box = p.box;
  if (box) {
    const corners = [map(box.x, box.y), map(box.x + box.width, box.y), map(box.x, box.y + box.height), map(box.x + box.width, box.y + box.height)];
    const xs = corners.map((c) => c[0]);
    const ys = corners.map((c) => c[1]);
    box = { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
  }
  return { ...p, keypoints, box };
}

/** One segment's source: decoded input frames warped onto the canvas, with masks and poses, in batches. */
async function* segmentBatches(
  s: RunState,
  seg: Segment,
  chunkFrames: number,
  time: (stage: StageName, seconds: number) => void,
  signal?: AbortSignal,
): AsyncGenerator<ChainFrame[]> {
  const count = seg.end - seg.start;
  const chunk = s.generator.kind === 'cmd' || s.generator.wholeSegment ? count : Math.max(1, chunkFrames);
  let batch: ChainFrame[] = [];
  let t = seg.start;
  let t0 = performance.now();
  for await (const frame of decodeFrames(s.input, { info: s.info, start: seg.start, count })) {
    signal?.throwIfAborted();
    const input = toCanvas(s.cv, frame, s.transforms, t, s.canvas);
    const hasPerson = s.dec.masks?.found(t) === true;
    const mask = s.dec.masks ? (hasPerson ? toCanvas(s.cv, s.dec.masks.read(t), s.transforms, t, s.canvas) : emptyMask(s.canvas)) : null;
    batch.push({ t, input, output: input, mask, pose: s.track?.frames[t] ?? null });
    t++;
    if (batch.length === chunk) {
      time('decode', (performance.now() - t0) / 1000);
      yield batch;
      batch = [];
      t0 = performance.now();
    }
  }
  if (t !== seg.end) throw new ReshootError(`segment ${seg.index}: the input ended at frame ${t}, the plan needs ${seg.end}`);
  if (batch.length) {
    time('decode', (performance.now() - t0) / 1000);
    yield batch;
  }
}

/** The segment chain: generate -> temporal -> composite -> foot lock. */
function segmentChain(
  s: RunState,
  seg: Segment,
  plan: SegmentPlan,
  workDir: string,
  carried: { guide: Frame; output: Frame; index: number } | null,
  signal: AbortSignal | undefined,
  turn: { wait: Promise<void>; started(): void; done(): void },
): { stages: FrameStage[]; last(): { guide: Frame; output: Frame; index: number } | null; lockShift(): number } {
  const { cfg } = s;
  const lockShift = { max: 0 };
  let last: { guide: Frame; output: Frame; index: number } | null = null;
  const stages: FrameStage[] = [];
  let generatedFrames = 0;
  stages.push({
    name: 'generate',
    async push(batch) {
      // The generator's turn: after the previous segment's last generate call (plan order in every mode).
      if (generatedFrames === 0) {
        await turn.wait;
        signal?.throwIfAborted();
        turn.started();
      }
      const generated = await s.generator.generate({
        segmentIndex: seg.index,
        label: seg.label,
        start: batch[0].t,
        frames: batch.map((f) => f.input),
        poses: s.track ? batch.map((f) => f.pose!) : undefined,
        masks: s.dec.masks ? batch.map((f) => f.mask!) : undefined,
        plate: s.plate,
        reference: s.reference,
        fps: s.info.fps,
        workDir,
        signal,
      });
      generatedFrames += batch.length;
      if (generatedFrames === seg.end - seg.start) turn.done();
      return batch.map((f, i) => ({ ...f, output: generated[i] }));
    },
  });
  if (cfg.temporal.enabled) {
    let temporal: TemporalConsistency;
    let prevMask: GrayFrame | null = null;
    stages.push(
      perFrame(
        'temporal',
        async (f) => {
          const out = (await temporal.push(f.input, f.output, { fresh: s.mode === 'generated' ? undefined : freshRegion(s.cv, f.mask, prevMask) })).frame;
          // A whole-frame generator's domain is the whole frame: nothing in it is new when the subject appears.
          prevMask = f.mask;
          // The frame just before the next segment's first: what that segment primes its recursion with.
          if (cfg.temporal.carry && f.t === seg.end - 1 - seg.overlap) last = { guide: f.input, output: out, index: f.t };
          return out;
        },
        {
          async open() {
            // A cut inside the segment (a shot too short to stand alone) restarts the recursion: the previous
            // shot's output must not be warped into the next one (measured on Megamind's black frame 0 -> frame 1:
            // frames 1-9 at 22.7-29.9 dB through a passthrough before this).
            const cuts = (plan.cutsInsideSegments ?? []).filter((c) => c > seg.start && c < seg.end).map((c) => c - seg.start);
            prevMask = null;
            temporal = new TemporalConsistency({ ...temporalOptionsOf(cfg.temporal), resetAt: cuts, keepUnchanged: KEEP_UNCHANGED_LEVELS });
            const cut = plan.shots?.some((sh) => sh.start === seg.start) ?? false;
            if (carried && carried.index === seg.start - 1 && !cut) await temporal.prime(carried.guide, carried.output);
          },
        },
      ),
    );
  }
  // Feathered subject alpha per frame, shared by composite and foot lock.
  const alphaOf = new Map<number, GrayFrame | null>();
  const featherOf = (f: ChainFrame): GrayFrame | null => {
    if (!alphaOf.has(f.t)) {
      const person = f.pose?.found === true && f.mask !== null && s.dec.masks?.found(f.t) === true;
      alphaOf.set(f.t, person ? growFeatherSync(s.cv, f.mask!, cfg.background.grow, cfg.masks.feather) : null);
    }
    return alphaOf.get(f.t)!;
  };
  stages.push(
    perFrame('composite', (f) => {
      const alpha = featherOf(f);
      if (s.mode === 'generated') return f.output;
      // original: the generated subject over the stabilized input; plate: over the static plate.
      // Without a person there is no layer to composite: original keeps the input, plate keeps the generated frame.
      if (!alpha) return s.mode === 'original' ? f.input : f.output;
      return blendOver(f.output, s.mode === 'original' ? f.input : s.plate!, alpha);
    }),
  );
  if (s.contacts) {
    // Planted feet of the generated person follow the driving person's (footlock/follow.ts); a new segment starts unlocked.
    const follow = new FollowDrivingLock(s.contacts, { strength: cfg.footlock.strength });
    stages.push(
      perFrame(
        'footlock',
        async (f) => {
          const alpha = featherOf(f);
          let offsets = { left: null, right: null } as Parameters<FollowDrivingLock['step']>[1];
          const region = alpha && f.pose?.found && follow.planted(f.t) ? cropRegionFromPose(f.pose, f.input.width, f.input.height) : null;
          if (region) {
            const estimator = await s.ankleEstimator();
            offsets = await measureAnkleOffsets((frame) => estimator.estimate(frame, { region, index: f.t }), f.input, f.output);
          }
          const m = follow.step(f.t, offsets);
          lockShift.max = Math.max(lockShift.max, Math.hypot(m[2], m[5]));
          const out = alpha ? lockFrameSync(s.cv, f.output, m, alpha, s.plate ?? undefined) : f.output;
          alphaOf.delete(f.t);
          return out;
        },
        { open: () => follow.reset() },
      ),
    );
  }
  return { stages, last: () => last, lockShift: () => lockShift.max };
}

/** Blend the segment clips, put the camera back, keep the scene, encode. */
async function finish(s: RunState, plan: SegmentPlan, run: RunFolder, output: string, report: (d: number, t?: number) => void, signal?: AbortSignal): Promise<void> {
  const { cfg, info, cv } = s;
  const sources = plan.segments.map((seg) => lazy(() => decodeFrames(run.segmentClip(seg.index))));
  const blended = blendSegmentStreams(sources, plan, { ramp: cfg.blend.ramp, colorMatch: cfg.blend.colorMatch });
  const reshake = cfg.reshake.enabled || !s.transforms;
  const originals = reshake && s.mode === 'original' ? decodeFrames(s.input, { info })[Symbol.asyncIterator]() : null;
  const masks = s.dec.masks;
  // The subject region that may change in the output: the mask grown by the composite's growth,
  // the feather and this frame's foot-lock shift (the lock moves the person layer).
  const shiftOf = new Float32Array(plan.frameCount);
  for (const seg of plan.segments) for (let t = seg.start; t < seg.end; t++) shiftOf[t] = Math.max(shiftOf[t], run.manifest.segments[seg.index]?.lockShiftMax ?? 0);
  const growAt = (t: number) => cfg.background.grow + Math.ceil(cfg.masks.feather) + Math.ceil(shiftOf[t]);
  async function* frames(): AsyncGenerator<Frame> {
    let t = 0;
    try {
    for await (const f of blended) {
      signal?.throwIfAborted();
      let out: Frame;
      if (reshake) {
        if (originals) {
          const next = await originals.next();
          if (next.done) throw new ReshootError(`the input ended at frame ${t} while finishing`);
          const inputFrame = next.value;
          if (masks?.found(t) && s.track?.frames[t]?.found) {
            const alpha = growFeatherSync(cv, masks.read(t), growAt(t), Math.max(1, cfg.masks.feather));
            out = blendOver(reshakeChange(cv, inputFrame, f, s.transforms, t, s.canvas), inputFrame, alpha);
          } else out = inputFrame;
        } else out = fromCanvas(cv, f, s.transforms, t, s.canvas, info.width, info.height);
      } else {
        // Stabilized output (re-shake off): the canvas cropped back to the frame with the stabilizer's zoom.
        const z = s.transforms!.crop.border === 'fill' ? 1 : typeof s.transforms!.crop.zoom === 'number' ? s.transforms!.crop.zoom : s.transforms!.crop.zoom[t];
        const m = compose(outputTransform([1, 0, 0, 0, 1, 0], z, info.width, info.height), translation(-s.canvas.offsetX, -s.canvas.offsetY));
        out = warpTo(cv, f, m, info.width, info.height);
      }
      yield out;
      report(++t, plan.frameCount);
    }
    } finally {
      // Never leave the input's decoder running (an ffmpeg child blocked on its pipe).
      await originals?.return?.(undefined);
    }
  }
  await encodeFrames(frames(), output, {
    fps: info.fps,
    crf: cfg.encode.crf,
    preset: cfg.encode.preset,
    audioFrom: cfg.encode.audio && info.hasAudio ? s.input : undefined,
    overwrite: true, // checked at the start
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** An async iterable that starts its source only when first iterated (one decoder per segment at a time). */
function lazy<T>(make: () => AsyncIterable<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => make()[Symbol.asyncIterator]() };
}

function emptyMask(g: { width: number; height: number }): GrayFrame {
  return { width: g.width, height: g.height, data: new Uint8Array(g.width * g.height) };
}

function sumExcept(seconds: Record<string, number>, except: string): number {
  let s = 0;
  for (const [k, v] of Object.entries(seconds)) if (k !== except && k !== 'total') s += v;
  return s;
}

/** Hard-links the output into the run folder (no copy); records nothing when the filesystems differ. */
async function linkIntoRun(run: RunFolder, output: string): Promise<void> {
  const target = run.path(RUN_FILES.output);
  await rm(target, { force: true });
  await link(output, target).catch(() => undefined);
}

/** The TemporalConsistency options a run's config asks for (the segment's cuts and the unchanged-pixel rule are added by the pipeline). */
export function temporalOptionsOf(t: PipelineConfig['temporal']): TemporalOptions {
  const base: TemporalOptions = { strength: t.strength, flowScale: t.flowScale, carry: t.carry };
  return t.preset === 'style' ? { ...base, ...TEMPORAL_STYLE_PRESET, carry: t.carry } : base;
}
