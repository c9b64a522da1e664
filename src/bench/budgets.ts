/**
 * Pass/fail of a validation row against the budgets, and the summary row that
 * combines a video's segments. A check whose metric is missing is `n/a`,
 * never a pass: the verdict is then `incomplete` unless something failed.
 */
import { VALIDATION_COLUMNS, emptyRow, type ValidationRow } from './columns.js';

export interface Budgets {
  /** GPU memory budget, GB (10^9 bytes). Default 45. */
  gpuGb: number;
  /** Wall time per segment, s. Default 30. */
  seconds: number;
  /** Largest E_warp(output)/E_warp(input) counted as "no flicker". Default 1.5 (provisional). */
  maxEwarpRatio: number;
  /** Largest intentional-motion error on synthetic clips, px. Default 2 (provisional; see docs/bench-columns.md). */
  maxIntentionalErrorPx: number;
  /** Largest skate ratio counted as "feet do not slide". Default 0.1 (provisional). */
  maxSkateRatio: number;
}

export const DEFAULT_BUDGETS: Readonly<Budgets> = Object.freeze({
  gpuGb: 45,
  seconds: 30,
  maxEwarpRatio: 1.5,
  maxIntentionalErrorPx: 2,
  maxSkateRatio: 0.1,
});

export type Check = 'pass' | 'fail' | 'n/a';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** value < limit (strict, as the budgets are stated: "under 45 GB", "under 30 s"). */
export function checkBelow(value: number | undefined, limit: number): Check {
  if (value === undefined) return 'n/a';
  return value < limit ? 'pass' : 'fail';
}

/** value <= limit for quality thresholds. */
export function checkAtMost(value: number | undefined, limit: number): Check {
  if (value === undefined) return 'n/a';
  return value <= limit ? 'pass' : 'fail';
}

/** MiB (what nvidia-smi reports) to GB (10^9 bytes, the budget's unit). */
export const mibToGb = (mib: number): number => (mib * 1024 * 1024) / 1e9;

/** Combines checks: any fail -> fail; all pass -> pass; else incomplete. */
export function combineVerdict(checks: (Check | string)[], errored = false): 'pass' | 'fail' | 'incomplete' {
  if (errored || checks.includes('fail')) return 'fail';
  return checks.every((c) => c === 'pass') ? 'pass' : 'incomplete';
}

/** Fills the budget columns and verdict of a segment row in place. */
export function judgeRow(row: ValidationRow, budgets: Budgets): ValidationRow {
  row.budget_gpu_gb = budgets.gpuGb;
  row.budget_seconds = budgets.seconds;
  const gpu = num(row.gpu_mem_peak_mib);
  row.pass_gpu = checkBelow(gpu === undefined ? undefined : mibToGb(gpu), budgets.gpuGb);
  row.pass_time = checkBelow(num(row.wall_s), budgets.seconds);
  row.pass_flicker = checkAtMost(num(row.ewarp_ratio), budgets.maxEwarpRatio);
  row.pass_stabilization = checkAtMost(num(row.intentional_error_px), budgets.maxIntentionalErrorPx);
  row.pass_feet = checkAtMost(num(row.skate_ratio), budgets.maxSkateRatio);
  const errored = String(row.error ?? '') !== '';
  // A failed segment may lack its timing, which must not read as a pass.
  row.verdict = combineVerdict([row.pass_gpu, row.pass_time, row.pass_flicker, row.pass_stabilization, row.pass_feet] as Check[], errored);
  return row;
}

function combineChecks(values: string[]): string {
  if (values.includes('fail')) return 'fail';
  if (values.length > 0 && values.every((v) => v === 'pass')) return 'pass';
  // Some segments unmeasured: the whole is not a pass.
  return values.includes('incomplete') ? 'incomplete' : 'n/a';
}

/**
 * The summary row of one (video, configuration, repeat): each column combined
 * by its spec's aggregate over the segment rows (empty cells are skipped; a
 * column empty in every segment stays empty).
 */
export function summaryRow(segments: ValidationRow[]): ValidationRow {
  const row = emptyRow();
  if (segments.length === 0) return row;
  for (const col of VALIDATION_COLUMNS) {
    const cells = segments.map((s) => s[col.name]).filter((v) => v !== '' && v !== undefined);
    const nums = cells.map(num).filter((v): v is number => v !== undefined);
    switch (col.aggregate) {
      case 'key':
        row[col.name] = segments[0][col.name] ?? '';
        break;
      case 'sum':
        row[col.name] = nums.length ? round(nums.reduce((a, b) => a + b, 0)) : '';
        break;
      case 'max':
        row[col.name] = nums.length ? Math.max(...nums) : '';
        break;
      case 'min':
        row[col.name] = nums.length ? Math.min(...nums) : '';
        break;
      case 'mean':
        row[col.name] = nums.length ? round(nums.reduce((a, b) => a + b, 0) / nums.length) : '';
        break;
      case 'verdict':
        row[col.name] = combineChecks(segments.map((s) => String(s[col.name] ?? '')));
        break;
      case 'join':
        row[col.name] = [...new Set(cells.map(String))].join('; ');
        break;
      case 'none':
        row[col.name] = '';
        break;
    }
  }
  row.row_type = 'summary';
  // Over the whole video the rate is total frames over total time, not a mean of rates.
  const frames = num(row.frames);
  const wall = num(row.wall_s);
  row.process_fps = frames !== undefined && wall ? round(frames / wall) : '';
  return row;
}

/** Rounds to 6 significant digits so CSVs stay readable and diffs stable. */
export function round(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
}
