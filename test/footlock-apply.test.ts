import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenCV } from '../src/cv/opencv.js';
import { lockFrameSync, maskBox, type Mat2x3 } from '../src/footlock/index.js';
import type { Frame, GrayFrame } from '../src/video/types.js';

const W = 120, H = 90;

function pattern(): Frame {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) data[(y * W + x) * 3 + c] = (x * 7 + y * 13 + c * 50) % 256;
  return { width: W, height: H, data };
}

/** A soft white disc on black, centre (cx, cy). */
function disc(cx: number, cy: number, r: number): { frame: Frame; mask: GrayFrame } {
  const data = new Uint8Array(W * H * 3);
  const mask = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const a = Math.max(0, Math.min(1, r + 0.5 - Math.hypot(x - cx, y - cy)));
      mask[y * W + x] = Math.round(a * 255);
      data.fill(Math.round(a * 255), (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  }
  return { frame: { width: W, height: H, data }, mask: { width: W, height: H, data: mask } };
}

function centroid(f: Frame): { x: number; y: number } {
  let s = 0, sx = 0, sy = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const v = f.data[(y * W + x) * 3];
    s += v;
    sx += v * x;
    sy += v * y;
  }
  return { x: sx / s, y: sy / s };
}

test('apply: whole-frame integer shift moves every interior pixel exactly', async () => {
  const cv = await loadOpenCV();
  const f = pattern();
  const out = lockFrameSync(cv, f, [1, 0, 3, 0, 1, -2]);
  for (let y = 5; y < H - 5; y++) for (let x = 5; x < W - 5; x++) {
    for (let c = 0; c < 3; c++) assert.equal(out.data[(y * W + x) * 3 + c], f.data[((y + 2) * W + (x - 3)) * 3 + c]);
  }
});

test('apply: a sub-pixel correction moves the content by that amount', async () => {
  const cv = await loadOpenCV();
  const { frame } = disc(60, 45, 10);
  const out = lockFrameSync(cv, frame, [1, 0, 0.5, 0, 1, 0.25]);
  const a = centroid(frame), b = centroid(out);
  assert.ok(Math.abs(b.x - a.x - 0.5) < 0.02 && Math.abs(b.y - a.y - 0.25) < 0.02, `moved ${b.x - a.x}, ${b.y - a.y}`);
});

test('apply: identity leaves the frame as it is (a copy)', async () => {
  const cv = await loadOpenCV();
  const f = pattern();
  const out = lockFrameSync(cv, f, [1, 0, 0, 0, 1, 0]);
  assert.deepEqual(out.data, f.data);
  assert.notEqual(out.data, f.data);
});

test('apply: with a mask only the person moves; with a plate its old place shows the plate', async () => {
  const cv = await loadOpenCV();
  // Person: a white disc at (40, 45) over a background pattern.
  const bg = pattern();
  const { mask } = disc(40, 45, 8);
  const frame: Frame = { width: W, height: H, data: bg.data.slice() };
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) {
    frame.data[i * 3 + c] = Math.round((mask.data[i] * 255 + (255 - mask.data[i]) * bg.data[i * 3 + c]) / 255);
  }
  const m: Mat2x3 = [1, 0, 6, 0, 1, 0];
  const out = lockFrameSync(cv, frame, m, mask, bg);
  // Far from the person: untouched.
  for (const [x, y] of [[100, 10], [110, 80], [5, 5]]) {
    for (let c = 0; c < 3; c++) assert.equal(out.data[(y * W + x) * 3 + c], frame.data[(y * W + x) * 3 + c]);
  }
  // The disc centre moved to (46, 45): white there.
  assert.equal(out.data[(45 * W + 46) * 3], 255);
  // Its old left edge (x = 34) is now background (the plate), not white.
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(out.data[(45 * W + 33) * 3 + c] - bg.data[(45 * W + 33) * 3 + c]) <= 1);
  // Without a plate the old outline stays.
  const ghost = lockFrameSync(cv, frame, m, mask);
  assert.equal(ghost.data[(45 * W + 34) * 3], frame.data[(45 * W + 34) * 3]);
  assert.deepEqual(maskBox(mask, 1), { x0: 31, y0: 36, x1: 49, y1: 54 });
  assert.throws(() => lockFrameSync(cv, frame, m, { width: 10, height: 10, data: new Uint8Array(100) }), /mask is 10x10/);
});
