import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canvasGeometry, edgeCopyFraction, mapPoint, reshakeFrameAt, reshakeFrames, scaleAbout, similarity, compose, stabilizeFrame, stabilizeFrames,
  translation, validateTransforms, warpAt, type Mat2x3, type TransformsData,
} from '../src/stabilize/index.js';
import type { Frame, GrayFrame } from '../src/video/index.js';
import { isReshootError } from '../src/util/errors.js';

/** A minimal valid transforms.json with the given corrections (the only field the warps read besides crop). */
function transforms(W: number, H: number, corrections: Mat2x3[], crop: { border: 'zoom' | 'adaptive' | 'fill'; zoom: number | number[] }): TransformsData {
  const p = { x: 0, y: 0, angle: 0, scale: 1 };
  const n = corrections.length;
  const t = {
    schema: 'reshoot.transforms', version: 2, params: {}, createdBy: 'test',
    source: { path: 'x.mp4', width: W, height: H, fps: { num: 25, den: 1 }, frameCount: n },
    frames: corrections.map((c, index) => ({ index, interframe: [1, 0, 0, 0, 1, 0], trajectory: p, smoothed: p, correction: c, inliers: 0 })),
    shots: [{ start: 0, end: n }], notes: [],
    crop: { ...crop, minimalZoom: corrections.map(() => 1), limited: false },
  };
  validateTransforms(t);
  return t;
}

/** Smooth test image: low-frequency sinusoids per channel (bilinear error stays small). */
function smooth(W: number, H: number): Frame {
  const d = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = 3 * (y * W + x);
    d[i] = 128 + 100 * Math.sin(x / 13) * Math.cos(y / 17);
    d[i + 1] = 128 + 90 * Math.cos((x + y) / 19);
    d[i + 2] = 128 + 80 * Math.sin((x - 2 * y) / 23);
  }
  return { width: W, height: H, data: d };
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

const W = 100, H = 80, cx = 49.5, cy = 39.5;

test('canvas geometry and mapPoint: hand-computed corners', () => {
  // Frame 1 moves by (4, -3); frame 2 is scaled 1.1 about the centre, so its corners go to
  // (0,0) -> (49.5 - 1.1*49.5, 39.5 - 1.1*39.5) = (-4.95, -3.95) and (99,79) -> (103.95, 82.95).
  const t = transforms(W, H, [[1, 0, 0, 0, 1, 0], translation(4, -3), scaleAbout(1.1, cx, cy)], { border: 'zoom', zoom: 1.2 });
  const g = canvasGeometry(t);
  // Margins: left ceil(4.95) = 5, right ceil(103.95 - 99) = 5, top ceil(3.95) = 4, bottom ceil(82.95 - 79) = 4.
  assert.deepEqual(g, { mode: 'canvas', width: 110, height: 88, offsetX: 5, offsetY: 4, clipped: false });
  assert.deepEqual(mapPoint(t, 1, g, 0, 0), [9, 1]);
  const [x2, y2] = mapPoint(t, 2, g, 99, 79);
  assert.ok(Math.abs(x2 - 108.95) < 1e-9 && Math.abs(y2 - 86.95) < 1e-9);
  // Crop mode: zoom 1.2 about the centre after the correction: (4, -3) -> c + 1.2 ((4, -3) - c) = (-5.1, -11.5).
  const [u, v] = mapPoint(t, 1, { mode: 'crop' }, 0, 0);
  assert.ok(Math.abs(u + 5.1) < 1e-9 && Math.abs(v + 11.5) < 1e-9);
  assert.deepEqual(warpAt(t, 1).width, W);
  // The 'fill' border policy never zooms, whatever crop.zoom says.
  const fill = transforms(W, H, [translation(4, -3)], { border: 'fill', zoom: 1.2 });
  assert.deepEqual(mapPoint(fill, 0, { mode: 'crop' }, 0, 0), [4, -3]);
  // Per-frame zoom ('adaptive'): frame 1 uses zoom[1] = 2, so (0,0) -> c + 2 ((4,-3) - c) = (49.5 - 91, 39.5 - 85) = (-41.5, -45.5).
  const adaptive = transforms(W, H, [translation(0, 0), translation(4, -3)], { border: 'adaptive', zoom: [1, 2] });
  assert.deepEqual(mapPoint(adaptive, 1, { mode: 'crop' }, 0, 0), [-41.5, -45.5]);
  // Capped margins: 0.02 of 100 px = 2 px per side at most.
  const capped = canvasGeometry(t, { maxMargin: 0.02 });
  assert.deepEqual(capped, { mode: 'canvas', width: 104, height: 82, offsetX: 2, offsetY: 1, clipped: true });
  // An odd size is made even: one frame moved by 3 px gives 103 -> 104.
  assert.equal(canvasGeometry(transforms(W, H, [translation(3, 0)], { border: 'zoom', zoom: 1 })).width, 104);
  assert.throws(() => warpAt(t, 3), (e) => isReshootError(e) && /frame 3 is outside the transforms \(0\.\.2\)/.test(e.message));
});

test('stabilizeFrame on the canvas: an integer shift lands every pixel exactly where hand-computed', async () => {
  const src = smooth(W, H);
  const t = transforms(W, H, [[1, 0, 0, 0, 1, 0], translation(4, -3)], { border: 'zoom', zoom: 1.1 });
  const g = canvasGeometry(t); // left 0, right 4, top 3, bottom 0 -> 104 x 83 -> 104 x 84, offset (0, 3)
  assert.deepEqual([g.width, g.height, g.offsetX, g.offsetY], [104, 84, 0, 3]);
  const out = await stabilizeFrame(src, t, 1, g);
  assert.equal(out.width, 104);
  assert.equal(out.height, 84);
  // Source (x, y) -> canvas (x + 4, y - 3 + 3) = (x + 4, y).
  for (const [x, y] of [[0, 0], [50, 40], [99, 79], [10, 70]]) {
    for (let c = 0; c < 3; c++) assert.equal(out.data[3 * (y * 104 + x + 4) + c], src.data[3 * (y * W + x) + c], `(${x}, ${y})`);
  }
  await assert.rejects(stabilizeFrame({ width: 10, height: 10, data: new Uint8Array(300) }, t, 1, g), (e) => isReshootError(e) && /frame 1 is 10x10, expected 100x80/.test(e.message));
  await assert.rejects(reshakeFrameAt(src, t, 1, g), (e) => isReshootError(e) && /stabilized frame 1 is 100x80, expected 104x84/.test(e.message));
});

test('reshake(stabilize(x)) on the canvas gives x back (PSNR > 40 dB, no edge copies); crop mode copies a hand-computable edge share', async () => {
  const src = smooth(W, H);
  // Shake: sub-pixel translations, 1-2 degree rotations, 2 % zoom, about the centre.
  const about = (tx: number, ty: number, deg: number, s: number) =>
    compose(translation(cx + tx, cy + ty), compose(similarity(0, 0, (deg * Math.PI) / 180, s), translation(-cx, -cy)));
  const corrections = [about(0, 0, 0, 1), about(3.4, -2.7, 1.5, 1.02), about(-5.2, 1.3, -2, 0.98), about(0.6, 4.9, 0.7, 1)];
  const t = transforms(W, H, corrections, { border: 'zoom', zoom: 1.15 });
  const g = canvasGeometry(t);
  assert.equal(g.clipped, false);
  async function* frames() { for (let i = 0; i < corrections.length; i++) yield src; }
  let i = 0;
  for await (const st of stabilizeFrames(frames(), t, { geometry: g })) {
    const back = await reshakeFrameAt(st, t, i, g);
    assert.equal(back.width, W);
    const db = psnr(back.data, src.data);
    assert.ok(db > 40, `frame ${i}: ${db.toFixed(1)} dB`);
    assert.equal(edgeCopyFraction(t, i, g), 0);
    i++;
  }
  assert.equal(i, 4);
  // The stream helpers take a start index and compose: reshakeFrames(stabilizeFrames(x)).
  let k = 0;
  for await (const back of reshakeFrames(stabilizeFrames(frames(), t, { geometry: g, start: 1 }), t, { geometry: g, start: 1 })) {
    assert.ok(psnr(back.data, src.data) > 40);
    k++;
  }
  assert.equal(k, 3); // frames 1..3: the stream stops at the end of the transforms

  // Crop mode, 'fill' policy (zoom 1), a pure shift by (dx, dy) = (6, -4): a re-shaken pixel p
  // reads the stabilized frame at p + (6, -4), inside [0,99]x[0,79] for p in [0,93]x[4,79]:
  // covered share = (99 - 6)(79 - 4) / (99 * 79), edge-copy share = 1 - that.
  const shift = transforms(W, H, [translation(6, -4)], { border: 'fill', zoom: 1 });
  const expected = 1 - (93 * 75) / (99 * 79);
  assert.ok(Math.abs(edgeCopyFraction(shift, 0, { mode: 'crop' }) - expected) < 1e-12);
  assert.equal(edgeCopyFraction(shift, 0, canvasGeometry(shift)), 0);
  // Crop mode, zoom z about the centre, no shift: only the middle 1/z of each side survives: 1 - 1/z^2.
  const zoomed = transforms(W, H, [[1, 0, 0, 0, 1, 0]], { border: 'zoom', zoom: 1.25 });
  assert.ok(Math.abs(edgeCopyFraction(zoomed, 0, { mode: 'crop' }) - (1 - 1 / 1.25 ** 2)) < 1e-12);
  // And the shake above in crop mode: positive on every moved frame.
  for (let f = 1; f < 4; f++) assert.ok(edgeCopyFraction(t, f, { mode: 'crop' }) > 0.1);
  // The measured share agrees with the pixels: re-shake a white stabilized frame whose
  // border pixels are black; the share of output pixels that read the black border ~ the fraction.
  const white: GrayFrame = { width: W, height: H, data: new Uint8Array(W * H).fill(255) };
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (x === 0 || y === 0 || x === W - 1 || y === H - 1) white.data[y * W + x] = 0;
  const back = await reshakeFrameAt(white, shift, 0, { mode: 'crop' });
  const dark = back.data.filter((v) => v < 128).length / back.data.length;
  assert.ok(Math.abs(dark - expected) < 0.03, `${dark} vs ${expected}`);
});

test('gray frames (masks) go through the same warps and come back', async () => {
  const mask: GrayFrame = { width: W, height: H, data: new Uint8Array(W * H) };
  for (let y = 20; y < 60; y++) for (let x = 30; x < 70; x++) mask.data[y * W + x] = 255;
  const t = transforms(W, H, [translation(7, 5)], { border: 'zoom', zoom: 1.1 });
  const g = canvasGeometry(t);
  const st = await stabilizeFrame(mask, t, 0, g);
  assert.equal(st.data.length, g.width * g.height);
  // Pixel (30, 20) of the box goes to (37, 25) (no negative margins, so offset 0).
  assert.equal(st.data[25 * g.width + 37], 255);
  assert.equal(st.data[24 * g.width + 36], 0);
  const back = await reshakeFrameAt(st, t, 0, g);
  assert.deepEqual(back.data, mask.data);
});
