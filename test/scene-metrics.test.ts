/** End-to-end pixel metrics on synthetic frames with known answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedRegion, dilateBinary, edgeCopyFraction, iou, psnrWhere } from '../src/metrics/scene.js';
import type { Frame } from '../src/video/types.js';

function textured(w: number, h: number): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (x * 37 + y * 91 + c * 50) % 256;
  return { width: w, height: h, data };
}

test('edge copies: a smeared left band of 10 columns on a textured 100x50 frame is 10 % of it; an unchanged frame 0', () => {
  const input = textured(100, 50);
  assert.equal(edgeCopyFraction(input, input), 0);
  const out = { ...input, data: new Uint8Array(input.data) };
  // Replicate column 10 into columns 0..9 (what BORDER_REPLICATE does after a 10 px shift).
  for (let y = 0; y < 50; y++) for (let x = 0; x < 10; x++) for (let c = 0; c < 3; c++) out.data[(y * 100 + x) * 3 + c] = input.data[(y * 100 + 10) * 3 + c];
  // Run = the 10 copied columns plus the source column itself, which the copies equal.
  assert.equal(edgeCopyFraction(out, input), (50 * 11) / (100 * 50));
});

test('edge copies: a region flat in the input too (a wall) does not count', () => {
  const flat: Frame = { width: 40, height: 20, data: new Uint8Array(40 * 20 * 3).fill(120) };
  assert.equal(edgeCopyFraction(flat, flat), 0);
});

test('psnrWhere: 10 log10(255^2 / mse) over the selected pixels only', () => {
  const a: Frame = { width: 2, height: 1, data: Uint8Array.of(0, 0, 0, 0, 0, 0) };
  const b: Frame = { width: 2, height: 1, data: Uint8Array.of(10, 10, 10, 0, 0, 0) };
  assert.ok(Math.abs(psnrWhere(a, b) - 10 * Math.log10((255 * 255) / 50)) < 1e-9); // mse = (3*100)/6
  assert.equal(psnrWhere(a, b, Uint8Array.of(0, 1)), Infinity);
});

test('dilate, changed region and IoU by hand', () => {
  const m = { width: 5, height: 5, data: new Uint8Array(25) };
  m.data[12] = 255; // centre
  const d = dilateBinary(m, 1);
  assert.equal(d.reduce((s, v) => s + v, 0), 9); // a 3x3 square
  const a: Frame = { width: 2, height: 1, data: Uint8Array.of(0, 0, 0, 100, 100, 100) };
  const b: Frame = { width: 2, height: 1, data: Uint8Array.of(0, 0, 30, 100, 110, 100) };
  assert.deepEqual([...changedRegion(a, b, 24)], [1, 0]);
  assert.equal(iou(Uint8Array.of(1, 1, 0, 0), Uint8Array.of(0, 1, 1, 0)), 1 / 3);
});
