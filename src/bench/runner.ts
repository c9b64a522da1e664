/**
 * The validation runner's machinery: a matrix of datasets x configurations
 * (x repeats), run through a pluggable `RunConfiguration`, with every segment
 * measured the same way (wall time per stage, peak RSS, GPU memory) and judged
 * against the budgets. What runs inside a segment is the plug-in's business:
 * today a stabilization-only run (stabilize-run.ts); `src/pipeline` replaces it.
 *
 * A plug-in calls `hooks.segment(span, work)` once per segment. Inside `work`
 * it wraps pipeline stages in `scope.stage(name, fn)` (timed into
 * time_<stage>_s and wall_s) and quality measurement in `scope.measure(fn)`
 * (timed into time_measure_s, kept out of wall_s), and returns the metrics.
 * Work done once per video (decode, decompose, stabilize of the whole clip)
 * goes through `hooks.videoStage(name, fn)`: it is measured the same way and
 * added to the video's summary row only.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VideoInfo } from '../video/index.js';
import type { GroundTruth } from '../datasets/index.js';
import { STAGES } from '../pipeline/events.js';
import { emptyRow, timingColumn, type StageName, type ValidationRow } from './columns.js';
import { DEFAULT_BUDGETS, judgeRow, round, summaryRow, type Budgets } from './budgets.js';
import { GpuSampler, type GpuMemoryStats, type GpuSamplerOptions } from './gpu-sampler.js';
import { startRssSampler, type RssPeaks } from '../util/process-tree.js';

/** One input video of the matrix, ready to run. */
export interface BenchVideo {
  /** Dataset id (manifest clip id or synthetic preset name). */
  dataset: string;
  kind: 'real' | 'synthetic';
  path: string;
  info: VideoInfo;
  /** Frames the run uses (from frame 0): the whole clip or a cap. */
  frames: number;
  /** Ground-truth camera motion of a synthetic clip. */
  gt?: GroundTruth;
}

/** How to obtain a dataset's video (synthesize, fetch, cut) into a work folder. */
export interface DatasetSpec {
  id: string;
  kind: 'real' | 'synthetic';
  prepare(workDir: string): Promise<BenchVideo>;
}

/** One configuration of the matrix. `options` is free-form for the plug-in (e.g. the pipeline config). */
export interface BenchConfiguration {
  id: string;
  preset: string;
  generator: string;
  segments: number;
  options?: Record<string, unknown>;
  /** Goes into the notes column (e.g. which stages stand in for missing ones). */
  notes?: string;
}

export interface ValidationMatrix {
  datasets: DatasetSpec[];
  configurations: BenchConfiguration[];
  /** Times each (dataset, configuration) runs; >1 gives compare a noise band. Default 1. */
  repeats?: number;
}

export interface SegmentSpan {
  index: number;
  /** First frame (inclusive) and end (exclusive) in the source video. */
  start: number;
  end: number;
}

export interface StabilizationMetrics {
  jitterPx?: number;
  jitterDeg?: number;
  stability?: number;
  coverageMin?: number;
  coverageMean?: number;
  cropMin?: number;
  distortionMin?: number;
  itfDb?: number;
  residualShakePx?: number;
  intentionalErrorPx?: number;
}

export interface FlickerMetrics {
  ewarpOutput?: number;
  ewarpInput?: number;
  ewarpRatio?: number;
  tof?: number;
  seamScore?: number;
  seamColorJump?: number;
}

export interface FeetMetrics {
  skateRatio?: number;
  slideMeanPx?: number;
  slideP95Px?: number;
  slideP95Hps?: number;
  maxJumpPx?: number;
}

/** What a segment's work returns; a group left out gets its reason column filled instead. */
export interface SegmentMetrics {
  stabilization?: StabilizationMetrics | { reason: string };
  flicker?: FlickerMetrics | { reason: string };
  feet?: FeetMetrics | { reason: string };
  notes?: string;
}

export interface SegmentScope {
  readonly span: SegmentSpan;
  /** A folder for this segment's files, removed after the run. */
  readonly workDir: string;
  /** Times a pipeline stage (adds to time_<name>_s and wall_s). */
  stage<T>(name: StageName, fn: () => Promise<T>): Promise<T>;
  /** Times quality measurement (time_measure_s), kept out of wall_s and the time budget. */
  measure<T>(fn: () => Promise<T>): Promise<T>;
  /** Per-process GPU figures then cover this pid's tree (a `cmd:` generator) instead of reshoot's. */
  trackProcess(pid: number): void;
}

/**
 * A segment opened by hand, for a pipeline that runs all segments in one call
 * and reports stage events (e.g. processVideo's onEvent): open it when the
 * segment's first stage starts, add each stage's seconds as it ends, close it
 * with the metrics (or `{ error }`). GPU and RSS sampling run from open to close.
 */
export interface OpenSegment {
  readonly span: SegmentSpan;
  readonly workDir: string;
  addStageTime(name: StageName, seconds: number): void;
  /** Seconds spent measuring (time_measure_s; not part of wall_s). */
  addMeasureTime(seconds: number): void;
  trackProcess(pid: number): void;
  /**
   * Ends GPU and RSS sampling now (the segment's work is over) while its
   * metrics are still to come; close() then uses these figures.
   */
  stopSampling(): Promise<void>;
  /** Writes the row; later calls do nothing. */
  close(result?: SegmentMetrics | { error: unknown }): Promise<void>;
}

export interface RunHooks {
  readonly workDir: string;
  readonly budgets: Budgets;
  /** Starts measuring a segment whose work is driven from elsewhere (events); see OpenSegment. */
  openSegment(span: SegmentSpan): Promise<OpenSegment>;
  /** Runs and measures one segment; errors are recorded in its row (not thrown), so the run goes on. */
  segment(span: SegmentSpan, work: (scope: SegmentScope) => Promise<SegmentMetrics | void>): Promise<void>;
  /** Work done once per video; its time and memory count in the video's summary row. */
  videoStage<T>(name: StageName, fn: () => Promise<T>): Promise<T>;
}

/** The plug-in: runs one video under one configuration, calling hooks.segment per segment. */
export type RunConfiguration = (video: BenchVideo, config: BenchConfiguration, hooks: RunHooks) => Promise<void>;

export interface RunValidationOptions {
  budgets?: Partial<Budgets>;
  gpu?: GpuSamplerOptions;
  /** RSS sampling interval. Default 200 ms. */
  rssIntervalMs?: number;
  /** Run id (default: the start time as in file names). */
  runId: string;
  /** Called with every finished row (segment and summary). */
  onRow?: (row: ValidationRow) => void;
  /** (segments done, segments planned, what runs now). */
  onProgress?: (done: number, total: number, label: string) => void;
  /** Keep the work folder (for debugging). */
  keepWorkDir?: boolean;
}

/** Splits `frames` into `count` contiguous spans of near-equal length (the fallback segmentation). */
export function uniformSegments(frames: number, count: number): SegmentSpan[] {
  const n = Math.max(1, Math.min(count, frames));
  return Array.from({ length: n }, (_, index) => ({
    index,
    start: Math.round((index * frames) / n),
    end: Math.round(((index + 1) * frames) / n),
  }));
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const cell = (v: number | undefined, digits = 6): number | '' => (v === undefined || !Number.isFinite(v) ? '' : Number(v.toPrecision(digits)));
const MiB = 2 ** 20;

/** Puts a sampler's statistics into a row's GPU columns (empty + reason when unavailable). */
export function fillGpuColumns(row: ValidationRow, gpu: GpuMemoryStats, scope: string): void {
  row.gpu_interval_ms = gpu.intervalMs;
  row.gpu_reason = gpu.reason ?? '';
  if (!gpu.available) return;
  row.gpu_mem_peak_mib = cell(gpu.peakMiB);
  row.gpu_mem_mean_mib = cell(gpu.meanMiB);
  row.gpu_mem_total_mib = cell(gpu.totalMiB);
  row.gpu_samples = gpu.samples;
  row.gpu_proc_interval_ms = gpu.processIntervalMs;
  row.gpu_proc_scope = scope;
  if (gpu.processPeakMiB !== undefined) {
    row.gpu_proc_peak_mib = cell(gpu.processPeakMiB);
    row.gpu_proc_mean_mib = cell(gpu.processMeanMiB);
    row.gpu_proc_samples = gpu.processSamples;
  } else if (gpu.processReason) {
    row.gpu_reason = [row.gpu_reason, `per-process: ${gpu.processReason}`].filter(Boolean).join('; ');
  }
}

function fillRss(row: ValidationRow, rss: RssPeaks): void {
  row.rss_peak_mib = cell(rss.selfBytes / MiB, 5);
  row.tree_rss_peak_mib = cell(rss.treeBytes / MiB, 5);
  row.rss_interval_ms = rss.intervalMs;
}

/** A metrics group that was not measured (carries why). */
function isReason(g: object | undefined): g is { reason: string } {
  return g !== undefined && typeof (g as { reason?: unknown }).reason === 'string';
}

/** The reason column's text for a group that is absent or not measured. */
function reasonOf(g: object | undefined): string {
  return isReason(g) ? g.reason : 'not measured by this configuration';
}

/** Puts a segment's metrics into the row. */
export function fillMetrics(row: ValidationRow, m: SegmentMetrics): void {
  const s = m.stabilization as StabilizationMetrics | undefined;
  if (s && !isReason(s)) {
    row.jitter_px = cell(s.jitterPx);
    row.jitter_deg = cell(s.jitterDeg);
    row.stability = cell(s.stability);
    row.coverage_min = cell(s.coverageMin);
    row.coverage_mean = cell(s.coverageMean);
    row.crop_min = cell(s.cropMin);
    row.distortion_min = cell(s.distortionMin);
    row.itf_db = cell(s.itfDb);
    row.residual_shake_px = cell(s.residualShakePx);
    row.intentional_error_px = cell(s.intentionalErrorPx);
  } else {
    row.stab_reason = reasonOf(m.stabilization);
  }
  const f = m.flicker as FlickerMetrics | undefined;
  if (f && !isReason(f)) {
    row.ewarp_output = cell(f.ewarpOutput);
    row.ewarp_input = cell(f.ewarpInput);
    row.ewarp_ratio = cell(f.ewarpRatio);
    row.tof = cell(f.tof);
    row.seam_score = cell(f.seamScore);
    row.seam_color_jump = cell(f.seamColorJump);
  } else {
    row.flicker_reason = reasonOf(m.flicker);
  }
  const ft = m.feet as FeetMetrics | undefined;
  if (ft && !isReason(ft)) {
    row.skate_ratio = cell(ft.skateRatio);
    row.slide_mean_px = cell(ft.slideMeanPx);
    row.slide_p95_px = cell(ft.slideP95Px);
    row.slide_p95_hps = cell(ft.slideP95Hps);
    row.max_jump_px = cell(ft.maxJumpPx);
  } else {
    row.feet_reason = reasonOf(m.feet);
  }
  if (m.notes) row.notes = [row.notes, m.notes].filter(Boolean).join('; ');
}

interface Measured<T> {
  result?: T;
  error?: unknown;
  gpu: GpuMemoryStats;
  rss: RssPeaks;
}

/** Runs fn between GPU and RSS samplers; never throws (the error is returned). */
async function measured<T>(fn: (sampler: GpuSampler) => Promise<T>, gpuOpts: GpuSamplerOptions, rssIntervalMs: number): Promise<Measured<T>> {
  const sampler = await GpuSampler.start(gpuOpts);
  const rss = startRssSampler(rssIntervalMs);
  let result: T | undefined;
  let error: unknown;
  try {
    result = await fn(sampler);
  } catch (err) {
    error = err;
  }
  const rssPeaks = rss.stop();
  const gpu = await sampler.stop();
  return { result, error, gpu, rss: rssPeaks };
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 500);

/**
 * Runs the matrix: for each repeat, dataset and configuration, `run` is called
 * with hooks that measure each segment; returns all rows (segments, then the
 * summary of each video and configuration).
 */
export async function runValidation(matrix: ValidationMatrix, run: RunConfiguration, opts: RunValidationOptions): Promise<ValidationRow[]> {
  const budgets: Budgets = { ...DEFAULT_BUDGETS, ...opts.budgets };
  const rssIntervalMs = opts.rssIntervalMs ?? 200;
  const repeats = Math.max(1, matrix.repeats ?? 1);
  const total = repeats * matrix.datasets.length * matrix.configurations.reduce((s, c) => s + c.segments, 0);
  let done = 0;
  const rows: ValidationRow[] = [];
  const emit = (row: ValidationRow) => {
    rows.push(row);
    opts.onRow?.(row);
  };
  const workRoot = await mkdtemp(join(tmpdir(), 'reshoot-validate-'));
  try {
    for (const dataset of matrix.datasets) {
      let video: BenchVideo;
      try {
        video = await dataset.prepare(workRoot);
      } catch (err) {
        // A dataset that cannot be prepared fails its rows; the others still run.
        for (const config of matrix.configurations) {
          const row = emptyRow();
          Object.assign(row, { run_id: opts.runId, row_type: 'summary', dataset: dataset.id, dataset_kind: dataset.kind, configuration: config.id, preset: config.preset, generator: config.generator, segments: config.segments, error: `cannot prepare ${dataset.id}: ${errorText(err)}`, verdict: 'fail' });
          emit(row);
        }
        done += repeats * matrix.configurations.reduce((s, c) => s + c.segments, 0);
        opts.onProgress?.(done, total, dataset.id);
        continue;
      }
      for (let repeat = 0; repeat < repeats; repeat++) {
        for (const config of matrix.configurations) {
          const label = `${dataset.id} / ${config.id}${repeats > 1 ? ` #${repeat + 1}` : ''}`;
          opts.onProgress?.(done, total, label);
          const base = (): ValidationRow => {
            const row = emptyRow();
            Object.assign(row, {
              run_id: opts.runId,
              dataset: video.dataset,
              dataset_kind: video.kind,
              configuration: config.id,
              preset: config.preset,
              generator: config.generator,
              segments: config.segments,
              repeat,
              source_fps: cell(video.info.fps.num / video.info.fps.den),
              notes: config.notes ?? '',
            });
            return row;
          };
          const segmentRows: ValidationRow[] = [];
          const videoLevel = base();
          let videoWall = 0;
          let segCounter = 0;
          const hooks: RunHooks = {
            workDir: workRoot,
            budgets,
            async openSegment(span) {
              const row = base();
              row.row_type = 'segment';
              row.segment = span.index;
              row.start_frame = span.start;
              row.end_frame = span.end;
              row.frames = span.end - span.start;
              const stageTimes = new Map<StageName, number>();
              let measureSeconds = 0;
              // A given root pid (bench --gpu-pid: a ComfyUI server) is measured instead of reshoot's tree.
              let scopeLabel = opts.gpu?.rootPid ? `pid:${opts.gpu.rootPid}` : 'reshoot';
              const segDir = join(workRoot, `${dataset.id}.${config.id}.r${repeat}.s${span.index}.${segCounter++}`);
              await mkdir(segDir, { recursive: true });
              const sampler = await GpuSampler.start(opts.gpu ?? {});
              const rss = startRssSampler(rssIntervalMs);
              let closed = false;
              let sampled: { rssPeaks: ReturnType<typeof rss.stop>; gpu: Awaited<ReturnType<typeof sampler.stop>> } | null = null;
              const stopSampling = async () => {
                sampled ??= { rssPeaks: rss.stop(), gpu: await sampler.stop() };
                return sampled;
              };
              return {
                span,
                async stopSampling() {
                  await stopSampling();
                },
                workDir: segDir,
                addStageTime(name, secs) {
                  stageTimes.set(name, (stageTimes.get(name) ?? 0) + secs);
                },
                addMeasureTime(secs) {
                  measureSeconds += secs;
                },
                trackProcess(pid) {
                  scopeLabel = `generator:${pid}`;
                  sampler.trackProcess(pid);
                },
                async close(result) {
                  if (closed) return;
                  closed = true;
                  const { rssPeaks, gpu } = await stopSampling();
                  const wall = [...stageTimes.values()].reduce((a, b) => a + b, 0);
                  for (const st of STAGES) if (stageTimes.has(st)) row[timingColumn(st)] = cell(stageTimes.get(st)!, 5);
                  row.time_measure_s = cell(measureSeconds, 5);
                  if (result && 'error' in result) {
                    row.error = errorText(result.error);
                  } else {
                    row.wall_s = cell(wall, 5);
                    row.process_fps = wall > 0 ? cell(Number(row.frames) / wall, 5) : '';
                  }
                  fillRss(row, rssPeaks);
                  fillGpuColumns(row, gpu, scopeLabel);
                  fillMetrics(row, result && !('error' in result) ? result : {});
                  judgeRow(row, budgets);
                  segmentRows.push(row);
                  emit(row);
                  done++;
                  opts.onProgress?.(done, total, label);
                  await rm(segDir, { recursive: true, force: true });
                },
              };
            },
            async segment(span, work) {
              const open = await hooks.openSegment(span);
              const scope: SegmentScope = {
                span,
                workDir: open.workDir,
                async stage(name, fn) {
                  const t = process.hrtime.bigint();
                  try {
                    return await fn();
                  } finally {
                    open.addStageTime(name, seconds(t));
                  }
                },
                async measure(fn) {
                  const t = process.hrtime.bigint();
                  try {
                    return await fn();
                  } finally {
                    open.addMeasureTime(seconds(t));
                  }
                },
                trackProcess: (pid) => open.trackProcess(pid),
              };
              let result: SegmentMetrics | { error: unknown };
              try {
                const returned = (await work(scope)) as SegmentMetrics | undefined;
                result = returned ?? {};
              } catch (error) {
                result = { error };
              }
              await open.close(result);
            },
            async videoStage(name, fn) {
              const t = process.hrtime.bigint();
              const m = await measured(() => fn(), opts.gpu ?? {}, rssIntervalMs);
              const dt = seconds(t);
              videoWall += dt;
              const key = timingColumn(name);
              videoLevel[key] = cell(Number(videoLevel[key] || 0) + dt, 5);
              // Several video-level stages: keep the highest peaks.
              const before = { rss: videoLevel.rss_peak_mib, tree: videoLevel.tree_rss_peak_mib, gpu: videoLevel.gpu_mem_peak_mib };
              fillRss(videoLevel, m.rss);
              fillGpuColumns(videoLevel, m.gpu, 'reshoot');
              if (before.rss !== '') videoLevel.rss_peak_mib = Math.max(Number(before.rss), Number(videoLevel.rss_peak_mib));
              if (before.tree !== '') videoLevel.tree_rss_peak_mib = Math.max(Number(before.tree), Number(videoLevel.tree_rss_peak_mib));
              if (before.gpu !== '' && videoLevel.gpu_mem_peak_mib !== '') videoLevel.gpu_mem_peak_mib = Math.max(Number(before.gpu), Number(videoLevel.gpu_mem_peak_mib));
              if (m.error !== undefined) throw m.error;
              return m.result as never;
            },
          };
          let runError: unknown;
          try {
            await run(video, config, hooks);
          } catch (err) {
            runError = err;
          }
          // Segments the plug-in never reached still count for progress.
          done += Math.max(0, config.segments - segmentRows.length);
          const summary = summaryRow(segmentRows.length ? segmentRows : [base()]);
          summary.row_type = 'summary';
          summary.segment = '';
          if (videoWall > 0) {
            summary.wall_s = round(Number(summary.wall_s || 0) + videoWall);
            for (const s of STAGES) {
              const col = timingColumn(s);
              const v = videoLevel[col];
              if (v !== '') summary[col] = round(Number(summary[col] || 0) + Number(v));
            }
            for (const k of ['rss_peak_mib', 'tree_rss_peak_mib', 'gpu_mem_peak_mib', 'gpu_proc_peak_mib']) {
              if (videoLevel[k] !== '') summary[k] = Math.max(Number(videoLevel[k]), Number(summary[k] || 0));
            }
          }
          if (runError !== undefined) summary.error = [summary.error, errorText(runError)].filter(Boolean).join('; ');
          if (runError !== undefined || segmentRows.length < config.segments) {
            if (segmentRows.length < config.segments && runError === undefined) {
              summary.error = [summary.error, `only ${segmentRows.length} of ${config.segments} segments ran`].filter(Boolean).join('; ');
            }
            summary.verdict = 'fail';
          }
          emit(summary);
          opts.onProgress?.(done, total, label);
        }
      }
    }
  } finally {
    if (!opts.keepWorkDir) await rm(workRoot, { recursive: true, force: true });
  }
  return rows;
}
