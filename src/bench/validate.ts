/**
 * A whole validation run from names to files: build the matrix, run it,
 * write results/<timestamp>-validation.csv and its .env.json sidecar. Used by
 * `reshoot bench`, bench/validate.ts and notebook 07.
 */
import { join, resolve } from 'node:path';
import { writeJsonAtomic, assertCanWrite, ensureDir } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { packageRoot } from '../util/paths.js';
import type { Budgets } from './budgets.js';
import { type ValidationRow } from './columns.js';
import { fileTimestamp, writeValidationCsv } from './csv.js';
import { captureEnvironment, type BenchEnvironment } from './environment.js';
import type { GpuSamplerOptions } from './gpu-sampler.js';
import { runValidation, type BenchConfiguration, type RunConfiguration, type ValidationMatrix } from './runner.js';
import { DEFAULT_DATASETS, STABILIZE_ONLY_CONFIGURATIONS, datasetByName, runStabilizationOnly } from './stabilize-run.js';
import { PIPELINE_CONFIGURATIONS, STYLE_CONFIGURATIONS, runPipeline } from './pipeline-run.js';

/**
 * Every configuration `reshoot bench` knows: the pipeline presets (with the
 * synthetic stand-in generator), the style transfer network (style-matta*)
 * and the stabilization-only runs. By default only the pipeline presets run.
 */
export const ALL_CONFIGURATIONS: readonly BenchConfiguration[] = [...PIPELINE_CONFIGURATIONS, ...STYLE_CONFIGURATIONS, ...STABILIZE_ONLY_CONFIGURATIONS];

/** Frames of each video a default run uses: keeps the full matrix (6 clips x 3 presets) within 15 minutes on 2 cores. */
export const DEFAULT_MAX_FRAMES = 90;

/** Runs a configuration with the plug-in that owns it: stab-* are stabilization-only, the rest the whole pipeline. */
export const runByConfiguration: RunConfiguration = (video, config, hooks) =>
  (config.id.startsWith('stab-') ? runStabilizationOnly : runPipeline)(video, config, hooks);

export interface ValidateOptions {
  /** Dataset names (manifest video ids, synth presets). Default DEFAULT_DATASETS. */
  datasets?: string[];
  /** Configurations: objects, or ids picked from `available`. Default all of `available`. */
  configurations?: (BenchConfiguration | string)[];
  /** The configurations ids refer to. Default ALL_CONFIGURATIONS (ids); with no ids, PIPELINE_CONFIGURATIONS run. */
  available?: readonly BenchConfiguration[];
  /** Segment counts: every configuration runs once per count (ids get a `/s<n>` suffix when several). */
  segments?: number[];
  /** Use at most this many frames of each video (from the start). Default DEFAULT_MAX_FRAMES; 0 = whole clips. */
  maxFrames?: number;
  repeats?: number;
  budgets?: Partial<Budgets>;
  gpu?: GpuSamplerOptions;
  /** The plug-in. Default: runByConfiguration. */
  run?: RunConfiguration;
  /** Output CSV. Default <packageRoot>/results/<timestamp>-validation.csv. */
  out?: string;
  overwrite?: boolean;
  onProgress?: (done: number, total: number, label: string) => void;
  onRow?: (row: ValidationRow) => void;
}

export interface ValidateResult {
  csvPath: string;
  envPath: string;
  rows: ValidationRow[];
  environment: BenchEnvironment;
  seconds: number;
}

/** The configurations of the matrix from ids and segment counts. */
export function selectConfigurations(
  wanted: (BenchConfiguration | string)[] | undefined,
  available: readonly BenchConfiguration[],
  segments?: number[],
): BenchConfiguration[] {
  const base = (wanted ?? [...available]).map((w) => {
    if (typeof w !== 'string') return w;
    const found = available.find((c) => c.id === w);
    if (!found) throw new ReshootError(`unknown configuration "${w}"; known: ${available.map((c) => c.id).join(', ')}`);
    return found;
  });
  if (!segments?.length) return base;
  for (const n of segments) if (!Number.isInteger(n) || n < 1) throw new ReshootError(`segment counts must be positive integers; got ${n}`);
  return base.flatMap((c) => segments.map((n) => ({ ...c, id: segments.length > 1 ? `${c.id}/s${n}` : c.id, segments: n })));
}

/** CSV and sidecar paths of a run: results/<timestamp>-validation.csv and .env.json. */
export function defaultValidationPaths(runId: string, dir = join(packageRoot(), 'results')): { csv: string; env: string } {
  return { csv: join(dir, `${runId}-validation.csv`), env: join(dir, `${runId}-validation.env.json`) };
}

export function sidecarPath(csvPath: string): string {
  return csvPath.replace(/\.csv$/i, '') + '.env.json';
}

export async function runValidationToCsv(opts: ValidateOptions = {}): Promise<ValidateResult> {
  const started = Date.now();
  const runId = fileTimestamp();
  const csvPath = resolve(opts.out ?? defaultValidationPaths(runId).csv);
  const envPath = sidecarPath(csvPath);
  assertCanWrite(csvPath, { overwrite: opts.overwrite });
  assertCanWrite(envPath, { overwrite: opts.overwrite });
  const configurations = selectConfigurations(
    opts.configurations ?? (opts.available ? undefined : [...PIPELINE_CONFIGURATIONS]),
    opts.available ?? ALL_CONFIGURATIONS,
    opts.segments,
  );
  if (configurations.length === 0) throw new ReshootError('no configuration to run');
  const names = opts.datasets ?? [...DEFAULT_DATASETS];
  if (names.length === 0) throw new ReshootError('no dataset to run');
  const matrix: ValidationMatrix = { datasets: names.map((n) => datasetByName(n, opts.maxFrames === 0 ? undefined : opts.maxFrames ?? DEFAULT_MAX_FRAMES)), configurations, repeats: opts.repeats };
  const environment = await captureEnvironment();
  const rows = await runValidation(matrix, opts.run ?? runByConfiguration, {
    runId,
    budgets: opts.budgets,
    gpu: opts.gpu,
    onProgress: opts.onProgress,
    onRow: opts.onRow,
  });
  await ensureDir(resolve(csvPath, '..'));
  await writeValidationCsv(csvPath, rows, { overwrite: opts.overwrite });
  const seconds = (Date.now() - started) / 1000;
  await writeJsonAtomic(envPath, { ...environment, run: { id: runId, csv: csvPath, seconds, budgets: rows[0] ? { gpuGb: rows[0].budget_gpu_gb, seconds: rows[0].budget_seconds } : undefined } }, { overwrite: opts.overwrite });
  return { csvPath, envPath, rows, environment, seconds };
}

/** The final terminal table: one line per summary row. */
export function formatSummaryTable(rows: Record<string, string | number>[]): string {
  const cols: [string, string][] = [
    ['dataset', 'dataset'],
    ['configuration', 'configuration'],
    ['repeat', 'rep'],
    ['frames', 'frames'],
    ['wall_s', 'wall s'],
    ['gpu_mem_peak_mib', 'GPU MiB'],
    ['jitter_px', 'jitter px'],
    ['intentional_error_px', 'intent px'],
    ['ewarp_ratio', 'Ewarp ratio'],
    ['skate_ratio', 'skate'],
    ['pass_time', 'time'],
    ['pass_gpu', 'gpu'],
    ['verdict', 'verdict'],
  ];
  const sums = rows.filter((r) => r.row_type === 'summary');
  const fmt = (v: string | number | undefined) => (v === undefined || v === '' ? '-' : typeof v === 'number' || /^-?\d/.test(String(v)) ? String(Number(Number(v).toPrecision(4))) : String(v));
  const table = [cols.map(([, h]) => h), ...sums.map((r) => cols.map(([k]) => (k === 'dataset' || k === 'configuration' ? String(r[k]) : fmt(r[k]))))];
  const widths = cols.map((_, i) => Math.max(...table.map((l) => l[i].length)));
  const lines = table.map((l) => l.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const gpuReasons = [...new Set(rows.map((r) => String(r.gpu_reason ?? '')).filter(Boolean))];
  if (gpuReasons.length) lines.push(`GPU memory not measured: ${gpuReasons.join('; ')}`);
  const errors = sums.filter((r) => r.error);
  for (const e of errors) lines.push(`error in ${e.dataset} / ${e.configuration}: ${e.error}`);
  return lines.join('\n');
}
