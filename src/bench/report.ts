/**
 * Charts of a validation CSV (shared by the HTML report and notebook 07) and
 * the self-contained HTML report: plotly.js is inlined once, so the file
 * renders with no network.
 */
import { figureHtml, plotlyScriptTag, threshold, type PlotlyFigure, type Trace } from '../notebook/index.js';
import { DEFAULT_BUDGETS, mibToGb, type Budgets } from './budgets.js';

export type Row = Record<string, string | number>;

export interface NamedFigure {
  title: string;
  figure: PlotlyFigure;
}

const num = (v: unknown): number | undefined => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));
const segRows = (rows: Row[]) => rows.filter((r) => r.row_type === 'segment');
const configsOf = (rows: Row[]) => [...new Set(rows.map((r) => String(r.configuration)))];
const segLabel = (r: Row) => `${r.dataset} #${r.segment}${Number(r.repeat) > 0 ? ` r${r.repeat}` : ''}`;
const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

/** A chart that says why there is nothing to plot (still a plotly chart, so it renders like the others). */
function emptyFigure(title: string, message: string): PlotlyFigure {
  return {
    data: [],
    layout: {
      title: { text: title },
      height: 260,
      xaxis: { visible: false },
      yaxis: { visible: false },
      annotations: [{ text: escapeHtml(message), showarrow: false, xref: 'paper', yref: 'paper', x: 0.5, y: 0.5, font: { size: 14 } }],
    },
  };
}

function reasons(rows: Row[], column: string): string {
  const set = [...new Set(rows.map((r) => String(r[column] ?? '')).filter(Boolean))];
  return set.length ? set.join('; ') : 'no values in the CSV';
}

const xSegments = { title: { text: 'segment (clip #index)' }, tickangle: -30, automargin: true };

/** Per-segment wall time by configuration against the time budget. */
export function timeFigure(rows: Row[], budgetSeconds = DEFAULT_BUDGETS.seconds): PlotlyFigure {
  const segs = segRows(rows);
  const title = `Wall time per segment vs the ${budgetSeconds} s budget`;
  if (!segs.some((r) => num(r.wall_s) !== undefined)) return emptyFigure(title, `no timings: ${reasons(segs, 'error')}`);
  const budget = threshold(budgetSeconds, `budget ${budgetSeconds} s`);
  return {
    data: configsOf(segs).map((c) => {
      const rs = segs.filter((r) => r.configuration === c);
      return { type: 'bar', name: c, x: rs.map(segLabel), y: rs.map((r) => num(r.wall_s) ?? null) };
    }),
    layout: {
      title: { text: title },
      barmode: 'group',
      xaxis: xSegments,
      yaxis: { title: { text: 'wall time (s)' }, rangemode: 'tozero', range: [0, Math.max(budgetSeconds * 1.1, ...segs.map((r) => num(r.wall_s) ?? 0))] },
      shapes: [budget.shape],
      annotations: [budget.annotation],
    },
  };
}

/** Per-segment GPU memory peak against the GPU budget; says "no GPU: reason" when not measured. */
export function gpuFigure(rows: Row[], budgetGb = DEFAULT_BUDGETS.gpuGb): PlotlyFigure {
  const segs = segRows(rows);
  const title = `Peak GPU memory per segment vs the ${budgetGb} GB budget`;
  if (!segs.some((r) => num(r.gpu_mem_peak_mib) !== undefined)) return emptyFigure(title, `no GPU: ${reasons(segs, 'gpu_reason')}`);
  const data: Trace[] = [];
  for (const c of configsOf(segs)) {
    const rs = segs.filter((r) => r.configuration === c);
    data.push({ type: 'bar', name: `${c}: whole device`, x: rs.map(segLabel), y: rs.map((r) => (num(r.gpu_mem_peak_mib) === undefined ? null : mibToGb(num(r.gpu_mem_peak_mib)!))) });
    data.push({ type: 'scatter', mode: 'markers', name: `${c}: measured process`, x: rs.map(segLabel), y: rs.map((r) => (num(r.gpu_proc_peak_mib) === undefined ? null : mibToGb(num(r.gpu_proc_peak_mib)!))) });
  }
  const budget = threshold(budgetGb, `budget ${budgetGb} GB`);
  return {
    data,
    layout: {
      title: { text: title }, barmode: 'group', xaxis: xSegments,
      yaxis: { title: { text: 'peak GPU memory (GB, 10^9 bytes)' }, rangemode: 'tozero' },
      shapes: [budget.shape], annotations: [budget.annotation],
    },
  };
}

/** A metric the report charts: readable name, unit, and the limit its check uses (if any). */
export interface ReportMetric {
  column: string;
  label: string;
  unit: string;
  limit?: number;
  reasonColumn: string;
}

/** The quality metrics in report order; limits from the budgets the CSV was judged with. */
export function reportMetrics(budgets: Pick<Budgets, 'maxEwarpRatio' | 'maxIntentionalErrorPx' | 'maxSkateRatio'> = DEFAULT_BUDGETS): ReportMetric[] {
  return [
    { column: 'ewarp_ratio', label: 'E_warp ratio (output / input)', unit: 'ratio', limit: budgets.maxEwarpRatio, reasonColumn: 'flicker_reason' },
    { column: 'tof', label: 'tOF', unit: 'px', reasonColumn: 'flicker_reason' },
    { column: 'seam_score', label: 'seam score (1 = invisible)', unit: 'ratio', reasonColumn: 'flicker_reason' },
    { column: 'jitter_px', label: 'residual jitter', unit: 'px', reasonColumn: 'stab_reason' },
    { column: 'intentional_error_px', label: 'intentional motion error', unit: 'px', limit: budgets.maxIntentionalErrorPx, reasonColumn: 'stab_reason' },
    { column: 'residual_shake_px', label: 'residual shake', unit: 'px', reasonColumn: 'stab_reason' },
    { column: 'skate_ratio', label: 'skate ratio', unit: '0-1', limit: budgets.maxSkateRatio, reasonColumn: 'feet_reason' },
    { column: 'slide_p95_px', label: 'foot slide p95', unit: 'px', reasonColumn: 'feet_reason' },
    { column: 'max_jump_px', label: 'largest lock jump', unit: 'px', reasonColumn: 'feet_reason' },
  ];
}

/**
 * One metric per chart (one unit per axis), broken down per dataset: bars per
 * configuration, mean over that dataset's segments, the limit drawn when the
 * metric has one.
 */
export function metricFigure(rows: Row[], m: ReportMetric): PlotlyFigure {
  const segs = segRows(rows);
  const title = `${m.label} per dataset${m.limit !== undefined ? ` (limit ${m.limit})` : ''}`;
  if (!segs.some((r) => num(r[m.column]) !== undefined)) return emptyFigure(title, `not measured: ${reasons(segs, m.reasonColumn)}`);
  const datasets = [...new Set(segs.map((r) => String(r.dataset)))];
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  const limit = m.limit === undefined ? undefined : threshold(m.limit, `limit ${m.limit}`);
  return {
    data: configsOf(segs).map((c) => ({
      type: 'bar',
      name: c,
      x: datasets,
      y: datasets.map((d) => mean(segs.filter((r) => r.configuration === c && r.dataset === d).map((r) => num(r[m.column])).filter((x): x is number => x !== undefined))),
    })),
    layout: {
      title: { text: `${title}, mean over segments` },
      barmode: 'group',
      height: 340,
      xaxis: { title: { text: 'dataset' }, automargin: true },
      yaxis: { title: { text: `${m.label} (${m.unit})` }, rangemode: 'tozero', automargin: true },
      shapes: limit ? [limit.shape] : [],
      annotations: limit ? [limit.annotation] : [],
    },
  };
}

const metricNamed = (rows: Row[], column: string) => metricFigure(rows, reportMetrics().find((m) => m.column === column)!);

/** Flicker charts (kept for notebook 07): the E_warp ratio per dataset against its limit. */
export const flickerFigure = (rows: Row[]) => metricNamed(rows, 'ewarp_ratio');
/** Foot-contact chart: skate ratio per dataset against its limit. */
export const feetFigure = (rows: Row[]) => metricNamed(rows, 'skate_ratio');
/** Stabilization chart: intentional-motion error per dataset against its limit. */
export const stabilizationFigure = (rows: Row[]) => metricNamed(rows, 'intentional_error_px');

/** Kernel micro-benchmark chart from a kernels CSV (kernel, mean_ms). */
export function kernelsFigure(rows: Row[]): PlotlyFigure {
  if (!rows.length) return emptyFigure('Kernels', 'no kernels CSV');
  return {
    data: [{ type: 'bar', orientation: 'h', name: 'mean', x: rows.map((r) => num(r.mean_ms) ?? null), y: rows.map((r) => String(r.kernel)), error_x: { type: 'data', array: rows.map((r) => num(r.sd_ms) ?? 0) } }],
    layout: {
      title: { text: 'Kernel micro-benchmarks (mean per call, error bar = 1 sd)' },
      xaxis: { title: { text: 'time per call (ms)' } },
      yaxis: { title: { text: 'kernel' }, automargin: true },
      height: 120 + 30 * rows.length,
    },
  };
}

/** All charts of a validation CSV (in report order). */
export function validationFigures(rows: Row[], opts: { budgetGb?: number; budgetSeconds?: number } = {}): NamedFigure[] {
  const budgetGb = num(segRows(rows)[0]?.budget_gpu_gb) ?? opts.budgetGb ?? DEFAULT_BUDGETS.gpuGb;
  const budgetSeconds = num(segRows(rows)[0]?.budget_seconds) ?? opts.budgetSeconds ?? DEFAULT_BUDGETS.seconds;
  return [
    { title: 'time', figure: timeFigure(rows, opts.budgetSeconds ?? budgetSeconds) },
    { title: 'gpu', figure: gpuFigure(rows, opts.budgetGb ?? budgetGb) },
    ...reportMetrics().map((m) => ({ title: m.column, figure: metricFigure(rows, m) })),
  ];
}

/** A check column, what it compares, and how to print the comparison. */
interface CheckSpec {
  pass: string;
  label: string;
  unit: string;
  value: (r: Row) => number | undefined;
  limit: (r: Row, b: Budgets) => number;
  /** '<' for budgets stated as "under" (fail when >=), '<=' for quality limits (fail when >). */
  op: '<' | '<=';
  reasonColumn: string;
}

const CHECKS: CheckSpec[] = [
  { pass: 'pass_gpu', label: 'peak GPU memory', unit: 'GB', value: (r) => (num(r.gpu_mem_peak_mib) === undefined ? undefined : mibToGb(num(r.gpu_mem_peak_mib)!)), limit: (r, b) => num(r.budget_gpu_gb) ?? b.gpuGb, op: '<', reasonColumn: 'gpu_reason' },
  { pass: 'pass_time', label: 'wall time', unit: 's', value: (r) => num(r.wall_s), limit: (r, b) => num(r.budget_seconds) ?? b.seconds, op: '<', reasonColumn: 'error' },
  { pass: 'pass_flicker', label: 'E_warp ratio', unit: '', value: (r) => num(r.ewarp_ratio), limit: (_r, b) => b.maxEwarpRatio, op: '<=', reasonColumn: 'flicker_reason' },
  { pass: 'pass_stabilization', label: 'intentional motion error', unit: 'px', value: (r) => num(r.intentional_error_px), limit: (_r, b) => b.maxIntentionalErrorPx, op: '<=', reasonColumn: 'stab_reason' },
  { pass: 'pass_feet', label: 'skate ratio', unit: '', value: (r) => num(r.skate_ratio), limit: (_r, b) => b.maxSkateRatio, op: '<=', reasonColumn: 'feet_reason' },
];

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : Math.abs(v) >= 0.1 ? v.toFixed(2) : v.toPrecision(2));
const withUnit = (v: number, unit: string, exact = false) => `${exact ? String(v) : fmt(v)}${unit ? ` ${unit}` : ''}`;

/**
 * Why one check of a summary row came out as it did, read from its segment rows:
 * "fail: skate ratio 0.81 > 0.1 (segments 0, 2 of 3)", "n/a: no GPU ...".
 */
export function checkCell(summary: Row, segments: Row[], check: string, budgets: Budgets = DEFAULT_BUDGETS): string {
  const spec = CHECKS.find((c) => c.pass === check);
  const verdict = String(summary[check] ?? '');
  if (!spec) return verdict;
  if (verdict === 'fail') {
    const failing = segments.filter((r) => r[check] === 'fail');
    const worst = failing
      .map((r) => ({ r, v: spec.value(r) }))
      .filter((x): x is { r: Row; v: number } => x.v !== undefined)
      .sort((a, b) => b.v - a.v)[0];
    if (!worst) return 'fail';
    const bad = spec.op === '<' ? '≥' : '>';
    const which = failing.map((r) => String(r.segment)).join(', ');
    return `fail: ${spec.label} ${withUnit(worst.v, spec.unit)} ${bad} ${withUnit(spec.limit(worst.r, budgets), spec.unit, true)} (segment${failing.length > 1 ? 's' : ''} ${which} of ${segments.length})`;
  }
  if (verdict === 'pass') {
    const vals = segments.map(spec.value).filter((v): v is number => v !== undefined);
    return vals.length ? `pass: max ${withUnit(Math.max(...vals), spec.unit)} ${spec.op === '<' ? '<' : '≤'} ${withUnit(spec.limit(segments[0], budgets), spec.unit, true)}` : 'pass';
  }
  const why = [...new Set(segments.map((r) => String(r[spec.reasonColumn] ?? '')).filter(Boolean))].join('; ');
  return why ? `${verdict}: ${why}` : verdict;
}

const TABLE_COLUMNS = ['dataset', 'configuration', 'repeat', 'frames', 'wall_s'];
const CHECK_HEADERS: Record<string, string> = { pass_gpu: 'GPU memory', pass_time: 'time', pass_flicker: 'flicker', pass_stabilization: 'stabilization', pass_feet: 'feet' };

/** The summary rows as an HTML table; each check cell says the value and the limit it was judged against. */
export function summaryTable(rows: Row[], budgets: Budgets = DEFAULT_BUDGETS): string {
  const sums = rows.filter((r) => r.row_type === 'summary');
  const head = [...TABLE_COLUMNS.map((c) => (c === 'wall_s' ? 'wall time (s)' : c)), ...CHECKS.map((c) => CHECK_HEADERS[c.pass]), 'verdict', 'error']
    .map((c) => `<th>${escapeHtml(c)}</th>`)
    .join('');
  const body = sums
    .map((r) => {
      const segs = segRows(rows).filter((s) => s.dataset === r.dataset && s.configuration === r.configuration && String(s.repeat) === String(r.repeat));
      const plain = TABLE_COLUMNS.map((c) => `<td>${escapeHtml(c === 'wall_s' && num(r[c]) !== undefined ? fmt(num(r[c])!) : String(r[c] ?? ''))}</td>`);
      const checks = CHECKS.map((c) => `<td class="c-${escapeHtml(String(r[c.pass] ?? ''))}">${escapeHtml(checkCell(r, segs, c.pass, budgets))}</td>`);
      return `<tr class="v-${escapeHtml(String(r.verdict))}">${[...plain, ...checks, `<td>${escapeHtml(String(r.verdict ?? ''))}</td>`, `<td>${escapeHtml(String(r.error ?? ''))}</td>`].join('')}</tr>`;
    })
    .join('\n');
  return `<table class="summary"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A JSON object as a two-column table of dotted keys (arrays of scalars joined). */
export function environmentTable(env: unknown): string {
  const rows: [string, string][] = [];
  const walk = (v: unknown, key: string) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, key ? `${key}.${k}` : k);
    else if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) v.forEach((x, i) => walk(x, `${key}[${i}]`));
    else rows.push([key, Array.isArray(v) ? v.join(', ') : String(v)]);
  };
  walk(env, '');
  return `<table class="env">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

/** The self-contained HTML report. */
export function reportHtml(rows: Row[], opts: { title?: string; source?: string; environment?: unknown; kernels?: Row[] } = {}): string {
  const title = opts.title ?? 'reshoot validation report';
  const figures = validationFigures(rows);
  if (opts.kernels?.length) figures.push({ title: 'kernels', figure: kernelsFigure(opts.kernels) });
  const env = opts.environment ? `<h2>Environment</h2>${environmentTable(opts.environment)}` : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:1.5em}table.summary{border-collapse:collapse}table.summary td,table.summary th{border:1px solid #ccc;padding:2px 6px;font-size:13px}
td.c-fail{background:#fbb}td.c-pass{background:#dfd}td.c-n\\/a,td.c-incomplete{background:#ffe;color:#555}
table.env{border-collapse:collapse;font-size:13px}table.env th{text-align:left;padding:1px 8px;color:#444;font-weight:normal}table.env td{padding:1px 8px;font-family:monospace}</style>
${plotlyScriptTag()}
</head><body>
<h1>${escapeHtml(title)}</h1>
${opts.source ? `<p>From <code>${escapeHtml(opts.source)}</code>.</p>` : ''}
<h2>Summary per video and configuration</h2>
${summaryTable(rows)}
${figures.map((f) => `<h2>${escapeHtml(f.title)}</h2>\n${figureHtml(f.figure, `chart-${f.title}`)}`).join('\n')}
${env}
</body></html>
`;
}
