/**
 * Typed plotly figures for notebooks and the HTML report. Plotly.js 4 ignores a
 * plain-string `title`, so the types demand `{ text }` objects: a chart written
 * with `title: 'x (px)'` does not compile, and `checkFigure` catches what the
 * types cannot (an axis a trace draws on that has no title).
 */
import { ReshootError } from '../util/errors.js';

/** A title object; plotly.js 4 only reads `text` from it. */
export interface Title {
  text: string;
  font?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A visible axis: its title (with the unit, e.g. "x (px)") is required. */
export interface Axis {
  title: Title;
  visible?: true;
  [key: string]: unknown;
}

/** An axis deliberately hidden (an empty chart's placeholder): needs no title. */
export interface HiddenAxis {
  visible: false;
  title?: Title;
  [key: string]: unknown;
}

export type AnyAxis = Axis | HiddenAxis;

export interface Layout {
  title: Title;
  xaxis?: AnyAxis;
  yaxis?: AnyAxis;
  [axis: `xaxis${number}`]: AnyAxis;
  [axis: `yaxis${number}`]: AnyAxis;
  [key: string]: unknown;
}

export interface Trace {
  type?: string;
  /** The legend label: words a reader understands, not a column name. */
  name?: string;
  xaxis?: string;
  yaxis?: string;
  showlegend?: boolean;
  [key: string]: unknown;
}

export interface Figure {
  data: Trace[];
  layout: Layout;
  config?: Record<string, unknown>;
}

/** Trace types drawn without cartesian axes. */
const AXISLESS = new Set(['pie', 'table', 'indicator', 'sunburst', 'treemap', 'sankey', 'parcoords', 'scatterpolar', 'barpolar']);

/** Trace types plotly never lists in the legend (colour bars instead, or nothing). */
const NO_LEGEND = new Set(['image', 'heatmap', 'contour', 'surface', 'histogram2d']);

const axisKey = (ref: string | undefined, letter: 'x' | 'y'): string => {
  const r = ref ?? letter;
  return r === letter ? `${letter}axis` : `${letter}axis${r.slice(1)}`;
};

/**
 * What a reader would miss in this figure: no chart title, an axis that a trace
 * draws on without a title, a legend entry with no name or a snake_case name.
 * Empty when the figure is readable. Checked at run time too (layouts built from
 * `unknown` JSON bypass the types).
 */
export function checkFigure(figure: { data: unknown[]; layout?: Record<string, unknown> }): string[] {
  const problems: string[] = [];
  const layout = figure.layout ?? {};
  const text = (t: unknown) => (t && typeof t === 'object' && typeof (t as Title).text === 'string' ? (t as Title).text.trim() : '');
  if (!text(layout.title)) problems.push('the chart has no title ({ title: { text } })');
  const used = new Set<string>();
  const traces = figure.data as Trace[];
  for (const tr of traces) {
    if (AXISLESS.has(String(tr.type))) continue;
    used.add(axisKey(tr.xaxis, 'x'));
    used.add(axisKey(tr.yaxis, 'y'));
  }
  // An empty chart still shows its default axes unless they are hidden.
  if (traces.length === 0) used.add('xaxis').add('yaxis');
  for (const key of [...used].sort()) {
    const ax = layout[key] as Record<string, unknown> | undefined;
    if (ax?.visible === false) continue;
    if (!text(ax?.title)) problems.push(`${key} has no title ({ title: { text: 'name (unit)' } })`);
  }
  const inLegend = (t: Trace) => t.showlegend !== false && !NO_LEGEND.has(String(t.type));
  const legendShown = layout.showlegend !== false && traces.filter(inLegend).length > 1;
  if (legendShown) {
    for (const [i, tr] of traces.entries()) {
      if (!inLegend(tr)) continue;
      if (typeof tr.name !== 'string' || !tr.name.trim()) problems.push(`trace ${i} is in the legend with no name`);
      else if (/^[a-z0-9]+(_[a-z0-9]+)+$/.test(tr.name)) problems.push(`trace ${i} legend name "${tr.name}" is a column name, not words`);
    }
  }
  return problems;
}

/** Throws a one-line ReshootError naming what is missing, else returns the figure. */
export function assertReadable<F extends { data: unknown[]; layout?: Record<string, unknown> }>(figure: F): F {
  const problems = checkFigure(figure);
  if (problems.length) {
    const title = (figure.layout?.title as Title | undefined)?.text ?? '(untitled)';
    throw new ReshootError(`chart "${title}": ${problems.join('; ')}`);
  }
  return figure;
}

/**
 * A horizontal threshold (budget, limit, target) across the whole plot width on
 * one y axis, labelled at its right end. Returns a shape and an annotation to
 * spread into layout.shapes / layout.annotations.
 */
export function threshold(
  y: number,
  label: string,
  opts: { yaxis?: string; color?: string } = {},
): { shape: Record<string, unknown>; annotation: Record<string, unknown> } {
  const yref = opts.yaxis ?? 'y';
  const color = opts.color ?? '#c00';
  return {
    shape: { type: 'line', xref: 'paper', x0: 0, x1: 1, yref, y0: y, y1: y, line: { color, dash: 'dash', width: 1.5 } },
    annotation: { xref: 'paper', x: 1, xanchor: 'right', yref, y, yanchor: 'bottom', text: label, showarrow: false, font: { color, size: 11 } },
  };
}

/** One position of a sweep slider: its label and the traces shown there. */
export interface SweepStep {
  /** The slider tick: keep it short (the value), long ones overlap. */
  label: string;
  traces: Trace[];
  /** The chart title at this step (e.g. the value and its metric); the layout's title when absent. */
  heading?: string;
}

/**
 * A precomputed parameter sweep as one figure with a plotly slider: `fixed`
 * traces always show, each step's traces show only at that step (plotly
 * 'restyle' of `visible`), so dragging needs no kernel. Step 0 (or `active`)
 * is shown first.
 */
export function sweepFigure(opts: {
  layout: Layout;
  fixed?: Trace[];
  steps: SweepStep[];
  /** Slider caption, e.g. "smoothing σ = ". */
  prefix: string;
  active?: number;
}): Figure {
  if (opts.steps.length === 0) throw new ReshootError('sweepFigure: no steps');
  const fixed = opts.fixed ?? [];
  const active = opts.active ?? 0;
  const titled = opts.steps.some((s) => s.heading !== undefined);
  const data: Trace[] = [...fixed];
  const owner: number[] = fixed.map(() => -1);
  opts.steps.forEach((s, k) => {
    for (const t of s.traces) {
      data.push({ ...t, visible: k === active });
      owner.push(k);
    }
  });
  const sliders = [
    {
      active,
      currentvalue: { prefix: opts.prefix },
      pad: { t: 50 },
      steps: opts.steps.map((s, k) => {
        const visible = owner.map((o) => o === -1 || o === k);
        // 'update' also sets the title, so the metric of the step can be read above the chart.
        return titled
          ? { label: s.label, method: 'update', args: [{ visible }, { 'title.text': s.heading ?? opts.layout.title.text }] }
          : { label: s.label, method: 'restyle', args: ['visible', visible] };
      }),
    },
  ];
  const layout: Layout = { ...opts.layout, sliders };
  if (titled) layout.title = { ...opts.layout.title, text: opts.steps[active].heading ?? opts.layout.title.text };
  return { data, layout };
}
