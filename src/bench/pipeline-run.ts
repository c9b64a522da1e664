/**
 * The validation run's RunConfiguration for the whole pipeline: one
 * `processVideo` per (video, configuration), its per-segment stage times
 * turned into rows, and the metrics computed afterwards from the run folder:
 *
 * - stabilization: from transforms.json (the correction the pipeline applied;
 *   the final output is re-shaken, so its pixels carry the shake again):
 *   residual jitter and stability of the stabilized path, coverage, crop,
 *   distortion, and for synthetic clips the ground-truth errors;
 * - flicker: the final output against the input (E_warp over the segment's
 *   frame pairs, seam score and colour jump of the seam that ends the segment;
 *   tOF is the video's, as the metric is defined over the whole clip);
 * - feet: the driving pose's ankles moved by the foot-lock correction, during
 *   the detected contacts (sliding, skate ratio, largest lock jump).
 *
 * Whole-video stages (stabilize analysis, pose pass, plate, plan, finish) are
 * shared among the segments in equal parts, so a segment's wall time is its
 * fair share of the run and the 30 s budget means what users feel.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readContacts, planFootLock } from '../footlock/index.js';
import { coverage, croppingRatio, distortion, compareWithTruth, footSliding, lockJump, measureFlicker, residualJitter, stabilityScore } from '../metrics/index.js';
import { resolveConfig, type PipelineOverrides, type PresetName } from '../pipeline/config.js';
import { createGenerator } from '../generate/index.js';
import { processVideo } from '../pipeline/process.js';
import type { RunManifest } from '../pipeline/run-folder.js';
import { readPoseTrack } from '../pose/index.js';
import { LEFT_ANKLE, RIGHT_ANKLE } from '../pose/types.js';
import type { SegmentPlan } from '../segment/index.js';
import { accumulatePath, compose, invert, loadTransforms, warpAt, type Mat2x3 } from '../stabilize/index.js';
import { decodeFrames, encodeFrames } from '../video/index.js';
import { SEGMENT_STAGES, STEP_NAMES } from '../pipeline/events.js';
import type { BenchConfiguration, FeetMetrics, FlickerMetrics, OpenSegment, RunConfiguration, SegmentMetrics, StabilizationMetrics } from './runner.js';
import { sliceGroundTruth } from './stabilize-run.js';

/** The pipeline's presets with the synthetic stand-in generator (a real model plugs in as cmd:/onnx:). */
export const PIPELINE_CONFIGURATIONS: readonly BenchConfiguration[] = [
  { id: 'fast-synthetic', preset: 'fast', generator: 'synthetic', segments: 3, notes: 'synthetic stand-in generator (not a model)' },
  { id: 'balanced-synthetic', preset: 'balanced', generator: 'synthetic', segments: 3, notes: 'synthetic stand-in generator (not a model)' },
  { id: 'quality-synthetic', preset: 'quality', generator: 'synthetic', segments: 3, notes: 'synthetic stand-in generator (not a model)' },
];

/**
 * The style transfer network (style:matta at the default 384 px, a real generator on onnxruntime; issue 13)
 * with its whole frame kept (background generated): the temporal stage on with carry off (the preset),
 * on with carry, and off, so the rows give E_warp, tOF, seams and segment times on real generated flicker.
 * Not in the default matrix: about a minute of generation per 90-frame clip on 2 cores.
 */
export const STYLE_CONFIGURATIONS: readonly BenchConfiguration[] = [
  { id: 'style-matta', preset: 'balanced', generator: 'style:matta', segments: 3, options: { background: { mode: 'generated' } }, notes: 'style transfer network (real model), temporal on, carry off' },
  { id: 'style-matta-carry', preset: 'balanced', generator: 'style:matta', segments: 3, options: { background: { mode: 'generated' }, temporal: { carry: true } }, notes: 'style transfer network (real model), temporal on, carry on' },
  { id: 'style-matta-no-temporal', preset: 'balanced', generator: 'style:matta', segments: 3, options: { background: { mode: 'generated' }, temporal: { enabled: false } }, notes: 'style transfer network (real model), temporal stage off' },
];

export const runPipeline: RunConfiguration = async (video, config, hooks) => {
  let input = video.path;
  if (video.frames < video.info.frameCount) {
    input = join(hooks.workDir, `${video.dataset}.${video.frames}.mp4`);
    await hooks.videoStage('decode', () =>
      encodeFrames(decodeFrames(video.path, { info: video.info, count: video.frames }), input, { fps: video.info.fps, crf: 10, preset: 'veryfast', overwrite: true }),
    );
  }
  // A short run plans the segments that fit its frames (the pipeline refuses more than fit before any work).
  const minLength = resolveConfig({}, config.preset as PresetName).segments.minLength;
  const count = Math.max(1, Math.min(config.segments, Math.floor(video.frames / minLength)));
  const options = config.options as PipelineOverrides | undefined;
  const overrides = { ...options, generator: { ...options?.generator, spec: config.generator }, segments: { count } } as PipelineOverrides;
  const pipelineConfig = resolveConfig(overrides, config.preset as PresetName);
  const output = join(hooks.workDir, `${video.dataset}.${config.id}.mp4`);
  const runDir = join(hooks.workDir, `${video.dataset}.${config.id}.run`);
  const open = new Map<number, OpenSegment>();
  const opening: Promise<void>[] = [];
  // A cmd:/wan-animate: generator's process tree is what uses the GPU: its pid goes to the open segment's sampler.
  let current = -1;
  const onSpawn = (pid: number) => void Promise.all(opening).then(() => open.get(current)?.trackProcess(pid));
  const generator = await createGenerator(pipelineConfig.generator.spec, {
    synthetic: { seed: pipelineConfig.generator.seed },
    cmd: { timeoutMs: pipelineConfig.generator.timeoutSeconds * 1000, onSpawn },
    onnx: { releaseBetweenSegments: pipelineConfig.generator.releaseBetweenSegments },
    style: { size: pipelineConfig.generator.size, scope: pipelineConfig.generator.scope },
    wanAnimate: { refertNum: pipelineConfig.generator.refertNum, onSpawn },
    comfyui: pipelineConfig.generator.workflow ? { workflow: pipelineConfig.generator.workflow, seed: pipelineConfig.generator.seed, timeoutMs: pipelineConfig.generator.timeoutSeconds * 1000 } : undefined,
  });
  await processVideo({
    generator,
    input,
    output,
    runDir,
    config: pipelineConfig,
    overwrite: true,
    // Per-segment time, RSS and GPU memory are only the segment's own with one segment at a time
    // (in flight, segment k+1's generator runs inside segment k's sampling window).
    sequential: true,
    onEvent: (e) => {
      // Sampling (GPU, RSS) is opened and stopped around each segment's own work.
      if (e.stage !== 'segment' || e.segment === undefined) return;
      if (e.type === 'stage-start') {
        current = e.segment;
        opening.push(hooks.openSegment({ index: e.segment, start: e.start ?? 0, end: e.end ?? 0 }).then((s) => void open.set(e.segment!, s)));
      } else if (e.type === 'stage-end') {
        const index = e.segment;
        opening.push(Promise.all(opening).then(() => open.get(index)?.stopSampling()));
      }
    },
  });
  await Promise.all(opening);
  const manifest = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')) as RunManifest;
  const plan = JSON.parse(await readFile(join(runDir, 'plan.json'), 'utf8')) as SegmentPlan;
  const metrics = await measureRun(runDir, input, output, plan, manifest, video.gt, (secs) => open.forEach((s) => s.addMeasureTime(secs / open.size)));
  const shareOf = (step: string) => (manifest.steps[step]?.seconds ?? 0) / plan.segments.length;
  for (const seg of plan.segments) {
    // A segment reused from an earlier run has no events: open it now.
    const s = open.get(seg.index) ?? (await hooks.openSegment({ index: seg.index, start: seg.start, end: seg.end }));
    const record = manifest.segments[seg.index];
    // Timing columns are the pipeline's own stage names: segment stages per segment, whole-video steps shared equally.
    for (const stage of SEGMENT_STAGES) {
      const secs = record?.seconds[stage];
      if (secs !== undefined) s.addStageTime(stage, secs);
    }
    for (const step of STEP_NAMES) if (manifest.steps[step]?.seconds) s.addStageTime(step, shareOf(step));
    await s.close(metrics[seg.index]);
  }
};

async function measureRun(
  runDir: string,
  input: string,
  output: string,
  plan: SegmentPlan,
  manifest: RunManifest,
  gt: Parameters<typeof sliceGroundTruth>[0] | undefined,
  addMeasureTime: (seconds: number) => void,
): Promise<SegmentMetrics[]> {
  const t0 = performance.now();
  const { width, height } = manifest.video!;
  const flicker = await measureFlicker(output, { input, plan, flowScale: 0.5, ssim: false });
  const transforms = manifest.config.stabilize.enabled ? await loadTransforms(join(runDir, 'transforms.json')) : null;
  let feetInputs: { track: Awaited<ReturnType<typeof readPoseTrack>>; contacts: Awaited<ReturnType<typeof readContacts>>; matrices: Mat2x3[] } | null = null;
  if (manifest.steps.contacts?.status === 'done') {
    const track = await readPoseTrack(join(runDir, 'poses.json'));
    const contacts = await readContacts(join(runDir, 'contacts.json'));
    feetInputs = { track, contacts, matrices: planFootLock(contacts, track, { strength: manifest.config.footlock.strength }).matrices };
  }
  const out: SegmentMetrics[] = plan.segments.map((seg) => {
    const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);
    // E_pair(t) compares frames t and t+1: the segment's pairs are t in [start, end-1).
    const eOut = mean(flicker.ePair.output.slice(seg.start, seg.end - 1));
    const eIn = mean(flicker.ePair.input.slice(seg.start, seg.end - 1));
    const seam = flicker.seams?.find((x) => x.index === seg.index);
    const fl: FlickerMetrics = { ewarpOutput: eOut, ewarpInput: eIn, ewarpRatio: eOut / eIn, tof: flicker.tOF, seamScore: seam?.score, seamColorJump: seam?.colorJumpMax };

    let stab: StabilizationMetrics | { reason: string } = { reason: 'stabilization off in this configuration' };
    if (transforms) {
      // Crop geometry: the stabilized frame at the source size, as the metrics' coverage expects.
      const F = transforms.frames.slice(seg.start, seg.end).map((_, i) => warpAt(transforms, seg.start + i).matrix);
      // Output inter-frame motion: F_t ∘ M_t ∘ F_{t-1}^-1 (identity for the segment's first frame).
      const motions = F.map((Ft, i) => (i === 0 ? [1, 0, 0, 0, 1, 0] : compose(Ft, compose(transforms.frames[seg.start + i].interframe, invert(F[i - 1])))));
      const jitter = residualJitter(motions, { width, height });
      const cov = coverage(F, width, height);
      const truth = gt ? compareWithTruth(F, sliceGroundTruth(gt, seg)) : undefined;
      stab = {
        jitterPx: jitter.px,
        jitterDeg: jitter.deg,
        stability: F.length >= 4 ? stabilityScore(accumulatePath(motions, width, height)).mean : undefined,
        coverageMin: cov.min,
        coverageMean: cov.mean,
        cropMin: croppingRatio(F).min,
        distortionMin: distortion(F).min,
        residualShakePx: truth?.residualShake.px,
        intentionalErrorPx: truth?.intentionalError.px,
      };
    }

    let feet: FeetMetrics | { reason: string } = { reason: manifest.config.footlock.enabled ? 'no poses or contacts' : 'foot lock off in this configuration' };
    if (feetInputs) {
      const { track, contacts, matrices } = feetInputs;
      const range = (a: unknown[]) => a.slice(seg.start, seg.end);
      const locked = (k: number) =>
        range(track.frames).map((f, i) => {
          const p = (f as (typeof track.frames)[number]).keypoints[k];
          const m = matrices[seg.start + i];
          return p.valid ? { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] } : { x: NaN, y: NaN };
        });
      const left = locked(LEFT_ANKLE), right = locked(RIGHT_ANKLE);
      const sliding = footSliding(
        [
          { position: left, contact: range(contacts.feet.left.contact) as (boolean | null)[] },
          { position: right, contact: range(contacts.feet.right.contact) as (boolean | null)[] },
        ],
        { fps: contacts.fps.num / contacts.fps.den, bodyHeight: range(contacts.bodyHeight) as (number | null)[] },
      );
      // The jump the lock itself introduces: how far consecutive corrections move the same ankle point.
      const anklesPerFrame = range(track.frames).map((f) =>
        [LEFT_ANKLE, RIGHT_ANKLE].map((k) => (f as (typeof track.frames)[number]).keypoints[k]).filter((p) => p.valid).map((p) => ({ x: p.x, y: p.y })),
      );
      const jump = lockJump(matrices.slice(seg.start, seg.end), anklesPerFrame);
      feet = sliding.samples > 0
        ? { skateRatio: sliding.skateRatio, slideMeanPx: sliding.meanPx, slideP95Px: sliding.p95Px, slideP95Hps: sliding.p95Hps, maxJumpPx: jump.max }
        : { reason: 'no ankle contacts detected in this segment' };
    }
    return { stabilization: stab, flicker: fl, feet, notes: 'feet: driving-pose ankles after the foot-lock correction; tOF per video' };
  });
  addMeasureTime((performance.now() - t0) / 1000);
  return out;
}
