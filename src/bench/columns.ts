/**
 * The validation CSV's columns: names, units, meaning and how a summary row
 * aggregates them. This list is the single source of the header, of the
 * summary rows and of docs/bench-columns.md (a test checks the doc lists
 * exactly these names). Names are stable: add columns, never rename.
 * Timing columns derive from the pipeline's STAGES list, so a new stage gets
 * its column without an edit here.
 */
import { STAGES, type StageName } from '../pipeline/events.js';

/** How a per-video summary row combines its segments' values. */
export type Aggregate = 'key' | 'sum' | 'max' | 'min' | 'mean' | 'verdict' | 'join' | 'none';

export interface ColumnSpec {
  name: string;
  unit: string;
  aggregate: Aggregate;
  /** For compare: which direction is better ('lower' | 'higher'); absent = not compared. */
  better?: 'lower' | 'higher';
  description: string;
}

const c = (name: string, unit: string, aggregate: Aggregate, description: string, better?: 'lower' | 'higher'): ColumnSpec => ({
  name,
  unit,
  aggregate,
  description,
  ...(better && { better }),
});

/** A pipeline stage (src/pipeline/events.ts STAGES): each has a timing column. */
export type { StageName };

/** The timing column of a stage: `time_<stage>_s`. */
export const timingColumn = (stage: StageName): string => `time_${stage}_s`;

/**
 * Timing columns older CSVs carry (results/baseline-validation.csv): stage
 * names the pipeline no longer reports. Kept in the header, always empty, so
 * that old and new CSVs read and compare alike (names are never removed).
 */
export const LEGACY_TIMING_COLUMNS = ['time_blend_s', 'time_reshake_s'] as const;

export const VALIDATION_COLUMNS: readonly ColumnSpec[] = [
  c('run_id', '', 'key', 'identifier of the run (its start time, UTC, as in the file name)'),
  c('row_type', '', 'key', '`segment` (one segment of one video under one configuration) or `summary` (all segments of that video and configuration)'),
  c('dataset', '', 'key', 'dataset id (a clip of datasets/manifest.json or a synthetic preset)'),
  c('dataset_kind', '', 'key', '`real` or `synthetic` (synthetic clips have ground-truth camera motion)'),
  c('configuration', '', 'key', 'configuration id of the matrix'),
  c('preset', '', 'key', 'pipeline preset the configuration uses'),
  c('generator', '', 'key', 'generator name (`passthrough`, `synthetic`, `cmd:...`, `onnx:...`, or `none` when no generation stage runs)'),
  c('segments', 'count', 'key', 'number of segments the video is split into'),
  c('segment', 'index', 'none', '0-based segment index; empty on summary rows'),
  c('repeat', 'index', 'key', '0-based repeat index (`--repeat n` runs everything n times; compare uses the spread as noise band)'),
  c('start_frame', 'frame', 'min', 'first frame of the segment in the source video'),
  c('end_frame', 'frame', 'max', 'one past the last frame of the segment'),
  c('frames', 'frames', 'sum', 'frames processed'),
  c('source_fps', 'frames/s', 'key', 'frame rate of the source video'),
  c('wall_s', 's', 'sum', 'wall time of the segment\'s pipeline work (measurement excluded); compared with the time budget', 'lower'),
  c('process_fps', 'frames/s', 'mean', 'frames / wall_s', 'higher'),
  ...STAGES.map((s) => c(timingColumn(s), 's', 'sum', `wall time in the ${s} stage; empty when the stage did not run`, 'lower')),
  c('time_blend_s', 's', 'sum', 'runs before the finish step had its own column: the finish step\'s share (blend, re-shake, encode); empty now, see time_finish_s', 'lower'),
  c('time_reshake_s', 's', 'sum', 'never filled by the pipeline (re-shake is part of the finish step); empty', 'lower'),
  c('time_measure_s', 's', 'sum', 'time spent computing the quality metrics (not part of wall_s)'),
  c('rss_peak_mib', 'MiB', 'max', 'peak resident memory of the reshoot process, sampled every `rss_interval_ms`', 'lower'),
  c('tree_rss_peak_mib', 'MiB', 'max', 'peak of the summed resident memory of reshoot and its child processes (ffmpeg, generator)', 'lower'),
  c('rss_interval_ms', 'ms', 'max', 'RSS sampling interval'),
  c('gpu_mem_peak_mib', 'MiB', 'max', 'device-wide GPU memory.used peak (highest reading of any GPU) from `nvidia-smi -lms`; empty without a GPU, see gpu_reason', 'lower'),
  c('gpu_mem_mean_mib', 'MiB', 'mean', 'mean of the device-wide readings'),
  c('gpu_mem_total_mib', 'MiB', 'max', 'GPU memory.total'),
  c('gpu_samples', 'count', 'sum', 'device-wide readings taken'),
  c('gpu_interval_ms', 'ms', 'max', 'device-wide sampling interval'),
  c('gpu_proc_peak_mib', 'MiB', 'max', 'peak of the GPU memory of the measured process tree (nvidia-smi --query-compute-apps, summed over the tree)', 'lower'),
  c('gpu_proc_mean_mib', 'MiB', 'mean', 'mean of the per-process readings'),
  c('gpu_proc_samples', 'count', 'sum', 'per-process readings taken'),
  c('gpu_proc_interval_ms', 'ms', 'max', 'per-process polling interval'),
  c('gpu_proc_scope', '', 'join', '`reshoot` (this process and its children) or `generator:<pid>` (a `cmd:` generator\'s process tree)'),
  c('gpu_reason', '', 'join', 'why the GPU columns are empty or partial (no nvidia-smi, no GPU, sampler crash); empty when complete'),
  c('ewarp_output', '', 'mean', 'warping error E_warp of the output (Lai et al. 2018), pixel values in [0,1]', 'lower'),
  c('ewarp_input', '', 'mean', 'E_warp of the input: the floor from flow error'),
  c('ewarp_ratio', 'ratio', 'mean', 'ewarp_output / ewarp_input; compared with max_ewarp_ratio', 'lower'),
  c('tof', 'px', 'mean', 'tOF (TecoGAN): mean |flow(output) - flow(input)|', 'lower'),
  c('seam_score', 'ratio', 'max', 'E_pair at the boundary to the previous segment / median E_pair inside; 1 = invisible seam', 'lower'),
  c('seam_color_jump', '0-255', 'max', 'jump in per-channel mean colour across that boundary', 'lower'),
  c('flicker_reason', '', 'join', 'why the flicker columns are empty'),
  c('jitter_px', 'px', 'mean', 'residual jitter of the output camera path (translation)', 'lower'),
  c('jitter_deg', 'deg', 'mean', 'residual jitter (rotation)', 'lower'),
  c('stability', '0-1', 'mean', 'stability score (Liu et al. 2013), mean of translation and rotation', 'higher'),
  c('coverage_min', '0-1', 'min', 'lowest fraction of output pixels coming from inside the source frame', 'higher'),
  c('coverage_mean', '0-1', 'mean', 'mean of that fraction', 'higher'),
  c('crop_min', 'scale', 'min', 'lowest input->output scale (cropping ratio)', 'higher'),
  c('distortion_min', '0-1', 'min', 'lowest eigenvalue ratio of the input->output linear part', 'higher'),
  c('itf_db', 'dB', 'mean', 'inter-frame transformation fidelity (PSNR of consecutive output frames)', 'higher'),
  c('residual_shake_px', 'px', 'mean', 'synthetic clips: RMS deviation from the intentional view (ground truth)', 'lower'),
  c('intentional_error_px', 'px', 'mean', 'synthetic clips: intentional camera motion lost or added (ground truth); compared with max_intentional_error_px', 'lower'),
  c('stab_reason', '', 'join', 'why the stabilization columns are empty'),
  c('skate_ratio', '0-1', 'mean', 'fraction of contact frames whose ankle speed exceeds 0.1 body heights/s (GMD)', 'lower'),
  c('slide_mean_px', 'px', 'mean', 'mean ankle displacement per frame during contact', 'lower'),
  c('slide_p95_px', 'px', 'max', '95th percentile of ankle displacement per frame during contact', 'lower'),
  c('slide_p95_hps', 'h/s', 'max', 'the same in body heights per second', 'lower'),
  c('max_jump_px', 'px', 'max', 'largest single-frame jump introduced by the foot lock', 'lower'),
  c('feet_reason', '', 'join', 'why the feet columns are empty'),
  c('budget_gpu_gb', 'GB', 'key', 'GPU memory budget in GB (10^9 bytes) the row was judged against'),
  c('budget_seconds', 's', 'key', 'time budget per segment'),
  c('pass_gpu', '', 'verdict', '`pass`/`fail` for gpu_mem_peak_mib * 2^20 < budget_gpu_gb * 10^9; `n/a` when not measured'),
  c('pass_time', '', 'verdict', '`pass`/`fail` for wall_s < budget_seconds (summary: every segment)'),
  c('pass_flicker', '', 'verdict', '`pass`/`fail` for ewarp_ratio <= max_ewarp_ratio; `n/a` when not measured'),
  c('pass_stabilization', '', 'verdict', '`pass`/`fail` for intentional_error_px <= max_intentional_error_px (synthetic clips); `n/a` elsewhere'),
  c('pass_feet', '', 'verdict', '`pass`/`fail` for skate_ratio <= max_skate_ratio; `n/a` when not measured'),
  c('verdict', '', 'verdict', '`fail` if the segment errored or any check failed; `pass` if every check passed; `incomplete` if none failed but some were `n/a`'),
  c('error', '', 'join', 'error message when the segment failed (e.g. CUDA out of memory); empty otherwise'),
  c('notes', '', 'join', 'free text from the configuration (e.g. what stands in for missing stages)'),
];

export type ColumnName = string;
export type CellValue = string | number;
/** One CSV row: every column present, '' for empty. */
export type ValidationRow = Record<ColumnName, CellValue>;

export const COLUMN_NAMES: readonly string[] = VALIDATION_COLUMNS.map((col) => col.name);

export function columnSpec(name: string): ColumnSpec | undefined {
  return VALIDATION_COLUMNS.find((col) => col.name === name);
}

/** A row with every column empty. */
export function emptyRow(): ValidationRow {
  return Object.fromEntries(COLUMN_NAMES.map((n) => [n, ''])) as ValidationRow;
}

/** Markdown table of the columns (docs/bench-columns.md embeds it). */
export function columnsMarkdown(): string {
  const lines = ['| column | unit | summary row | meaning |', '|---|---|---|---|'];
  for (const col of VALIDATION_COLUMNS) {
    lines.push(`| \`${col.name}\` | ${col.unit} | ${col.aggregate} | ${col.description.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}
