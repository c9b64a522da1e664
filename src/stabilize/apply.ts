/**
 * The one place that turns transforms.json into warps. Every consumer (the
 * stabilize and reshake commands, the pipeline, the background plate, the
 * benchmarks) asks here where frame t goes, instead of re-deriving "frame t
 * uses correction t, zoom 1 for fill, else a number or a per-frame array".
 *
 * Two geometries of the stabilized frame:
 *
 * - crop (default; `reshoot stabilize`): source size, G_t = Z(z_t) ∘ C_t
 *   (the zoom crops the border away).
 * - canvas (the pipeline): a canvas larger than the frame, zoom 1, nothing
 *   cropped: G_t = T(offsetX, offsetY) ∘ C_t. The canvas is the union bounding
 *   box of C_t(frame) over all t (see canvasGeometry). Re-shake maps the
 *   canvas back with the exact inverse, so the re-shaken frame only ever reads
 *   canvas pixels that came from the source frame (edgeCopyFraction 0 unless
 *   the canvas was clipped).
 *
 * Frames with a homography correction (motionModel 'homography' / 'auto':
 * `frames[t].homography`, 3x3) are warped exactly with it by every call here
 * (warpAtExact, stabilizeFrame, reshakeFrameAt, mapPoint, edgeCopyFraction,
 * canvasGeometry); `warpAt`, whose callers expect a 2x3 matrix, refuses them
 * with a clear error instead of returning the similarity part.
 */
import { loadOpenCV } from '../cv/opencv.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { compose, frameCentre, scaleAbout, translation, type Mat2x3 } from '../geometry/index.js';
import { applyAny, invertAny, rectCoverage, warpFrameSync, type FillMode } from './correction.js';
import { compose3, toMat3, type Mat3x3 } from '../geometry/homography.js';
import type { TransformsData } from './transforms-file.js';

export type StabilizedGeometry =
  | { mode: 'crop' }
  | { mode: 'canvas'; width: number; height: number; offsetX: number; offsetY: number };

export type CanvasGeometry = Extract<StabilizedGeometry, { mode: 'canvas' }>;

export const CROP: StabilizedGeometry = Object.freeze({ mode: 'crop' });

/** The zoom of frame t: 1 for the 'fill' border policy, else the clip's zoom or frame t's. */
export function zoomOf(t: TransformsData, frame: number): number {
  if (t.crop.border === 'fill') return 1;
  return typeof t.crop.zoom === 'number' ? t.crop.zoom : t.crop.zoom[frame];
}

function frameAt(t: TransformsData, frame: number) {
  const f = t.frames[frame];
  if (!Number.isInteger(frame) || !f) throw new ReshootError(`frame ${frame} is outside the transforms (0..${t.frames.length - 1})`);
  return f;
}

/**
 * The canvas holding every stabilized frame whole: the union bounding box of
 * C_t([0, W-1] x [0, H-1]) over all t and the frame itself, each margin capped
 * at `maxMargin` (default 0.25) of the frame side (`clipped` when a cap bit),
 * rounded out to whole pixels, width and height made even (yuv420p).
 */
export function canvasGeometry(t: TransformsData, opts: { maxMargin?: number } = {}): CanvasGeometry & { clipped: boolean } {
  const maxMargin = opts.maxMargin ?? 0.25;
  if (!(maxMargin >= 0 && Number.isFinite(maxMargin))) throw new ReshootError(`canvas maxMargin must be a number >= 0, got ${maxMargin}`);
  const { width: W, height: H } = t.source;
  let x0 = 0, y0 = 0, x1 = W - 1, y1 = H - 1;
  for (const f of t.frames) {
    for (const [x, y] of [[0, 0], [W - 1, 0], [0, H - 1], [W - 1, H - 1]]) {
      const [u, v] = applyAny(f.homography ?? f.correction, x, y);
      x0 = Math.min(x0, u); x1 = Math.max(x1, u); y0 = Math.min(y0, v); y1 = Math.max(y1, v);
    }
  }
  const capX = Math.floor(maxMargin * W), capY = Math.floor(maxMargin * H);
  // 1e-9: a correction that is exactly identity must not grow the canvas by rounding.
  const need = (v: number) => Math.max(0, Math.ceil(v - 1e-9));
  const want = [need(-x0), need(x1 - (W - 1)), need(-y0), need(y1 - (H - 1))];
  const [left, right, top, bottom] = want.map((m, i) => Math.min(m, i < 2 ? capX : capY));
  const clipped = want[0] > left || want[1] > right || want[2] > top || want[3] > bottom;
  const width = W + left + right + ((W + left + right) % 2);
  const height = H + top + bottom + ((H + top + bottom) % 2);
  return { mode: 'canvas', width, height, offsetX: left, offsetY: top, clipped };
}

function checkGeometry(g: StabilizedGeometry): void {
  if (g.mode === 'crop') return;
  if (g.mode !== 'canvas') throw new ReshootError(`stabilized geometry mode must be 'crop' or 'canvas', got '${String((g as { mode: unknown }).mode)}'`);
  if (!(Number.isInteger(g.width) && g.width > 0 && Number.isInteger(g.height) && g.height > 0 && Number.isFinite(g.offsetX) && Number.isFinite(g.offsetY))) {
    throw new ReshootError(`canvas geometry needs whole positive width/height and finite offsets, got ${g.width}x${g.height} at (${g.offsetX}, ${g.offsetY})`);
  }
}

/**
 * Where frame t goes: source px -> stabilized px (2x3), and the stabilized
 * frame's size. Throws for a frame with a homography correction (use warpAtExact).
 */
export function warpAt(t: TransformsData, frame: number, g: StabilizedGeometry = CROP): { matrix: Mat2x3; width: number; height: number } {
  checkGeometry(g);
  const f = frameAt(t, frame);
  if (f.homography) {
    throw new ReshootError(`frame ${frame} of the transforms has a homography correction (motionModel '${String((t.params.motion as { motionModel?: string } | undefined)?.motionModel ?? 'homography')}'); this step handles 2x3 warps only: stabilize with motionModel 'similarity'`);
  }
  const c = f.correction;
  const { width: W, height: H } = t.source;
  if (g.mode === 'canvas') return { matrix: compose(translation(g.offsetX, g.offsetY), c), width: g.width, height: g.height };
  const [cx, cy] = frameCentre(W, H);
  return { matrix: compose(scaleAbout(zoomOf(t, frame), cx, cy), c), width: W, height: H };
}

/**
 * Where frame t goes, exactly: a 2x3 matrix, or a 3x3 homography on frames
 * with a homography correction (G_t = Z(z_t) ∘ C'_t, or T(offset) ∘ C'_t).
 */
export function warpAtExact(t: TransformsData, frame: number, g: StabilizedGeometry = CROP): { matrix: Mat2x3 | Mat3x3; width: number; height: number } {
  checkGeometry(g);
  const h = frameAt(t, frame).homography;
  if (!h) return warpAt(t, frame, g);
  const { width: W, height: H } = t.source;
  if (g.mode === 'canvas') return { matrix: compose3(toMat3(translation(g.offsetX, g.offsetY)), h), width: g.width, height: g.height };
  const [cx, cy] = frameCentre(W, H);
  return { matrix: compose3(toMat3(scaleAbout(zoomOf(t, frame), cx, cy)), h), width: W, height: H };
}

/** A source point of frame t in stabilized px (exact for homography corrections too). */
export function mapPoint(t: TransformsData, frame: number, g: StabilizedGeometry, x: number, y: number): [number, number] {
  return applyAny(warpAtExact(t, frame, g).matrix, x, y);
}

function checkSize(f: Frame | GrayFrame, w: number, h: number, what: string): void {
  if (f.width !== w || f.height !== h) throw new ReshootError(`${what} is ${f.width}x${f.height}, expected ${w}x${h}`);
  const n = f.data.length;
  if (n !== w * h && n !== w * h * 3) throw new ReshootError(`${what} has ${n} bytes, expected ${w}x${h} gray or RGB`);
}

/** Uncovered pixels: black with the 'fill' policy in crop mode (visible by design), else the border repeated. */
function fillOf(t: TransformsData, g: StabilizedGeometry): FillMode {
  return g.mode === 'crop' && t.crop.border === 'fill' ? 'black' : 'replicate';
}

/** Frame t (RGB or gray, source size) -> its stabilized frame (bilinear). */
export async function stabilizeFrame<F extends Frame | GrayFrame>(f: F, t: TransformsData, frame: number, g: StabilizedGeometry = CROP): Promise<F> {
  const { matrix, width, height } = warpAtExact(t, frame, g);
  checkSize(f, t.source.width, t.source.height, `frame ${frame}`);
  return warpFrameSync(await loadOpenCV(), f as Frame, matrix, fillOf(t, g), { width, height }) as F;
}

/**
 * Re-shake: a stabilized frame t (RGB or gray, the geometry's size) -> source
 * size and position, with the exact inverse of warpAt (bilinear; anything
 * outside the stabilized frame repeats its border).
 */
export async function reshakeFrameAt<F extends Frame | GrayFrame>(f: F, t: TransformsData, frame: number, g: StabilizedGeometry = CROP): Promise<F> {
  const { matrix, width, height } = warpAtExact(t, frame, g);
  checkSize(f, width, height, `stabilized frame ${frame}`);
  return warpFrameSync(await loadOpenCV(), f as Frame, invertAny(matrix), 'replicate', { width: t.source.width, height: t.source.height }) as F;
}

export interface FrameStreamOptions {
  geometry?: StabilizedGeometry;
  /** Transforms index of the stream's first frame (default 0). */
  start?: number;
}

/** stabilizeFrame over a stream; stops at the end of the transforms. */
export async function* stabilizeFrames<F extends Frame | GrayFrame>(s: AsyncIterable<F>, t: TransformsData, o: FrameStreamOptions = {}): AsyncGenerator<F> {
  let i = o.start ?? 0;
  for await (const f of s) {
    if (i >= t.frames.length) break;
    yield await stabilizeFrame(f, t, i++, o.geometry);
  }
}

/** reshakeFrameAt over a stream; stops at the end of the transforms. */
export async function* reshakeFrames<F extends Frame | GrayFrame>(s: AsyncIterable<F>, t: TransformsData, o: FrameStreamOptions = {}): AsyncGenerator<F> {
  let i = o.start ?? 0;
  for await (const f of s) {
    if (i >= t.frames.length) break;
    yield await reshakeFrameAt(f, t, i++, o.geometry);
  }
}

/**
 * Share of the re-shaken frame t (source size, pixel-centre rectangle) whose
 * sample lies outside the stabilized frame, where re-shake can only repeat the
 * stabilized frame's border: area(source ∩ G_t^-1(stabilized)) / area(source)
 * subtracted from 1, by exact polygon clipping. 0 in canvas mode unless the
 * canvas was clipped; in crop mode the cropped-away border comes back as edge copies.
 */
export function edgeCopyFraction(t: TransformsData, frame: number, g: StabilizedGeometry): number {
  const { matrix, width, height } = warpAtExact(t, frame, g);
  return Math.max(0, 1 - rectCoverage(invertAny(matrix), width, height, t.source.width, t.source.height));
}
