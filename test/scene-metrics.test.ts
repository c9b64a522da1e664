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

test('edge copies: a smeared left band of 10 columns on a textured 100x50 frame counts the copies that differ from the input; an unchanged frame 0', () => {
  const input = textured(100, 50);
  assert.equal(edgeCopyFraction(input, input), 0);
  const out = { ...input, data: new Uint8Array(input.data) };
  // Replicate column 10 into columns 0..9 (what BORDER_REPLICATE does after a 10 px shift).
  for (let y = 0; y < 50; y++) for (let x = 0; x < 10; x++) for (let c = 0; c < 3; c++) out.data[(y * 100 + x) * 3 + c] = input.data[(y * 100 + 10) * 3 + c];
  // The run is the 10 copies plus the source column. Counted: the copies that differ from the input by more
  // than 8 levels in some channel (the texture wraps mod 256, so a few copies land near their input), counted
  // here directly from that definition.
  let differ = 0;
  for (let i = 0; i < 100 * 50; i++) {
    const p = i * 3;
    if (Math.max(...[0, 1, 2].map((c) => Math.abs(out.data[p + c] - input.data[p + c]))) > 8) differ++;
  }
  assert.ok(differ > 400 && differ <= 500); // most of the 500 copied pixels
  assert.equal(edgeCopyFraction(out, input), differ / (100 * 50));
});

test('edge copies: codec smoothing of a correct output (within 8 levels of the input) does not count', () => {
  // One row; the input ramps 100, 104, 110 at the left border, the output smooths it to 104, 105, 106:
  // flat within 3 levels along the run while the input varies by 10, but never more than 4 levels off.
  const input: Frame = { width: 6, height: 1, data: Uint8Array.from([100, 104, 110, 160, 200, 240].flatMap((v) => [v, v, v])) };
  const output: Frame = { width: 6, height: 1, data: Uint8Array.from([104, 105, 106, 160, 200, 240].flatMap((v) => [v, v, v])) };
  assert.equal(edgeCopyFraction(output, input, { minRun: 3, maxDepth: 6 }), 0);
  // A flat run of 110 over the same input: pixel 0 is 10 levels off (counts), pixel 1 is 6 off, pixel 2 exact.
  const smeared: Frame = { width: 6, height: 1, data: Uint8Array.from([110, 110, 110, 160, 200, 240].flatMap((v) => [v, v, v])) };
  assert.equal(edgeCopyFraction(smeared, input, { minRun: 3, maxDepth: 6 }), 1 / 6);
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

test('edge copies: excluded pixels (a region painted flat on purpose) do not count', () => {
  const input: Frame = { width: 6, height: 1, data: Uint8Array.from([100, 104, 110, 160, 200, 240].flatMap((v) => [v, v, v])) };
  const smeared: Frame = { width: 6, height: 1, data: Uint8Array.from([110, 110, 110, 160, 200, 240].flatMap((v) => [v, v, v])) };
  assert.equal(edgeCopyFraction(smeared, input, { minRun: 3, maxDepth: 6, exclude: Uint8Array.of(1, 1, 1, 0, 0, 0) }), 0);
  assert.equal(edgeCopyFraction(smeared, input, { minRun: 3, maxDepth: 6, exclude: Uint8Array.of(0, 1, 1, 0, 0, 0) }), 1 / 6);
});
