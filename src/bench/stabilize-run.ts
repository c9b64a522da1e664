/**
 * The RunConfiguration available until src/pipeline exists: per segment, cut
 * the segment out of the source (decode stage), stabilize it (stabilize
 * stage), and judge the output with src/metrics (measure, outside the time
 * budget). No generation, temporal, foot-lock or composite stage runs, so the
 * flicker and feet columns stay empty with that reason. `src/pipeline` will
 * supply a RunConfiguration of its own (see src/bench/README.md).
 */
import { join } from 'node:path';
import { decodeFrames, encodeFrames, probeVideo } from '../video/index.js';
import { datasetPath, fetchDatasets, findClip, getSynthPreset, synthesizeClip, type GroundTruth } from '../datasets/index.js';
import { stabilizeVideo, type SmootherName } from '../stabilize/index.js';
import { measureStabilization } from '../metrics/index.js';
import { ReshootError } from '../util/errors.js';
import type { BenchConfiguration, BenchVideo, DatasetSpec, RunConfiguration, SegmentSpan } from './runner.js';
import { uniformSegments } from './runner.js';

/** A real clip of datasets/manifest.json (videos only), optionally capped to its first `maxFrames` frames. */
export function realDataset(id: string, maxFrames?: number): DatasetSpec {
  return {
    id,
    kind: 'real',
    async prepare() {
      const clip = findClip(id);
      if (clip.kind !== 'video') throw new ReshootError(`dataset ${id} is a still image; the validation run needs a video`);
      await fetchDatasets({ ids: [id] });
      const path = datasetPath(id);
      const info = await probeVideo(path);
      const frames = Math.min(info.frameCount, maxFrames ?? Infinity);
      return { dataset: id, kind: 'real', path, info, frames };
    },
  };
}

/** A synthetic shaky clip (a preset of `reshoot datasets synth`) with its ground truth. */
export function syntheticDataset(preset: string, frames?: number): DatasetSpec {
  return {
    id: preset,
    kind: 'synthetic',
    async prepare(workDir) {
      const spec = getSynthPreset(preset, frames ? { frames } : {});
      await fetchDatasets({ ids: [spec.source] });
      const path = join(workDir, `${preset}.mp4`);
      const gt = await synthesizeClip(spec, path, { overwrite: true });
      const info = await probeVideo(path);
      return { dataset: preset, kind: 'synthetic', path, info, frames: Math.min(info.frameCount, gt.frames), gt };
    },
  };
}

/** The ground truth of frames [start, end) of a synthetic clip, as if that span were the clip. */
export function sliceGroundTruth(gt: GroundTruth, span: { start: number; end: number }): GroundTruth {
  const s = <T>(a: T[]) => a.slice(span.start, span.end);
  return { ...gt, frames: span.end - span.start, intentional: s(gt.intentional), shake: s(gt.shake), camera: s(gt.camera), interframe: s(gt.interframe) };
}

/** Options the stabilization-only run reads from BenchConfiguration.options. */
export interface StabilizeRunOptions {
  smoother?: SmootherName;
  window?: number;
  sigma?: number;
}

/**
 * Stabilization-only configurations standing in for the pipeline presets
 * until src/pipeline defines them: `fast` uses the moving average (cheapest),
 * `balanced` the default L1 smoother.
 */
export const STABILIZE_ONLY_CONFIGURATIONS: readonly BenchConfiguration[] = [
  { id: 'stab-moving-average', preset: 'fast', generator: 'none', segments: 3, options: { smoother: 'moving-average', window: 30 }, notes: 'stabilization only (no pipeline yet)' },
  { id: 'stab-l1', preset: 'balanced', generator: 'none', segments: 3, options: { smoother: 'l1' }, notes: 'stabilization only (no pipeline yet)' },
];

/** Real clips and synthetic presets of the full validation run. */
export const DEFAULT_DATASETS = ['vtest', 'megamind', 'vtest-shake', 'vtest-pan-shake', 'photo-dolly-shake', 'photo-strong-shake'] as const;

/** A DatasetSpec by name: a manifest video id or a synth preset name. */
export function datasetByName(name: string, maxFrames?: number): DatasetSpec {
  try {
    getSynthPreset(name);
    return syntheticDataset(name, maxFrames);
  } catch (err) {
    if (!(err instanceof ReshootError)) throw err;
  }
  findClip(name); // throws a clear ReshootError for unknown names
  return realDataset(name, maxFrames);
}

const NO_FLICKER = { reason: 'no generation or temporal stage in a stabilization-only run' };
const NO_FEET = { reason: 'no pose or foot-lock stage in a stabilization-only run' };

/** Cuts frames [start, end) of the video into an mp4 (near-lossless, fast preset). */
async function cutSegment(video: BenchVideo, span: SegmentSpan, out: string): Promise<void> {
  const frames = decodeFrames(video.path, { info: video.info, start: span.start, count: span.end - span.start });
  await encodeFrames(frames, out, { fps: video.info.fps, crf: 12, preset: 'veryfast', overwrite: true });
}

/** The stabilization-only RunConfiguration. */
export const runStabilizationOnly: RunConfiguration = async (video, config, hooks) => {
  const o = (config.options ?? {}) as StabilizeRunOptions;
  for (const span of uniformSegments(video.frames, config.segments)) {
    await hooks.segment(span, async (seg) => {
      const input = join(seg.workDir, 'in.mp4');
      const output = join(seg.workDir, 'stable.mp4');
      await seg.stage('decode', () => cutSegment(video, span, input));
      await seg.stage('stabilize', () =>
        stabilizeVideo(input, output, {
          smoother: o.smoother ?? 'l1',
          ...(o.window !== undefined && { window: o.window }),
          ...(o.sigma !== undefined && { sigma: o.sigma }),
          border: 'zoom',
          keepAudio: false,
          overwrite: true,
        }),
      );
      const gt = video.gt ? sliceGroundTruth(video.gt, span) : undefined;
      // A metric that cannot be computed (e.g. a black frame with no features) is a gap in the
      // measurement, not a failure of the stage: it goes to the reason column.
      let r;
      try {
        r = await seg.measure(() => measureStabilization(output, { input, gt }));
      } catch (err) {
        return { stabilization: { reason: `measurement failed: ${(err as Error).message}` }, flicker: NO_FLICKER, feet: NO_FEET };
      }
      return {
        stabilization: {
          jitterPx: r.residualJitter.px,
          jitterDeg: r.residualJitter.deg,
          stability: r.stability.mean,
          coverageMin: r.coverage?.min,
          coverageMean: r.coverage?.mean,
          cropMin: r.cropping?.min,
          distortionMin: r.distortion?.min,
          itfDb: r.itf,
          residualShakePx: r.truth?.residualShake.px,
          intentionalErrorPx: r.truth?.intentionalError.px,
        },
        flicker: NO_FLICKER,
        feet: NO_FEET,
      };
    });
  }
};
