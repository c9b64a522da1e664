/**
 * Compares two validation CSVs (A = before, B = after) metric by metric, per
 * (dataset, configuration), with a noise band so that a change inside the
 * run-to-run noise is not called a regression.
 *
 * Value compared: the mean of the metric over the segment rows of that
 * (dataset, configuration) (all repeats). Noise band (half-width, in the
 * metric's unit), about two standard errors of the change:
 *  - repeats: where A or B ran the matrix more than once (`--repeat n`), each
 *    repeat gives one mean m_r; band = 2 * sqrt(sA^2/nA + sB^2/nB) with s the
 *    sample standard deviation of m_r (a side with one repeat borrows the
 *    other side's s);
 *  - segments: otherwise, the paired per-segment differences d_i = B_i - A_i
 *    (same segment index), band = 2 * sd(d) / sqrt(n), n >= 2;
 *  - none: fewer than 2 repeats and 2 matched segments; the change is shown
 *    but not flagged.
 * A change is flagged when |B - A| > band: `worse` or `better` by the
 * column's direction (lower is better for times and errors).
 */
import { VALIDATION_COLUMNS } from './columns.js';

export type Row = Record<string, string>;

export interface MetricChange {
  dataset: string;
  configuration: string;
  metric: string;
  a: number;
  b: number;
  change: number;
  /** change / |a| (undefined when a is 0). */
  relative?: number;
  band?: number;
  bandSource: 'repeats' | 'segments' | 'none';
  flag: 'worse' | 'better' | 'within noise' | 'no band';
}

const num = (v: string | undefined): number | undefined => (v === undefined || v.trim() === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));
const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
function sd(x: number[]): number {
  if (x.length < 2) return NaN;
  const m = mean(x);
  return Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1));
}

/** Metrics compared: columns with a better direction. */
export const COMPARED_METRICS = VALIDATION_COLUMNS.filter((c) => c.better).map((c) => c.name);

function groupKey(r: Row): string {
  return `${r.dataset}\u0000${r.configuration}`;
}

/** Rows grouped by a key, each group in input order. */
export function groupRows(rows: Row[], key: (r: Row) => string): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

/** Per-metric changes between two sets of validation rows. */
export function compareRows(aRows: Row[], bRows: Row[], metrics: readonly string[] = COMPARED_METRICS): MetricChange[] {
  const seg = (rows: Row[]) => rows.filter((r) => r.row_type === 'segment' && !r.error);
  const groups = (rows: Row[]) => groupRows(seg(rows), groupKey);
  const ga = groups(aRows);
  const gb = groups(bRows);
  const out: MetricChange[] = [];
  for (const [key, ra] of ga) {
    const rb = gb.get(key);
    if (!rb) continue;
    const [dataset, configuration] = key.split('\u0000');
    for (const metric of metrics) {
      const va = ra.map((r) => num(r[metric])).filter((v): v is number => v !== undefined);
      const vb = rb.map((r) => num(r[metric])).filter((v): v is number => v !== undefined);
      if (!va.length || !vb.length) continue;
      const a = mean(va);
      const b = mean(vb);
      const change = b - a;
      const { band, source } = noiseBand(ra, rb, metric);
      const better = VALIDATION_COLUMNS.find((c) => c.name === metric)?.better;
      let flag: MetricChange['flag'];
      if (band === undefined) flag = 'no band';
      else if (Math.abs(change) <= band) flag = 'within noise';
      else flag = (change < 0) === (better === 'lower') ? 'better' : 'worse';
      out.push({ dataset, configuration, metric, a, b, change, relative: a !== 0 ? change / Math.abs(a) : undefined, band, bandSource: source, flag });
    }
  }
  return out;
}

function repeatMeans(rows: Row[], metric: string): number[] {
  const by = new Map<string, number[]>();
  for (const r of rows) {
    const v = num(r[metric]);
    if (v === undefined) continue;
    const k = r.repeat ?? '0';
    const list = by.get(k);
    if (list) list.push(v);
    else by.set(k, [v]);
  }
  return [...by.values()].map(mean);
}

/** The noise band of one metric (see the module comment). */
export function noiseBand(aRows: Row[], bRows: Row[], metric: string): { band?: number; source: MetricChange['bandSource'] } {
  const ma = repeatMeans(aRows, metric);
  const mb = repeatMeans(bRows, metric);
  if (ma.length >= 2 || mb.length >= 2) {
    const sa = ma.length >= 2 ? sd(ma) : sd(mb);
    const sb = mb.length >= 2 ? sd(mb) : sd(ma);
    return { band: 2 * Math.sqrt((sa * sa) / ma.length + (sb * sb) / mb.length), source: 'repeats' };
  }
  const bySeg = (rows: Row[]) => new Map(rows.filter((r) => num(r[metric]) !== undefined).map((r) => [r.segment, num(r[metric])!]));
  const sa = bySeg(aRows);
  const sb = bySeg(bRows);
  const d: number[] = [];
  for (const [k, v] of sa) if (sb.has(k)) d.push(sb.get(k)! - v);
  if (d.length >= 2) return { band: (2 * sd(d)) / Math.sqrt(d.length), source: 'segments' };
  return { source: 'none' };
}

const fmt = (v: number | undefined, digits = 4) => (v === undefined ? '' : Number(v.toPrecision(digits)).toString());

/** Text table of the changes; flagged rows marked with `!` (worse) or `+` (better). */
export function formatComparison(changes: MetricChange[]): string {
  const header = ['', 'dataset', 'configuration', 'metric', 'A', 'B', 'change', 'change %', 'noise band', 'band from', 'verdict'];
  const lines = changes.map((c) => [
    c.flag === 'worse' ? '!' : c.flag === 'better' ? '+' : ' ',
    c.dataset,
    c.configuration,
    c.metric,
    fmt(c.a),
    fmt(c.b),
    fmt(c.change, 3),
    c.relative === undefined ? '' : `${(c.relative * 100).toFixed(1)}%`,
    c.band === undefined ? '' : `±${fmt(c.band, 3)}`,
    c.bandSource,
    c.flag,
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((l) => l[i].length)));
  return all.map((l) => l.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
