/**
 * Charts of a validation CSV (shared by the HTML report and notebook 07) and
 * the self-contained HTML report: plotly.js is inlined once, so the file
 * renders with no network.
 */
import { figureHtml, plotlyScriptTag, type PlotlyFigure } from '../notebook/index.js';
import { DEFAULT_BUDGETS, mibToGb } from './budgets.js';

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

/** Budget line across a categorical x axis. */
function budgetLine(y: number, label: string) {
  return { type: 'line', xref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: { color: 'red', dash: 'dash', width: 2 }, name: label };
}

/** Per-segment wall time by configuration against the time budget. */
export function timeFigure(rows: Row[], budgetSeconds = DEFAULT_BUDGETS.seconds): PlotlyFigure {
  const segs = segRows(rows);
  const title = `Wall time per segment vs the ${budgetSeconds} s budget`;
  if (!segs.some((r) => num(r.wall_s) !== undefined)) return emptyFigure(title, `no timings: ${reasons(segs, 'error')}`);
  return {
    data: configsOf(segs).map((c) => {
      const rs = segs.filter((r) => r.configuration === c);
      return { type: 'bar', name: c, x: rs.map(segLabel), y: rs.map((r) => num(r.wall_s) ?? null) };
    }),
    layout: {
      title: { text: title },
      barmode: 'group',
      yaxis: { title: { text: 's' }, rangemode: 'tozero', range: [0, Math.max(budgetSeconds * 1.1, ...segs.map((r) => num(r.wall_s) ?? 0))] },
      shapes: [budgetLine(budgetSeconds, 'budget')],
    },
  };
}

/** Per-segment GPU memory peak against the GPU budget; says "no GPU: reason" when not measured. */
export function gpuFigure(rows: Row[], budgetGb = DEFAULT_BUDGETS.gpuGb): PlotlyFigure {
  const segs = segRows(rows);
  const title = `Peak GPU memory per segment vs the ${budgetGb} GB budget`;
  if (!segs.some((r) => num(r.gpu_mem_peak_mib) !== undefined)) return emptyFigure(title, `no GPU: ${reasons(segs, 'gpu_reason')}`);
  const data: unknown[] = [];
  for (const c of configsOf(segs)) {
    const rs = segs.filter((r) => r.configuration === c);
    data.push({ type: 'bar', name: `${c} device`, x: rs.map(segLabel), y: rs.map((r) => (num(r.gpu_mem_peak_mib) === undefined ? null : mibToGb(num(r.gpu_mem_peak_mib)!))) });
    data.push({ type: 'scatter', mode: 'markers', name: `${c} process tree`, x: rs.map(segLabel), y: rs.map((r) => (num(r.gpu_proc_peak_mib) === undefined ? null : mibToGb(num(r.gpu_proc_peak_mib)!))) });
  }
  return { data, layout: { title: { text: title }, barmode: 'group', yaxis: { title: { text: 'GB (10^9 bytes)' }, rangemode: 'tozero' }, shapes: [budgetLine(budgetGb, 'budget')] } };
}

/** Grouped bars of some metric columns, per configuration (mean over segments). */
function metricsByConfig(rows: Row[], title: string, columns: string[], reasonColumn: string): PlotlyFigure {
  const segs = segRows(rows);
  const present = columns.filter((col) => segs.some((r) => num(r[col]) !== undefined));
  if (!present.length) return emptyFigure(title, `not measured: ${reasons(segs, reasonColumn)}`);
  const configs = configsOf(segs);
  return {
    data: present.map((col) => ({
      type: 'bar',
      name: col,
      x: configs,
      y: configs.map((c) => {
        const v = segs.filter((r) => r.configuration === c).map((r) => num(r[col])).filter((x): x is number => x !== undefined);
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
      }),
    })),
    layout: { title: { text: `${title} (mean over segments)` }, barmode: 'group' },
  };
}

export const flickerFigure = (rows: Row[]) => metricsByConfig(rows, 'Flicker per configuration', ['ewarp_ratio', 'tof', 'seam_score'], 'flicker_reason');
export const feetFigure = (rows: Row[]) => metricsByConfig(rows, 'Foot contacts per configuration', ['skate_ratio', 'slide_p95_px', 'max_jump_px'], 'feet_reason');
export const stabilizationFigure = (rows: Row[]) =>
  metricsByConfig(rows, 'Stabilization per configuration', ['jitter_px', 'intentional_error_px', 'residual_shake_px'], 'stab_reason');

/** Kernel micro-benchmark chart from a kernels CSV (kernel, mean_ms). */
export function kernelsFigure(rows: Row[]): PlotlyFigure {
  if (!rows.length) return emptyFigure('Kernels', 'no kernels CSV');
  return {
    data: [{ type: 'bar', orientation: 'h', x: rows.map((r) => num(r.mean_ms) ?? null), y: rows.map((r) => String(r.kernel)), error_x: { type: 'data', array: rows.map((r) => num(r.sd_ms) ?? 0) } }],
    layout: { title: { text: 'Kernel micro-benchmarks (mean ms per call)' }, margin: { l: 220 }, height: 120 + 30 * rows.length },
  };
}

/** All charts of a validation CSV (in report order). */
export function validationFigures(rows: Row[], opts: { budgetGb?: number; budgetSeconds?: number } = {}): NamedFigure[] {
  const budgetGb = num(segRows(rows)[0]?.budget_gpu_gb) ?? opts.budgetGb ?? DEFAULT_BUDGETS.gpuGb;
  const budgetSeconds = num(segRows(rows)[0]?.budget_seconds) ?? opts.budgetSeconds ?? DEFAULT_BUDGETS.seconds;
  return [
    { title: 'time', figure: timeFigure(rows, opts.budgetSeconds ?? budgetSeconds) },
    { title: 'gpu', figure: gpuFigure(rows, opts.budgetGb ?? budgetGb) },
    { title: 'stabilization', figure: stabilizationFigure(rows) },
    { title: 'flicker', figure: flickerFigure(rows) },
    { title: 'feet', figure: feetFigure(rows) },
  ];
}

const TABLE_COLUMNS = ['dataset', 'configuration', 'repeat', 'frames', 'wall_s', 'gpu_mem_peak_mib', 'pass_gpu', 'pass_time', 'pass_flicker', 'pass_stabilization', 'pass_feet', 'verdict', 'error'];

/** The summary rows as an HTML table. */
export function summaryTable(rows: Row[]): string {
  const sums = rows.filter((r) => r.row_type === 'summary');
  const head = TABLE_COLUMNS.map((c) => `<th>${c}</th>`).join('');
  const body = sums
    .map((r) => `<tr class="v-${escapeHtml(String(r.verdict))}">${TABLE_COLUMNS.map((c) => `<td>${escapeHtml(String(r[c] ?? ''))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table class="summary"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The self-contained HTML report. */
export function reportHtml(rows: Row[], opts: { title?: string; source?: string; environment?: unknown; kernels?: Row[] } = {}): string {
  const title = opts.title ?? 'reshoot validation report';
  const figures = validationFigures(rows);
  if (opts.kernels?.length) figures.push({ title: 'kernels', figure: kernelsFigure(opts.kernels) });
  const env = opts.environment ? `<h2>Environment</h2><pre>${escapeHtml(JSON.stringify(opts.environment, null, 2))}</pre>` : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:1.5em}table.summary{border-collapse:collapse}table.summary td,table.summary th{border:1px solid #ccc;padding:2px 6px;font-size:13px}
tr.v-fail{background:#fdd}tr.v-pass{background:#dfd}tr.v-incomplete{background:#ffd}pre{font-size:12px;background:#f6f6f6;padding:8px}</style>
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
