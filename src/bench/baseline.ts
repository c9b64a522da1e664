/**
 * A fresh bench CSV judged against a committed baseline (results/baseline-*.csv),
 * row by row, each metric within a fixed noise band stated here.
 *
 * Why fixed bands (unlike compare.ts, which estimates the band from repeats):
 * a baseline is one committed run, so there is no spread to estimate from.
 * The same code on the same inputs differs only by what is not bit-exact
 * between machines and library builds: onnxruntime's thread count and SIMD
 * path (pose keypoints, masks -> contacts, foot lock, composite), x264's
 * rounding of the intermediate and output clips (flicker metrics, re-estimated
 * motion), and ffmpeg's own vid.stab. The bands are sized for that, not for a
 * change of method: a change of method that moves a metric past its band is
 * meant to be seen, and the baseline re-committed if it is intended.
 *
 * Verdicts per (row, metric):
 * - quality metrics (`judged`): |fresh - baseline| <= band passes; outside
 *   (either direction: the baseline no longer reproduces) fails; a value the
 *   baseline has and the fresh row lacks fails;
 * - timings, throughput and memory (not judged): the machine's load changes
 *   them (the bench shares 2 cores), so beyond their band they are only flagged.
 * A baseline row whose group (e.g. dataset + configuration) was run but which
 * the fresh CSV lacks is a missing row and fails; groups not run are counted,
 * not failed (a run may cover a subset of the baseline on purpose).
 */
import { join } from 'node:path';
import { ReshootError } from '../util/errors.js';
import { columnSpec } from './columns.js';
import { groupRows, type Row } from './compare.js';
import { readCsv } from './csv.js';

export interface Band {
  metric: string;
  /** Band half-width in the metric's unit. */
  abs?: number;
  /** Band half-width as a fraction of |baseline|; the band is the larger of the two. */
  rel?: number;
  /** Outside the band fails the comparison (quality) or is only flagged (timings, memory). */
  judged: boolean;
  better?: 'lower' | 'higher';
  why: string;
}

export interface BaselineSuite {
  name: string;
  /** Columns identifying a row. */
  keys: readonly string[];
  /** The leading keys that name what a run chose to run (a subset of keys). */
  group: readonly string[];
  bands: readonly Band[];
  /** Rows compared (default all). */
  include?: (r: Row) => boolean;
  /** How to recognise the suite's CSV by its header. */
  matches(header: readonly string[]): boolean;
}

const WHY = {
  ratio: 'flow-based ratio on x264-encoded frames: encoder rounding moves it a few per cent',
  px: 'from motion re-estimated on encoded frames: sub-pixel noise, so a relative band with a small floor for values near 0',
  score: 'a 0-1 score; 0.02 is well below the gap between smoothers',
  geom: 'crop geometry from the planned corrections; only motion-estimate noise moves it',
  db: 'PSNR of consecutive frames: 0.3 dB is about one level of 8-bit rounding noise',
  feet: 'from pose keypoints (onnxruntime, thread count and SIMD path) and contact detection: one contact frame more or less moves it',
  time: 'wall time on a shared machine: load varies, so only flagged',
  mem: 'peak memory depends on allocator timing and sampling: only flagged',
} as const;

const q = (metric: string, abs: number | undefined, rel: number | undefined, why: string, better?: 'lower' | 'higher'): Band => ({
  metric,
  ...(abs !== undefined && { abs }),
  ...(rel !== undefined && { rel }),
  judged: true,
  ...(better && { better }),
  why,
});
const flag = (metric: string, rel: number, why: string, better?: 'lower' | 'higher'): Band => ({ metric, rel, judged: false, ...(better && { better }), why });

/** Stabilization metrics both suites report under the same names. */
const STABILIZATION_BANDS: readonly Band[] = [
  q('jitter_px', 0.02, 0.1, WHY.px, 'lower'),
  q('jitter_deg', 0.002, 0.1, WHY.px, 'lower'),
  q('residual_shake_px', 0.05, 0.1, WHY.px, 'lower'),
  q('intentional_error_px', 0.05, 0.1, WHY.px, 'lower'),
  q('coverage_min', 0.01, undefined, WHY.geom, 'higher'),
  q('coverage_mean', 0.01, undefined, WHY.geom, 'higher'),
  q('crop_min', 0.01, undefined, WHY.geom, 'higher'),
  q('distortion_min', 0.01, undefined, WHY.geom, 'higher'),
  q('itf_db', 0.3, undefined, WHY.db, 'higher'),
];

/** `reshoot bench` validation CSVs (results/baseline-validation.csv): segment rows. */
export const VALIDATION_SUITE: BaselineSuite = {
  name: 'validation',
  keys: ['dataset', 'configuration', 'segments', 'row_type', 'segment'],
  group: ['dataset', 'configuration'],
  include: (r) => r.row_type === 'segment',
  matches: (h) => h.includes('row_type') && h.includes('configuration') && h.includes('wall_s'),
  bands: [
    q('ewarp_output', 1e-5, 0.1, WHY.ratio, 'lower'),
    q('ewarp_ratio', undefined, 0.1, WHY.ratio, 'lower'),
    q('tof', 0.02, 0.1, WHY.ratio, 'lower'),
    q('seam_score', undefined, 0.15, `${WHY.ratio}; a ratio of medians over few frames, hence 15 %`, 'lower'),
    q('seam_color_jump', 1, undefined, 'per-channel mean jump in 0-255 levels: one level of rounding', 'lower'),
    ...STABILIZATION_BANDS,
    q('stability', 0.02, undefined, WHY.score, 'higher'),
    q('skate_ratio', 0.05, undefined, WHY.feet, 'lower'),
    q('slide_mean_px', 0.2, 0.15, WHY.feet, 'lower'),
    q('slide_p95_px', 0.2, 0.15, WHY.feet, 'lower'),
    q('slide_p95_hps', 0.01, 0.15, WHY.feet, 'lower'),
    q('max_jump_px', 0.5, 0.15, WHY.feet, 'lower'),
    flag('wall_s', 0.5, WHY.time, 'lower'),
    flag('process_fps', 0.5, WHY.time, 'higher'),
    flag('rss_peak_mib', 0.25, WHY.mem, 'lower'),
    flag('gpu_mem_peak_mib', 0.25, WHY.mem, 'lower'),
  ],
};

/** bench/stabilization.ts CSVs (results/baseline-stabilization.csv): one row per (case, method). */
export const STABILIZATION_SUITE: BaselineSuite = {
  name: 'stabilization',
  keys: ['case', 'method'],
  group: ['case'],
  matches: (h) => h.includes('case') && h.includes('method') && h.includes('residual_shake_px'),
  bands: [
    ...STABILIZATION_BANDS,
    q('residual_shake_deg', 0.005, 0.1, WHY.px, 'lower'),
    q('residual_shake_per_shot_px', 0.05, 0.1, WHY.px, 'lower'),
    q('intentional_error_deg', 0.005, 0.1, WHY.px, 'lower'),
    q('stability_translation', 0.02, undefined, WHY.score, 'higher'),
    q('stability_rotation', 0.02, undefined, WHY.score, 'higher'),
    q('stability_mean', 0.02, undefined, WHY.score, 'higher'),
    q('crop_mean', 0.01, undefined, WHY.geom, 'higher'),
    flag('analysis_fps', 0.5, WHY.time, 'higher'),
    flag('total_fps', 0.5, WHY.time, 'higher'),
  ],
};

/**
 * bench/temporal.ts flicker-suite CSVs (results/baseline-temporal.csv): one row per method, aggregated over
 * the clips x flicker kinds named in the row. The flicker is seeded and the flows run on the same OpenCV
 * build, so the quality columns differ between machines only by SIMD rounding: narrow bands.
 */
export const TEMPORAL_SUITE: BaselineSuite = {
  name: 'temporal',
  keys: ['clips', 'frames', 'width', 'method'],
  group: ['clips', 'frames', 'width'],
  matches: (h) => h.includes('method') && h.includes('e_ratio') && h.includes('edge') && h.includes('clips'),
  bands: [
    q('e_ratio', 0.02, 0.05, 'E_warp ratio of seeded flicker through the same flow code: rounding only', 'lower'),
    ...(['A', 'B', 'C', 'D'] as const).map((k) => q(`e_ratio_${k}`, 0.02, 0.05, 'per flicker kind, as e_ratio', 'lower')),
    q('psnr', 0.1, undefined, 'mean PSNR against the clean clip: a tenth of a dB is rounding', 'higher'),
    q('grad', 0.005, undefined, 'gradient-magnitude ratio on moving pixels: rounding only', 'higher'),
    q('edge', 0.005, undefined, 'gradient-magnitude ratio on edges: rounding only', 'higher'),
    flag('fps', 0.5, WHY.time, 'higher'),
  ],
};

export const BASELINE_SUITES: readonly BaselineSuite[] = [VALIDATION_SUITE, STABILIZATION_SUITE, TEMPORAL_SUITE];

/** The suite whose CSV has this header, or undefined. */
export function suiteFor(header: readonly string[]): BaselineSuite | undefined {
  return BASELINE_SUITES.find((s) => s.matches(header));
}

export type BaselineVerdict = 'within' | 'outside' | 'flagged' | 'missing value' | 'new value';

export interface BaselineCheck {
  /** The row's key values joined with ' / '. */
  row: string;
  metric: string;
  baseline?: number;
  fresh?: number;
  band?: number;
  judged: boolean;
  /** For a value outside its band: which way it moved by the metric's direction. */
  direction?: 'worse' | 'better';
  verdict: BaselineVerdict;
}

export interface BaselineReport {
  suite: string;
  checks: BaselineCheck[];
  /** Baseline rows of groups the fresh run covered, absent from it. */
  missingRows: string[];
  /** Fresh rows with no baseline row (reported, not failed). */
  newRows: string[];
  /** Baseline rows whose group the fresh run did not cover. */
  notRun: number;
  /** Fresh rows that recorded an error. */
  erroredRows: string[];
  /** Judged checks outside their band or missing, missing rows and errored rows. */
  failures: number;
}

const num = (v: string | undefined): number | undefined => (v === undefined || v.trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));

/** The band's half-width for a baseline value: the larger of abs and rel * |value|. */
export function bandWidth(b: Pick<Band, 'abs' | 'rel'>, baseline: number): number {
  return Math.max(b.abs ?? 0, (b.rel ?? 0) * Math.abs(baseline));
}

function keyOf(r: Row, cols: readonly string[]): string {
  return cols.map((c) => r[c] ?? '').join(' / ');
}

/**
 * Judges `fresh` against `baseline` (rows as read from the CSVs). Where a key
 * has several rows (repeats), each metric's values are averaged first.
 */
export function compareWithBaseline(baseline: Row[], fresh: Row[], suite: BaselineSuite): BaselineReport {
  const keep = (rows: Row[]) => (suite.include ? rows.filter(suite.include) : rows);
  const byKey = (rows: Row[]) => groupRows(keep(rows), (r) => keyOf(r, suite.keys));
  const base = byKey(baseline);
  const now = byKey(fresh);
  const groupsRun = new Set(keep(fresh).map((r) => keyOf(r, suite.group)));
  const report: BaselineReport = { suite: suite.name, checks: [], missingRows: [], newRows: [], notRun: 0, erroredRows: [], failures: 0 };
  const mean = (rows: Row[], metric: string) => {
    const v = rows.map((r) => num(r[metric])).filter((x): x is number => x !== undefined);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
  };
  for (const [key, bRows] of base) {
    const fRows = now.get(key);
    if (!fRows) {
      if (groupsRun.has(keyOf(bRows[0], suite.group))) report.missingRows.push(key);
      else report.notRun++;
      continue;
    }
    const errors = fRows.map((r) => r.error).filter(Boolean);
    if (errors.length) report.erroredRows.push(`${key}: ${errors[0]}`);
    for (const band of suite.bands) {
      const b = mean(bRows, band.metric);
      const f = mean(fRows, band.metric);
      if (b === undefined && f === undefined) continue;
      const check: BaselineCheck = { row: key, metric: band.metric, judged: band.judged, verdict: 'within' };
      if (b !== undefined) check.baseline = b;
      if (f !== undefined) check.fresh = f;
      if (b === undefined) check.verdict = 'new value';
      else if (f === undefined) check.verdict = 'missing value';
      else {
        check.band = bandWidth(band, b);
        if (Math.abs(f - b) > check.band) {
          check.verdict = band.judged ? 'outside' : 'flagged';
          const better = band.better ?? columnSpec(band.metric)?.better;
          if (better) check.direction = (f < b) === (better === 'lower') ? 'better' : 'worse';
        }
      }
      report.checks.push(check);
    }
  }
  for (const key of now.keys()) if (!base.has(key)) report.newRows.push(key);
  report.failures =
    report.checks.filter((c) => c.judged && (c.verdict === 'outside' || c.verdict === 'missing value')).length +
    report.missingRows.length +
    report.erroredRows.length;
  return report;
}

const fmt = (v: number | undefined) => (v === undefined ? '' : Number(v.toPrecision(4)).toString());

/**
 * Text report: every check outside its band, missing or flagged (or all with
 * `all`), then missing/new/errored rows and one summary line.
 */
export function formatBaselineReport(r: BaselineReport, opts: { all?: boolean } = {}): string {
  const shown = r.checks.filter((c) => opts.all || c.verdict !== 'within');
  const header = ['', 'row', 'metric', 'baseline', 'fresh', 'change', 'band', 'verdict'];
  const lines = shown.map((c) => [
    c.judged && (c.verdict === 'outside' || c.verdict === 'missing value') ? '!' : c.verdict === 'flagged' ? '~' : ' ',
    c.row,
    c.metric,
    fmt(c.baseline),
    fmt(c.fresh),
    c.baseline !== undefined && c.fresh !== undefined ? fmt(c.fresh - c.baseline) : '',
    c.band === undefined ? '' : `±${fmt(c.band)}`,
    c.direction ? `${c.verdict} (${c.direction})` : c.verdict,
  ]);
  const out: string[] = [];
  if (lines.length) {
    const all = [header, ...lines];
    const widths = header.map((_, i) => Math.max(...all.map((l) => l[i].length)));
    out.push(...all.map((l) => l.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd()));
  }
  for (const k of r.missingRows) out.push(`! missing row: ${k}`);
  for (const k of r.erroredRows) out.push(`! errored row: ${k}`);
  for (const k of r.newRows) out.push(`  new row (no baseline): ${k}`);
  const judged = r.checks.filter((c) => c.judged);
  const within = judged.filter((c) => c.verdict === 'within').length;
  const flagged = r.checks.filter((c) => c.verdict === 'flagged').length;
  out.push(
    `${r.suite}: ${within} of ${judged.length} quality checks within their band; ${r.failures} failure(s)` +
      `; ${flagged} timing/memory value(s) flagged (not judged)` +
      (r.notRun ? `; ${r.notRun} baseline row(s) not run` : ''),
  );
  return out.join('\n');
}

/** `auto` -> results/baseline-<suite>.csv of the package; anything else as given. */
export function baselinePath(arg: string, suite: BaselineSuite, root: string): string {
  return arg === 'auto' ? join(root, 'results', `baseline-${suite.name}.csv`) : arg;
}

/** Reads a baseline CSV and recognises its suite (by header); one clear error when it is neither. */
export function readBaseline(path: string): { rows: Row[]; suite: BaselineSuite } {
  const rows = readCsv(path);
  if (!rows.length) throw new ReshootError(`${path} has no rows; is it a baseline CSV?`);
  const suite = suiteFor(Object.keys(rows[0]));
  if (!suite) throw new ReshootError(`${path} is not a CSV of a known suite (${BASELINE_SUITES.map((s) => s.name).join(', ')}): its header matches none`);
  return { rows, suite };
}
