/**
 * Flow visualisation with the Middlebury colour code (Baker, Scharstein, Lewis,
 * Roth, Black, Szeliski: "A Database and Evaluation Methodology for Optical
 * Flow", IJCV 2011), a faithful port of `makecolorwheel` / `computeColor` /
 * `flowToColor` from the benchmark's C++ code (colorcode.cpp, flowToColor.cpp),
 * plus the legend (colortest.cpp) and simple statistics. Pure JS: no OpenCV.
 *
 * Conventions (same as Middlebury and OpenCV's calcOpticalFlowFarneback):
 * image coordinates, x to the right, y DOWN. A flow vector (dx, dy) at pixel
 * (x, y) of prev says the content there is seen at (x + dx, y + dy) in next.
 * Colours (hue = direction, saturation = magnitude):
 *   right (+x) red, down (+y) orange-yellow, left (-x) cyan-blue,
 *   up (-y) violet-blue; white = no motion; |flow| / maxMagnitude > 1 is drawn
 *   at 75 % brightness (the Middlebury "out of range" cue).
 */
import type { Frame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';

/** A dense flow field: data holds (dx, dy) per pixel, interleaved, row-major; data.length === width * height * 2. */
export interface FlowField {
  width: number;
  height: number;
  data: Float32Array;
}

/** Summary of a flow field (pixels; unknown / non-finite vectors are skipped). */
export interface FlowStats {
  meanMagnitude: number;
  maxMagnitude: number;
  meanDx: number;
  meanDy: number;
}

/** Middlebury's UNKNOWN_FLOW_THRESH: components above this (or non-finite) mark unknown flow (drawn black). */
export const UNKNOWN_FLOW_THRESH = 1e9;

/** Segment lengths of the Middlebury wheel: red-yellow, yellow-green, green-cyan, cyan-blue, blue-magenta, magenta-red. */
export const MIDDLEBURY_SEGMENTS = { RY: 15, YG: 6, GC: 4, CB: 11, BM: 13, MR: 6 } as const;

let wheel: Uint8Array[] | undefined;

function wheelColors(): Uint8Array[] {
  if (!wheel) middleburyColorWheel();
  return wheel!;
}

/**
 * The 55-colour Middlebury wheel as [r, g, b] rows (0-255), index 0 = red.
 * Integer arithmetic as in the C++ (255 * i / N truncated).
 */
export function middleburyColorWheel(): Uint8Array[] {
  if (wheel) return wheel.map((c) => c.slice());
  const { RY, YG, GC, CB, BM, MR } = MIDDLEBURY_SEGMENTS;
  const cols: Uint8Array[] = [];
  const set = (r: number, g: number, b: number) => cols.push(Uint8Array.of(r, g, b));
  const t = (i: number, n: number) => Math.floor((255 * i) / n);
  for (let i = 0; i < RY; i++) set(255, t(i, RY), 0);
  for (let i = 0; i < YG; i++) set(255 - t(i, YG), 255, 0);
  for (let i = 0; i < GC; i++) set(0, 255, t(i, GC));
  for (let i = 0; i < CB; i++) set(0, 255 - t(i, CB), 255);
  for (let i = 0; i < BM; i++) set(t(i, BM), 0, 255);
  for (let i = 0; i < MR; i++) set(255, 0, 255 - t(i, MR));
  wheel = cols;
  return cols.map((c) => c.slice());
}

function isUnknown(fx: number, fy: number): boolean {
  return !Number.isFinite(fx) || !Number.isFinite(fy) || Math.abs(fx) > UNKNOWN_FLOW_THRESH || Math.abs(fy) > UNKNOWN_FLOW_THRESH;
}

/**
 * Middlebury computeColor for a flow vector already divided by the maximum
 * magnitude; writes r, g, b at out[o..o+2]. Angle a = atan2(-fy, -fx) / pi in
 * [-1, 1] indexes the wheel linearly ((a + 1) / 2 * (ncols - 1)), neighbouring
 * entries are blended; radius <= 1 desaturates towards white
 * (col = 1 - rad * (1 - col)), radius > 1 darkens (col *= 0.75).
 */
export function computeColor(fx: number, fy: number, out: Uint8Array, o = 0): void {
  const cols = wheelColors();
  const ncols = cols.length;
  const rad = Math.sqrt(fx * fx + fy * fy);
  const a = Math.atan2(-fy, -fx) / Math.PI;
  const fk = ((a + 1) / 2) * (ncols - 1);
  const k0 = Math.floor(fk);
  const k1 = (k0 + 1) % ncols;
  const f = fk - k0;
  for (let b = 0; b < 3; b++) {
    const col0 = cols[k0][b] / 255;
    const col1 = cols[k1][b] / 255;
    let col = (1 - f) * col0 + f * col1;
    if (rad <= 1) col = 1 - rad * (1 - col);
    else col *= 0.75;
    out[o + b] = Math.floor(255 * col);
  }
}

/**
 * RGB visualisation of a flow field (Middlebury flowToColor). Vectors are
 * divided by `maxMagnitude` (default: the largest magnitude in the field; 1 if
 * the field is all zero) so the longest vector is fully saturated. Unknown
 * vectors (non-finite or > 1e9) are black.
 */
export function flowToColor(flow: FlowField, maxMagnitude?: number): Frame {
  checkFlow(flow);
  const n = flow.width * flow.height;
  const d = flow.data;
  let maxrad = -1;
  if (maxMagnitude !== undefined && maxMagnitude > 0) maxrad = maxMagnitude;
  else {
    for (let i = 0; i < n; i++) {
      const fx = d[2 * i], fy = d[2 * i + 1];
      if (isUnknown(fx, fy)) continue;
      maxrad = Math.max(maxrad, Math.sqrt(fx * fx + fy * fy));
    }
  }
  if (!(maxrad > 0)) maxrad = 1;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const fx = d[2 * i], fy = d[2 * i + 1];
    if (isUnknown(fx, fy)) continue; // black (already 0)
    computeColor(fx / maxrad, fy / maxrad, out, 3 * i);
  }
  return { width: flow.width, height: flow.height, data: out };
}

/**
 * The colour-wheel legend (after Middlebury's colortest): pixel (x, y) shows
 * the colour of the flow vector ((x - c) / R, (y - c) / R) with c = (size - 1) / 2
 * and R = size / 2, i.e. the centre is zero motion (white), the inscribed disc
 * is |flow| <= maxMagnitude, and the corners (beyond it) are darkened.
 * Read it as: the direction from the centre to a colour is the direction of
 * motion (y down), the distance from the centre its relative magnitude.
 */
export function flowColorWheel(size = 151): Frame {
  if (!(Number.isInteger(size) && size > 0)) throw new ReshootError(`flowColorWheel size must be a positive integer, got ${size}`);
  const out = new Uint8Array(size * size * 3);
  const c = (size - 1) / 2;
  const r = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) computeColor((x - c) / r, (y - c) / r, out, 3 * (y * size + x));
  }
  return { width: size, height: size, data: out };
}

/** Mean and max magnitude and mean components of a flow field (pixels). Unknown vectors are skipped; all-unknown gives zeros. */
export function flowStats(flow: FlowField): FlowStats {
  checkFlow(flow);
  const n = flow.width * flow.height;
  const d = flow.data;
  let sumMag = 0, maxMag = 0, sx = 0, sy = 0, count = 0;
  for (let i = 0; i < n; i++) {
    const fx = d[2 * i], fy = d[2 * i + 1];
    if (isUnknown(fx, fy)) continue;
    const m = Math.sqrt(fx * fx + fy * fy);
    sumMag += m;
    if (m > maxMag) maxMag = m;
    sx += fx;
    sy += fy;
    count++;
  }
  if (count === 0) return { meanMagnitude: 0, maxMagnitude: 0, meanDx: 0, meanDy: 0 };
  return { meanMagnitude: sumMag / count, maxMagnitude: maxMag, meanDx: sx / count, meanDy: sy / count };
}

/** Throws unless flow.data holds exactly width * height (dx, dy) pairs. */
export function checkFlow(flow: FlowField): void {
  if (!(flow.width > 0 && flow.height > 0) || flow.data.length !== flow.width * flow.height * 2) {
    throw new ReshootError(`flow field data has ${flow.data.length} values, expected ${flow.width}x${flow.height}x2 = ${flow.width * flow.height * 2}`);
  }
}
