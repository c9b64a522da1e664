import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameToRegion, letterboxRegion, regionToFrame, resampleRegion, squareAround } from '../src/pose/crop.js';
import { boxOfValid, poseFromOutput } from '../src/pose/keypoints.js';
import type { Frame } from '../src/video/types.js';

test('letterbox of 640x480 is a 640 square centred vertically (80 px bars)', () => {
  assert.deepEqual(letterboxRegion(640, 480), { x: 0, y: -80, size: 640 });
  assert.deepEqual(letterboxRegion(300, 500), { x: -100, y: 0, size: 500 });
});

test('normalised model coordinates map to original pixels (hand calculation)', () => {
  const r = letterboxRegion(640, 480);
  // Centre of the square = centre of the frame: pixel centres run 0..639, 0..479.
  assert.deepEqual(regionToFrame(r, 0.5, 0.5), { x: 319.5, y: 239.5 });
  // yn = 0.125 of 640 is 80 px from the square's top = the frame's top edge, i.e. pixel coordinate -0.5.
  assert.deepEqual(regionToFrame(r, 0.25, 0.125), { x: 159.5, y: -0.5 });
  // A crop: 200 px square at (100, 50); xn = 0.1 -> 100 + 20 - 0.5.
  assert.deepEqual(regionToFrame({ x: 100, y: 50, size: 200 }, 0.1, 0.9), { x: 119.5, y: 229.5 });
  const back = frameToRegion({ x: 100, y: 50, size: 200 }, 119.5, 229.5);
  assert.ok(Math.abs(back.xn - 0.1) < 1e-12 && Math.abs(back.yn - 0.9) < 1e-12);
});

test('resampling at scale 1 copies the frame and pads the letterbox bars with black', () => {
  // 4x2 frame, letterboxed to 4x4: rows 0 and 3 are bars, rows 1-2 the frame rows 0-1.
  const data = new Uint8Array(4 * 2 * 3);
  for (let i = 0; i < data.length; i++) data[i] = 10 + i;
  const out = resampleRegion({ width: 4, height: 2, data }, letterboxRegion(4, 2), 4);
  assert.deepEqual([...out.subarray(0, 12)], new Array(12).fill(0));
  assert.deepEqual([...out.subarray(12, 36)], [...data]);
  assert.deepEqual([...out.subarray(36, 48)], new Array(12).fill(0));
});

test('resampling by 2 averages 2x2 blocks (bilinear at the block centre)', () => {
  // 4x4 gray ramp v = 10*x + 40*y; output pixel (i, j) samples at (2i + 0.5, 2j + 0.5): 10*(2i+0.5) + 40*(2j+0.5).
  const w = 4;
  const data = new Uint8Array(w * w * 3);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) data.fill(10 * x + 40 * y, (y * w + x) * 3, (y * w + x) * 3 + 3);
  const out = resampleRegion({ width: w, height: w, data }, { x: 0, y: 0, size: 4 }, 2);
  const expected = [25, 45, 105, 125];
  for (let k = 0; k < 4; k++) for (let c = 0; c < 3; c++) assert.equal(out[k * 3 + c], expected[k]);
});

function blobFrame(w: number, h: number, cx: number, cy: number, sigma: number): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = Math.round(250 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma)));
      data.fill(v, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  return { width: w, height: h, data };
}

/** A stand-in "model": the intensity centroid of the n x n input, as MoveNet-style normalised (y, x). */
function centroid(rgb: Uint8Array, n: number): { xn: number; yn: number } {
  let s = 0;
  let sx = 0;
  let sy = 0;
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      const v = rgb[(j * n + i) * 3];
      s += v;
      sx += v * (i + 0.5);
      sy += v * (j + 0.5);
    }
  return { xn: sx / s / n, yn: sy / s / n };
}

test('a blob found in the resampled input maps back to where it is in the frame (letterbox and crop)', () => {
  const frame = blobFrame(320, 200, 101.3, 77.6, 6);
  for (const [region, n] of [
    [letterboxRegion(320, 200), 160],
    [{ x: 40.25, y: 20.5, size: 130 }, 192],
    [{ x: 60, y: 30, size: 90 }, 256],
  ] as const) {
    const rgb = resampleRegion(frame, region, n);
    const c = centroid(rgb, n);
    const p = regionToFrame(region, c.xn, c.yn);
    assert.ok(Math.abs(p.x - 101.3) < 0.15 && Math.abs(p.y - 77.6) < 0.15, `${JSON.stringify(region)}: (${p.x}, ${p.y})`);
  }
});

test('poseFromOutput: low scores invalid, too few valid -> not found, box around valid points only', () => {
  const region = { x: 0, y: 0, size: 100 };
  const out = new Float32Array(51);
  for (let k = 0; k < 17; k++) {
    out[k * 3] = 0.1 + k * 0.05; // y
    out[k * 3 + 1] = 0.2; // x
    out[k * 3 + 2] = k < 6 ? 0.9 : 0.1; // six confident points
  }
  const p = poseFromOutput(out, region, { minScore: 0.3, minValid: 5, index: 7 });
  assert.equal(p.index, 7);
  assert.equal(p.found, true);
  assert.equal(p.keypoints.filter((k) => k.valid).length, 6);
  // Invalid points keep the model's position (nothing invented, nothing dropped).
  assert.ok(Math.abs(p.keypoints[16].y - (0.9 * 100 - 0.5)) < 1e-4);
  assert.ok(Math.abs(p.box!.y - 9.5) < 1e-4 && Math.abs(p.box!.height - 25) < 1e-4 && p.box!.width === 0);
  assert.ok(Math.abs(p.score - (6 * 0.9 + 11 * 0.1) / 17) < 1e-6);
  const q = poseFromOutput(out, region, { minScore: 0.3, minValid: 7, index: 0 });
  assert.equal(q.found, false);
  assert.equal(q.box, null);
  assert.ok(q.keypoints.every((k) => !k.valid));
});

test('boxOfValid and squareAround (pixel-centre box -> edge-coordinate square)', () => {
  assert.equal(boxOfValid([{ x: 1, y: 1, score: 0, valid: false }]), null);
  const r = squareAround({ x: 100, y: 50, width: 40, height: 100 }, 0.25);
  assert.deepEqual(r, { x: 120.5 - 75, y: 100.5 - 75, size: 150 });
});
