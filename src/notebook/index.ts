/**
 * Helpers for tslab notebooks: plotly charts that render offline and frame
 * previews. Pure builders (figureHtml, plotlyScriptTag) are separate from the
 * calls that push to the notebook so they can be tested outside a kernel.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { Frame, GrayFrame } from '../video/types.js';
import { packageRoot } from '../util/paths.js';
import { assertReadable, type Figure } from './chart.js';
import { ReshootError } from '../util/errors.js';

import { videoHtml, type VideoClip, type VideoOptions } from './video.js';

export { checkFigure, assertReadable, threshold, sweepFigure, type SweepStep } from './chart.js';
export { videoHtml, sideBySideFrames, drawNumber, type VideoClip, type VideoOptions } from './video.js';
export type { Figure, Layout, Axis, HiddenAxis, AnyAxis, Title, Trace } from './chart.js';
export { VTEST_HELD_OUT, heldOutOverlap, refuseHeldOut } from './labels.js';
export { inputFlows, measureShared, type InputFlows, type SharedFlickerOptions } from './flicker.js';
export { parseAssignment, setParameter, withParameters, type NotebookJson } from './params.js';

/** The subset of tslab's display object we use; a test can pass its own. */
export interface NotebookDisplay {
  html(s: string): void;
  png(b: Uint8Array): void;
}

/** Kept for existing callers: the typed figure (title objects required). */
export type PlotlyFigure = Figure;

const requireFromRoot = (): NodeRequire => createRequire(join(packageRoot(), 'package.json'));

let plotlySource: string | undefined;

/** A <script> tag carrying plotly.js itself (about 4.7 MB), so charts need no network. */
export function plotlyScriptTag(): string {
  plotlySource ??= readFileSync(requireFromRoot().resolve('plotly.js-dist-min'), 'utf8');
  // Hide AMD loaders (classic Jupyter's require.js) so plotly registers window.Plotly.
  return `<script>(function(){var define=undefined;var module=undefined;var exports=undefined;\n${plotlySource}\n;window.Plotly=Plotly;})();</script>`;
}

/**
 * Where a notebook server rooted at the project serves plotly.js from. After a
 * browser reload the page has lost window.Plotly while the kernel still thinks
 * it inlined it, so each chart falls back to loading this file itself.
 */
export function plotlyServedPath(): string {
  return `node_modules/plotly.js-dist-min/${basename(requireFromRoot().resolve('plotly.js-dist-min'))}`;
}

/**
 * A chart as self-contained HTML. It draws with window.Plotly when present (the
 * inlined bundle: exported HTML, first run); otherwise it fetches plotly.js from
 * the notebook server's /files/ route and evaluates it with AMD hidden, as
 * plotlyScriptTag does. Throws a ReshootError for an unreadable figure (no title,
 * an axis without a title; see checkFigure).
 */
export function figureHtml(figure: Figure, id = `plot-${randomBytes(6).toString('hex')}`): string {
  assertReadable(figure);
  const layout: Record<string, unknown> = { margin: { t: 50, r: 20, b: 50, l: 60 }, ...figure.layout };
  const config = { responsive: true, displaylogo: false, ...figure.config };
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');
  const draw = `Plotly.newPlot(${json(id)}, ${json(figure.data)}, ${json(layout)}, ${json(config)});`;
  const src = json(plotlyServedPath());
  return (
    `<div id="${id}" class="reshoot-plot" style="width:100%;height:${Number(layout.height ?? 420)}px"></div>` +
    `<script>(function(){function draw(){${draw}}` +
    `if(window.Plotly){draw();return;}` +
    `var base=(document.body&&document.body.getAttribute('data-base-url'))||'/';` +
    // One fetch per page: every chart re-run after the reload waits on the same promise.
    `window.__reshootPlotly=window.__reshootPlotly||fetch(base+'files/'+${src}).then(function(r){if(!r.ok)throw new Error(r.status);return r.text();})` +
    `.then(function(t){if(!window.Plotly){new Function('define','module','exports',t+'\\n;window.Plotly=Plotly;')();}});` +
    `window.__reshootPlotly.then(draw)` +
    `.catch(function(e){var d=document.getElementById(${json(id)});if(d)d.textContent='plotly.js could not be loaded ('+e+'): run the notebook from the project root';});` +
    `})();</script>`
  );
}

let inlinedInKernel = false;

function tslabDisplay(): NotebookDisplay {
  return (requireFromRoot()('tslab') as { display: NotebookDisplay }).display;
}

/** Shows a plotly chart in the notebook; inlines plotly.js on first use in this kernel. */
export function showPlot(figure: Figure, display: NotebookDisplay = tslabDisplay()): void {
  if (!inlinedInKernel) {
    display.html(plotlyScriptTag());
    inlinedInKernel = true;
  }
  display.html(figureHtml(figure));
}

/** PNG bytes of an RGB or gray frame, optionally resized to a width (keeps aspect). */
export async function framePng(frame: Frame | GrayFrame, width?: number): Promise<Uint8Array> {
  const channels = frame.data.length === frame.width * frame.height ? 1 : 3;
  let img = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels } });
  if (width && width !== frame.width) img = img.resize({ width });
  // sharp writes sRGB unless told otherwise; keep gray frames single-channel.
  if (channels === 1) img = img.toColourspace('b-w');
  return new Uint8Array(await img.png().toBuffer());
}

/** Shows one frame as a PNG in the notebook. */
export async function showFrame(frame: Frame | GrayFrame, width?: number, display: NotebookDisplay = tslabDisplay()): Promise<void> {
  display.png(await framePng(frame, width));
}

/** Shows frames side by side (resized to a common height) as one PNG. */
export async function showFrames(frames: (Frame | GrayFrame)[], height = 180, display: NotebookDisplay = tslabDisplay()): Promise<void> {
  const tiles = await Promise.all(
    frames.map(async (f) => {
      const png = await framePng(f);
      const { data, info } = await sharp(png).resize({ height }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { data, width: info.width, channels: info.channels };
    }),
  );
  const gap = 4;
  const total = tiles.reduce((s, t) => s + t.width, 0) + gap * Math.max(0, tiles.length - 1);
  let left = 0;
  const composite = tiles.map((t) => {
    const c = { input: t.data, raw: { width: t.width, height, channels: t.channels as 1 | 3 }, left, top: 0 };
    left += t.width + gap;
    return c;
  });
  const png = await sharp({ create: { width: total, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composite)
    .png()
    .toBuffer();
  display.png(new Uint8Array(png));
}

/**
 * Plays short clips side by side (same frame count each): e.g.
 * showVideo([{ label: 'raw', frames: raw }, { label: 'stabilized', frames: out }], { fps: 10, firstIndex: 0 }).
 */
export async function showVideo(clips: VideoClip[], opts: VideoOptions = {}, display: NotebookDisplay = tslabDisplay()): Promise<void> {
  display.html(await videoHtml(clips, opts));
}

/**
 * |a - b| per pixel (largest channel difference) times `gain`, clipped to 255, as a gray frame: white where two
 * frames differ (plate minus truth, output minus input). Same size required.
 */
export function differenceFrame(a: Frame | GrayFrame, b: Frame | GrayFrame, gain = 4): GrayFrame {
  if (a.width !== b.width || a.height !== b.height) throw new ReshootError(`differenceFrame: sizes differ (${a.width}x${a.height} vs ${b.width}x${b.height})`);
  const n = a.width * a.height;
  const ca = a.data.length / n;
  const cb = b.data.length / n;
  if (ca !== cb) throw new ReshootError(`differenceFrame: channel counts differ (${ca} vs ${cb})`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let c = 0; c < ca; c++) d = Math.max(d, Math.abs(a.data[i * ca + c] - b.data[i * ca + c]));
    out[i] = Math.min(255, Math.round(d * gain));
  }
  return { width: a.width, height: a.height, data: out };
}

/**
 * A square crop centred on a box (a person's pose box), `margin` of the box's larger side added on each side,
 * clamped inside the frame (shifted, not shrunk, at the edges). For stills where the person is small.
 */
export function cropAround(frame: Frame, box: { x: number; y: number; width: number; height: number }, margin = 0.5): Frame {
  const side = Math.min(frame.width, frame.height, Math.max(8, Math.round(Math.max(box.width, box.height) * (1 + 2 * margin))));
  const x0 = Math.max(0, Math.min(frame.width - side, Math.round(box.x + box.width / 2 - side / 2)));
  const y0 = Math.max(0, Math.min(frame.height - side, Math.round(box.y + box.height / 2 - side / 2)));
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) data.set(frame.data.subarray(((y0 + y) * frame.width + x0) * 3, ((y0 + y) * frame.width + x0 + side) * 3), y * side * 3);
  return { width: side, height: side, data };
}
