/**
 * End-to-end invariants of the whole pipeline, measured from pixels of the
 * input and the output video (plus the subject's masks in input coordinates):
 *
 * - identity: whole-frame PSNR of output vs input (passthrough must be ~identity);
 * - scene kept: PSNR outside the subject's dilated region (other people and the
 *   background must come from the input);
 * - subject in place: IoU of the region the generator visibly changed with the
 *   input's subject mask (re-shake must put the generated subject back);
 * - edge copies: the share of output pixels that repeat a frame edge (the smear
 *   that warping with BORDER_REPLICATE leaves where nothing was covered).
 */
import type { Frame, GrayFrame } from '../video/types.js';

/** PSNR over the pixels where `where` is non-zero (all pixels when absent); Infinity when equal. */
export function psnrWhere(a: Frame, b: Frame, where?: Uint8Array): number {
  let se = 0;
  let n = 0;
  const pixels = a.width * a.height;
  for (let i = 0; i < pixels; i++) {
    if (where && !where[i]) continue;
    const j = i * 3;
    const d0 = a.data[j] - b.data[j];
    const d1 = a.data[j + 1] - b.data[j + 1];
    const d2 = a.data[j + 2] - b.data[j + 2];
    se += d0 * d0 + d1 * d1 + d2 * d2;
    n += 3;
  }
  if (n === 0) return Infinity;
  const mse = se / n;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Binary mask (1 = person) dilated by `radius` px with a square window (separable running max). */
export function dilateBinary(mask: GrayFrame, radius: number, threshold = 128): Uint8Array {
  const { width: W, height: H } = mask;
  const on = new Uint8Array(W * H);
  for (let i = 0; i < on.length; i++) on[i] = mask.data[i] >= threshold ? 1 : 0;
  if (radius <= 0) return on;
  const tmp = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    // Distance to the last "on" pixel scanning right, then left.
    let last = -Infinity;
    for (let x = 0; x < W; x++) {
      if (on[y * W + x]) last = x;
      if (x - last <= radius) tmp[y * W + x] = 1;
    }
    last = Infinity;
    for (let x = W - 1; x >= 0; x--) {
      if (on[y * W + x]) last = x;
      if (last - x <= radius) tmp[y * W + x] = 1;
    }
  }
  const out = new Uint8Array(W * H);
  for (let x = 0; x < W; x++) {
    let last = -Infinity;
    for (let y = 0; y < H; y++) {
      if (tmp[y * W + x]) last = y;
      if (y - last <= radius) out[y * W + x] = 1;
    }
    last = Infinity;
    for (let y = H - 1; y >= 0; y--) {
      if (tmp[y * W + x]) last = y;
      if (last - y <= radius) out[y * W + x] = 1;
    }
  }
  return out;
}

/** Pixels whose largest channel difference exceeds `threshold` levels. */
export function changedRegion(a: Frame, b: Frame, threshold = 24): Uint8Array {
  const n = a.width * a.height;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const d = Math.max(Math.abs(a.data[j] - b.data[j]), Math.abs(a.data[j + 1] - b.data[j + 1]), Math.abs(a.data[j + 2] - b.data[j + 2]));
    if (d > threshold) out[i] = 1;
  }
  return out;
}

/**
 * Pixels the output pulled towards `tint` by at least `amount` of the way:
 * w = <out - in, tint - in> / |tint - in|^2 (the least-squares share of the
 * tint). A tinting stand-in generator (generate/recolor.ts) moves a pixel
 * by 0.75 x alpha / 255, so amount 0.375 marks alpha >= 128, the same cut as
 * a mask binarised at 128; codec and resampling noise point in random
 * directions and project to small w. Pixels already within 40 levels of the
 * tint cannot show it and are left out.
 */
export function tintedRegion(input: Frame, output: Frame, tint: readonly [number, number, number], amount = 0.375): Uint8Array {
  const n = input.width * input.height;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const t0 = tint[0] - input.data[j], t1 = tint[1] - input.data[j + 1], t2 = tint[2] - input.data[j + 2];
    const tt = t0 * t0 + t1 * t1 + t2 * t2;
    if (tt < 40 * 40) continue;
    const w = ((output.data[j] - input.data[j]) * t0 + (output.data[j + 1] - input.data[j + 1]) * t1 + (output.data[j + 2] - input.data[j + 2]) * t2) / tt;
    if (w >= amount) out[i] = 1;
  }
  return out;
}

export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * Share of the frame's pixels that copy an edge: walking inward from each side
 * along rows (left/right) and columns (top/bottom), a run of at least
 * `minRun` output pixels that stay within `flat` levels of the border pixel,
 * where the INPUT over the same run varies by more than `varies` levels, is a
 * replicated edge; of its pixels, those where the output differs from the input
 * by more than `varies` levels count (so codec noise on a correct output does not),
 * except pixels set in `exclude` (e.g. a subject a stand-in painted flat on purpose). A region that is flat in the input too (sky, a wall) does
 * not count, so a correct output scores ~0 and a smeared border scores its
 * area.
 */
export function edgeCopyFraction(output: Frame, input: Frame, opts: { minRun?: number; flat?: number; varies?: number; maxDepth?: number; exclude?: Uint8Array } = {}): number {
  const { width: W, height: H } = output;
  const minRun = opts.minRun ?? 3;
  const flat = opts.flat ?? 3;
  const varies = opts.varies ?? 8;
  const maxDepth = opts.maxDepth ?? Math.round(0.25 * Math.min(W, H));
  const o = output.data;
  const inp = input.data;
  const copied = new Uint8Array(W * H);
  const near = (d: Uint8Array, p: number, q: number, tol: number) =>
    Math.abs(d[p] - d[q]) <= tol && Math.abs(d[p + 1] - d[q + 1]) <= tol && Math.abs(d[p + 2] - d[q + 2]) <= tol;
  const nearAcross = (p: number, tol: number) => Math.abs(o[p] - inp[p]) <= tol && Math.abs(o[p + 1] - inp[p + 1]) <= tol && Math.abs(o[p + 2] - inp[p + 2]) <= tol;
  const scan = (start: number, step: number, length: number) => {
    const first = start * 3;
    let r = 1;
    let inputVaries = false;
    while (r < Math.min(length, maxDepth)) {
      const p = (start + r * step) * 3;
      if (!near(o, first, p, flat)) break;
      if (!near(inp, first, p, varies)) inputVaries = true;
      r++;
    }
    // Only run pixels where the output also differs from the input count: an output that matches its
    // input (up to codec noise) copies nothing, however flat its border is.
    if (r >= minRun && inputVaries) {
      for (let k = 0; k < r; k++) {
        const p = (start + k * step) * 3;
        if (!nearAcross(p, varies) && !opts.exclude?.[start + k * step]) copied[start + k * step] = 1;
      }
    }
  };
  for (let y = 0; y < H; y++) {
    scan(y * W, 1, W); // from the left
    scan(y * W + W - 1, -1, W); // from the right
  }
  for (let x = 0; x < W; x++) {
    scan(x, W, H); // from the top
    scan((H - 1) * W + x, -W, H); // from the bottom
  }
  let n = 0;
  for (let i = 0; i < copied.length; i++) n += copied[i];
  return n / (W * H);
}
