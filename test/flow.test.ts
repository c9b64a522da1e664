import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { loadOpenCV } from '../src/cv/opencv.js';
import {
  denseFlow,
  sparseTracks,
  warpByFlow,
  flowToColor,
  flowColorWheel,
  flowStats,
  rgbToGray,
  rgbToLuma,
  nonOcclusionMask,
  type FlowField,
} from '../src/flow/index.js';
import type { Frame, GrayFrame } from '../src/video/types.js';
import { mediaFile } from './helpers.js';

// Ground truth with an exact sub-pixel translation of a real textured image (building.jpg, gray):
// blur the full image (Gaussian, sigma 4 px: anti-aliasing), cut two windows whose origins differ by
// an integer offset (4*dx, 4*dy) px, and reduce each by 4x4 block averaging (done here by hand).
// Both small images are then samples of the same box-filtered image on grids offset by exactly
// (dx, dy): no interpolation (cv.warpAffine's bilinear resampling would bias the truth by ~0.02 px).
// next(X) = prev(X - T): content moves by T, and prev(X) = next(X + T), i.e. the flow is T everywhere.
const F = 4;
const W = 212, H = 146; // from 848x584 px of the 868x600 image
const MARGIN = 16; // interior: away from the border, where Farneback / LK see replicated pixels
const T = { dx: 2.5, dy: -1.25 };

let fullPromise: Promise<GrayFrame> | undefined;
function fullImage(): Promise<GrayFrame> {
  fullPromise ??= (async () => {
    const { data, info } = await sharp(mediaFile('building.jpg')).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 1);
    const cv = await loadOpenCV();
    const src = new cv.Mat(info.height, info.width, cv.CV_8UC1);
    const dst = new cv.Mat();
    try {
      (src.data as Uint8Array).set(data);
      cv.GaussianBlur(src, dst, new cv.Size(0, 0), 4, 4, cv.BORDER_REFLECT);
      return { width: info.width, height: info.height, data: new Uint8Array(dst.data as Uint8Array) };
    } finally {
      src.delete(); dst.delete();
    }
  })();
  return fullPromise;
}

/** 4x4 block average of the window whose top-left full-size pixel is (left, top). */
function shrink(full: GrayFrame, left: number, top: number): GrayFrame {
  assert.ok(left >= 0 && top >= 0 && left + F * W <= full.width && top + F * H <= full.height, 'window inside the image');
  const out = new Uint8Array(W * H);
  for (let Y = 0; Y < H; Y++) {
    for (let X = 0; X < W; X++) {
      let s = 0;
      for (let j = 0; j < F; j++) for (let i = 0; i < F; i++) s += full.data[(top + F * Y + j) * full.width + left + F * X + i];
      out[Y * W + X] = Math.round(s / (F * F));
    }
  }
  return { width: W, height: H, data: out };
}

/** prev and next with next(X) = prev(X - t) exactly (t a multiple of 1/4 px, -2.5 <= dx <= 2.5, -2.5 <= dy <= 1.5). */
async function translatedPair(t: { dx: number; dy: number }): Promise<{ prev: GrayFrame; next: GrayFrame }> {
  const full = await fullImage();
  const sx = F * t.dx, sy = F * t.dy;
  assert.ok(Number.isInteger(sx) && Number.isInteger(sy));
  const L = 10, Tp = 10;
  return { prev: shrink(full, L, Tp), next: shrink(full, L - sx, Tp - sy) };
}
const pair = () => translatedPair(T);

function interiorMean(flow: FlowField, margin: number): { dx: number; dy: number } {
  let sx = 0, sy = 0, n = 0;
  for (let y = margin; y < flow.height - margin; y++) {
    for (let x = margin; x < flow.width - margin; x++) {
      const i = 2 * (y * flow.width + x);
      sx += flow.data[i]; sy += flow.data[i + 1]; n++;
    }
  }
  return { dx: sx / n, dy: sy / n };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

test('denseFlow recovers a known sub-pixel translation of a real image within 0.1 px', async () => {
  const { prev, next } = await pair();
  const flow = await denseFlow(prev, next);
  assert.equal(flow.width, W);
  assert.equal(flow.height, H);
  assert.equal(flow.data.length, W * H * 2);
  const m = interiorMean(flow, MARGIN);
  assert.ok(Math.abs(m.dx - T.dx) < 0.1, `mean dx ${m.dx} vs ${T.dx}`);
  assert.ok(Math.abs(m.dy - T.dy) < 0.1, `mean dy ${m.dy} vs ${T.dy}`);
  // Another translation, both signs flipped.
  const t2 = { dx: -1.5, dy: 2.25 };
  const p2 = await translatedPair(t2);
  const m2 = interiorMean(await denseFlow(p2.prev, p2.next), MARGIN);
  assert.ok(Math.abs(m2.dx - t2.dx) < 0.1 && Math.abs(m2.dy - t2.dy) < 0.1, `mean flow ${m2.dx}, ${m2.dy} vs ${t2.dx}, ${t2.dy}`);
  // Reverse direction gives the opposite flow.
  const back = interiorMean(await denseFlow(next, prev), MARGIN);
  assert.ok(Math.abs(back.dx + T.dx) < 0.1 && Math.abs(back.dy + T.dy) < 0.1, `reverse flow ${back.dx}, ${back.dy}`);
  // Identical frames: near-zero flow (not exactly zero: Farneback is ill-conditioned in flat patches).
  const still = flowStats(await denseFlow(prev, prev));
  assert.ok(still.meanMagnitude < 0.01, `flow between identical frames has mean magnitude ${still.meanMagnitude}`);
});

test('sparseTracks: median displacement within 0.05 px of the translation, forward-backward check', async () => {
  const { prev, next } = await pair();
  const { points } = await sparseTracks(prev, next);
  assert.ok(points.length > 100 && points.length <= 300, `${points.length} corners`);
  const good = points.filter((p) => p.ok && p.x0 > MARGIN && p.y0 > MARGIN && p.x0 < W - MARGIN && p.y0 < H - MARGIN);
  assert.ok(good.length > 0.8 * points.filter((p) => p.x0 > MARGIN && p.y0 > MARGIN && p.x0 < W - MARGIN && p.y0 < H - MARGIN).length, `${good.length} ok interior tracks`);
  const mdx = median(good.map((p) => p.x1 - p.x0));
  const mdy = median(good.map((p) => p.y1 - p.y0));
  assert.ok(Math.abs(mdx - T.dx) < 0.05, `median dx ${mdx} vs ${T.dx}`);
  assert.ok(Math.abs(mdy - T.dy) < 0.05, `median dy ${mdy} vs ${T.dy}`);
  // The default round-trip limit is the stabilizer's (one tracker): 0.7 px.
  for (const p of points) {
    if (p.ok) assert.ok(p.fbError <= 0.7, `ok track with fbError ${p.fbError}`);
    else assert.ok(!(p.fbError <= 0.7) || p.x1 < 0 || p.y1 < 0 || p.x1 > W - 1 || p.y1 > H - 1, 'rejected track without a reason');
  }
  // A strict threshold rejects more tracks; fbThreshold is honoured.
  const strict = await sparseTracks(prev, next, { fbThreshold: 1e-4 });
  assert.ok(strict.points.filter((p) => p.ok).length < good.length, 'fbThreshold 1e-4 should reject tracks');
  assert.ok(strict.points.every((p) => !p.ok || p.fbError <= 1e-4));
  // maxCorners caps the corner count.
  assert.equal((await sparseTracks(prev, next, { maxCorners: 20 })).points.length, 20);
});

test('sparseTracks: unrelated frames fail the forward-backward check for most corners', async () => {
  const { prev } = await pair();
  // next = random noise: LK finds nothing consistent.
  let s = 12345;
  const noise = new Uint8Array(W * H).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
  const { points } = await sparseTracks(prev, { width: W, height: H, data: noise });
  const ok = points.filter((p) => p.ok).length;
  assert.ok(ok < 0.5 * points.length, `${ok} of ${points.length} tracks passed on noise`);
});

test('warpByFlow: known integer flow is an exact shift; warping next by the flow reconstructs prev', async () => {
  // Hand-made 4x3 image, constant flow (+1, -1): out(x, y) = img(x + 1, y - 1), border replicate.
  const img: GrayFrame = { width: 4, height: 3, data: Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]) };
  const flow1: FlowField = { width: 4, height: 3, data: new Float32Array(24).map((_, i) => (i % 2 === 0 ? 1 : -1)) };
  const out = await warpByFlow(img, flow1);
  // Row y reads row max(y-1, 0); column x reads column min(x+1, 3).
  assert.deepEqual(Array.from(out.data), [10, 20, 30, 30, 10, 20, 30, 30, 50, 60, 70, 70]);
  // Half-pixel flow (+0.5, 0): bilinear average of horizontal neighbours: (0+10)/2 = 5 etc.
  const half: FlowField = { width: 4, height: 3, data: new Float32Array(24).map((_, i) => (i % 2 === 0 ? 0.5 : 0)) };
  assert.deepEqual(Array.from((await warpByFlow(img, half)).data.slice(0, 4)), [5, 15, 25, 30]);
  // RGB in, RGB out: each channel is warped the same way.
  const rgb: Frame = { width: 4, height: 3, data: new Uint8Array(36).map((_, i) => img.data[Math.floor(i / 3)] + (i % 3)) };
  const outRgb = await warpByFlow(rgb, flow1);
  assert.equal(outRgb.data.length, 36);
  assert.deepEqual(Array.from(outRgb.data.slice(0, 6)), [10, 11, 12, 20, 21, 22]);

  // Real pair: warp next by the estimated flow, compare with prev in the interior. The floor is the
  // error of warping by the TRUE flow (bilinear interpolation of a textured image is not exact).
  const { prev, next } = await pair();
  const flow = await denseFlow(prev, next);
  const rec = await warpByFlow(next, flow);
  const truth: FlowField = { width: W, height: H, data: new Float32Array(W * H * 2).map((_, i) => (i % 2 === 0 ? T.dx : T.dy)) };
  const oracle = await warpByFlow(next, truth);
  let err = 0, errTrue = 0, errId = 0, n = 0;
  for (let y = MARGIN; y < H - MARGIN; y++) {
    for (let x = MARGIN; x < W - MARGIN; x++) {
      const i = y * W + x;
      err += Math.abs(rec.data[i] - prev.data[i]);
      errTrue += Math.abs(oracle.data[i] - prev.data[i]);
      errId += Math.abs(next.data[i] - prev.data[i]);
      n++;
    }
  }
  err /= n; errTrue /= n; errId /= n;
  // Bounds: mean abs error under 2 gray levels, within 0.1 of the true-flow warp, and a tenth of the unwarped difference.
  assert.ok(err < 2, `reconstruction mean abs error ${err.toFixed(3)}`);
  assert.ok(err < errTrue + 0.1, `estimated-flow warp ${err.toFixed(3)} vs true-flow warp ${errTrue.toFixed(3)}`);
  assert.ok(errId > 10 * err, `without warping the error is ${errId.toFixed(3)}, with ${err.toFixed(3)}`);
});

// Independent statement of the Middlebury wheel (colorcode.cpp): segments of 15, 6, 4, 11, 13, 6
// colours; red->yellow->green->cyan->blue->magenta->red, channel ramps floor(255 * i / n).
function referenceWheel(): number[][] {
  const segs: [number, (r: number) => number[]][] = [
    [15, (r) => [255, r, 0]],
    [6, (r) => [255 - r, 255, 0]],
    [4, (r) => [0, 255, r]],
    [11, (r) => [0, 255 - r, 255]],
    [13, (r) => [r, 0, 255]],
    [6, (r) => [255, 0, 255 - r]],
  ];
  return segs.flatMap(([n, f]) => Array.from({ length: n }, (_, i) => f(Math.floor((255 * i) / n))));
}

function one(dx: number, dy: number): FlowField {
  return { width: 1, height: 1, data: Float32Array.of(dx, dy) };
}
const px = (f: Frame, i = 0) => Array.from(f.data.slice(3 * i, 3 * i + 3));

test('flowToColor: Middlebury colours for known directions and magnitudes', () => {
  const wheel = referenceWheel();
  assert.equal(wheel.length, 55);
  // Hand-computed (a = atan2(-dy, -dx) / pi, fk = (a + 1) / 2 * 54):
  // +x: a = -1, fk = 0 -> wheel[0] = red.
  assert.deepEqual(px(flowToColor(one(1, 0))), [255, 0, 0]);
  assert.deepEqual(px(flowToColor(one(3, 0))), wheel[0]); // normalised by its own magnitude
  // +y (down): a = -1/2, fk = 13.5 -> mean of wheel[13] = (255,221,0) and wheel[14] = (255,238,0).
  assert.deepEqual(px(flowToColor(one(0, 1))), [255, 229, 0]);
  // -x: fk = 27 -> wheel[27] = (0, 255 - floor(255*2/11), 255) = (0, 209, 255).
  assert.deepEqual(px(flowToColor(one(-1, 0))), [0, 209, 255]);
  // -y (up): fk = 40.5 -> mean of wheel[40] = (78,0,255) and wheel[41] = (98,0,255).
  assert.deepEqual(px(flowToColor(one(0, -1))), [88, 0, 255]);
  // Half the max magnitude: col = 1 - 0.5 * (1 - col): red -> (255, 127, 127).
  assert.deepEqual(px(flowToColor(one(1, 0), 2)), [255, 127, 127]);
  // Beyond maxMagnitude: col * 0.75 -> floor(191.25) = 191.
  assert.deepEqual(px(flowToColor(one(4, 0), 2)), [191, 0, 0]);
  // Zero flow is white; a zero field does not divide by zero.
  assert.deepEqual(px(flowToColor(one(0, 0))), [255, 255, 255]);
  // Auto max over a field: (2,0) saturated red; (0,1) at half radius: g = 255*(1 - 0.5*(1 - 229.5/255)) = 242.25.
  const field: FlowField = { width: 3, height: 1, data: Float32Array.of(2, 0, 0, 1, NaN, 0) };
  const c = flowToColor(field);
  assert.deepEqual(px(c, 0), [255, 0, 0]);
  assert.deepEqual(px(c, 1), [255, 242, 127]);
  assert.deepEqual(px(c, 2), [0, 0, 0]); // unknown flow is black

  // At full magnitude, every wheel entry k is reached at the angle where fk = k exactly
  // (k = 0..53; index 54 is only the end point of the last blend, as in the C++ code).
  for (let k = 0; k < 54; k++) {
    const a = (2 * k) / 54 - 1; // fk = k
    const ang = a * Math.PI; // atan2(-dy, -dx) = ang  =>  (-dx, -dy) = (cos, sin)
    // (max slightly above 1: the Float32 unit vector may be a hair longer than 1, which would darken it)
    const got = px(flowToColor(one(-Math.cos(ang), -Math.sin(ang)), 1 + 1e-6));
    got.forEach((v, b) => assert.ok(Math.abs(v - wheel[k][b]) <= 1, `wheel[${k}] channel ${b}: ${v} vs ${wheel[k][b]}`));
  }
});

test('flowColorWheel legend: white centre, red to the right, darkened corners', () => {
  const size = 101;
  const w = flowColorWheel(size);
  assert.equal(w.width, size);
  assert.equal(w.height, size);
  assert.equal(w.data.length, size * size * 3);
  const at = (x: number, y: number) => px(w, y * size + x);
  assert.deepEqual(at(50, 50), [255, 255, 255]);
  // Right edge, middle row: flow (50/50.5, 0) -> nearly saturated red: (255, 2.5 -> 2, 2.5 -> 2).
  assert.deepEqual(at(100, 50), [255, 2, 2]);
  // Top edge, middle column: up -> violet-blue ((88,0,255) desaturated by 1 - 50/50.5).
  const up = at(50, 0);
  assert.ok(up[2] === 255 && up[0] > 80 && up[0] < 100 && up[1] < 5, `up: ${up}`);
  // Corner (0,0): |flow| = sqrt(2)*50/50.5 > 1 -> darkened (no channel above 0.75*255).
  assert.ok(at(0, 0).every((v) => v <= 191), `corner ${at(0, 0)}`);
});

test('flowStats: hand-computed means and max', () => {
  // Vectors (3,4) |5|, (0,0) |0|, (-1,0) |1|, (0,-2) |2|: mean |.| = 2, max 5, mean dx 0.5, mean dy 0.5.
  const s = flowStats({ width: 2, height: 2, data: Float32Array.of(3, 4, 0, 0, -1, 0, 0, -2) });
  assert.deepEqual(s, { meanMagnitude: 2, maxMagnitude: 5, meanDx: 0.5, meanDy: 0.5 });
  assert.throws(() => flowStats({ width: 2, height: 2, data: new Float32Array(6) }), /expected 2x2x2/);
});

test('rgbToGray is byte-identical to OpenCV cvtColor(RGB2GRAY) on a real photo and on every corner of the RGB cube', async () => {
  const cv = await loadOpenCV();
  const { data, info } = await sharp(mediaFile('rubberwhale1.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  // Append the 8 cube corners and some mid-grey rounding cases as extra pixels.
  const extra = [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0, 0, 255, 255, 255, 0, 255, 1, 2, 3, 127, 128, 129];
  const w = info.width, h = info.height + 1;
  const rgb = new Uint8Array(w * h * 3);
  rgb.set(data);
  rgb.set(extra, info.width * info.height * 3);
  const frame: Frame = { width: w, height: h, data: rgb };
  const src = cv.matFromArray(h, w, cv.CV_8UC3, rgb as unknown as number[]);
  const dst = new cv.Mat();
  try {
    cv.cvtColor(src, dst, cv.COLOR_RGB2GRAY);
    const ours = rgbToGray(frame);
    assert.deepEqual(ours.data, new Uint8Array(dst.data as Uint8Array));
  } finally {
    src.delete();
    dst.delete();
  }
  // Hand values: white 255, black 0, pure red round(0.299*255) = 76, green 150, blue 29.
  const corners = rgbToGray({ width: 5, height: 1, data: Uint8Array.from([255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]) });
  assert.deepEqual(Array.from(corners.data), [255, 0, 76, 150, 29]);
  // Float luma: 0.299*10 + 0.587*20 + 0.114*30 = 18.15.
  assert.ok(Math.abs(rgbToLuma({ width: 1, height: 1, data: Uint8Array.from([10, 20, 30]) })[0] - 18.15) < 1e-4);
  assert.throws(() => rgbToGray({ width: 2, height: 2, data: new Uint8Array(5) }), /expected 2x2x3/);
});

test('warpByFlow with a half-size flow: vectors are upsampled and doubled (hand case), and the aspect is checked', async () => {
  // 8x4 image whose value is 10*x; a 4x2 flow of (+0.5, 0) means +1 px at full size: out(x) = img(x + 1).
  const img: GrayFrame = { width: 8, height: 4, data: new Uint8Array(32).map((_, i) => 10 * (i % 8)) };
  const small: FlowField = { width: 4, height: 2, data: new Float32Array(16).map((_, i) => (i % 2 === 0 ? 0.5 : 0)) };
  const out = await warpByFlow(img, small);
  assert.deepEqual(Array.from(out.data.slice(0, 8)), [10, 20, 30, 40, 50, 60, 70, 70]);
  assert.rejects(() => warpByFlow(img, { width: 4, height: 4, data: new Float32Array(32) }), /differ in aspect/);
});

test('nonOcclusionMask: consistent flows pass, a contradicting backward flow and a motion boundary are masked (hand cases)', () => {
  const w = 10, h = 6;
  const field = (f: (x: number, y: number) => [number, number]): FlowField => {
    const d = new Float32Array(w * h * 2);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) [d[2 * (y * w + x)], d[2 * (y * w + x) + 1]] = f(x, y);
    return { width: w, height: h, data: d };
  };
  // (+1, 0) forward, (-1, 0) backward: round trip exact; only the last column leaves the frame.
  const m = nonOcclusionMask(field(() => [1, 0]), field(() => [-1, 0]));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) assert.equal(m[y * w + x], x === w - 1 ? 0 : 1);
  // Backward flow zero: round trip misses by 1 px: 1 > 0.01 * (1 + 0) + 0.5 -> all occluded.
  assert.equal(nonOcclusionMask(field(() => [1, 0]), field(() => [0, 0])).reduce((s, v) => s + v, 0), 0);
  // Forward flow steps from 0 to 2 px between columns 4 and 5: |grad|^2 = 4 > 0.002 at column 4.
  const step = nonOcclusionMask(field((x) => [x <= 4 ? 0 : 2, 0]), field((x) => [x <= 4 ? 0 : -2, 0]), { outOfFrame: false });
  assert.equal(step[2 * w + 4], 0);
  assert.equal(step[2 * w + 3], 1);
});
