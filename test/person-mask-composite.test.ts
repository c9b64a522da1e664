import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featherMask, maskCoverage, maskRegionForPose, pasteMask } from '../src/person-mask/composite.js';
import type { PoseFrame } from '../src/pose/types.js';

test('mask crop: pose box with 25% margin on each side, square', () => {
  const pose: PoseFrame = {
    index: 0, found: true, score: 0.8, box: { x: 100, y: 50, width: 40, height: 100 },
    keypoints: Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0.8, valid: true })),
  };
  // side = 100 * 1.5 = 150 around the box centre (120, 100) in pixel coords = (120.5, 100.5) in edge coords.
  assert.deepEqual(maskRegionForPose(pose), { x: 45.5, y: 25.5, size: 150 });
  assert.equal(maskRegionForPose({ ...pose, found: false, box: null }), null);
  assert.equal(maskRegionForPose(null), null);
});

test('pasteMask samples the map bilinearly at the right frame pixels (hand calculation)', () => {
  // 2x2 map: left column 0, right column 1, covering the 4x4 px square at (10, 10) in a 20x20 frame.
  const g = pasteMask([0, 1, 0, 1], 2, { x: 10, y: 10, size: 4 }, 20, 20);
  // Frame pixel px samples map x = (px + 0.5 - 10) / 2 - 0.5: px=10 -> -0.25 (clamped 0), 11 -> 0.25, 12 -> 0.75, 13 -> 1.25 (clamped 1).
  const row = (y: number) => [...g.data.subarray(y * 20 + 9, y * 20 + 15)];
  for (const y of [10, 11, 12, 13]) assert.deepEqual(row(y), [0, 0, 64, 191, 255, 0]);
  assert.ok(g.data.subarray(0, 20 * 10).every((v) => v === 0));
  assert.ok(g.data.subarray(20 * 14).every((v) => v === 0));
});

test('pasteMask clips a region that reaches past the frame', () => {
  const ones = new Float32Array(16).fill(1);
  const g = pasteMask(ones, 4, { x: -5, y: 15, size: 10 }, 20, 20);
  // Covered pixels: x 0..4, y 15..19.
  let n = 0;
  for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) if (g.data[y * 20 + x] === 255) (n++, assert.ok(x <= 4 && y >= 15));
  assert.equal(n, 25);
  assert.equal(maskCoverage(g), 25 / 400);
});

test('feathering blurs the edge symmetrically, keeps the mass, and sigma 0 is a no-op', async () => {
  const w = 60;
  const data = new Uint8Array(w * w);
  for (let y = 20; y < 40; y++) for (let x = 20; x < 40; x++) data[y * w + x] = 255;
  const mask = { width: w, height: w, data };
  const region = { x: 20, y: 20, size: 20 };
  assert.equal(await featherMask(mask, 0, region), mask);
  const f = await featherMask(mask, 2, region);
  const at = (x: number, y: number) => f.data[y * w + x];
  // Edge pixels drop to about half (Gaussian CDF at +-0.5 px of the step: 0.5 + ~0.1), deep inside stays 255, far outside 0.
  assert.ok(at(20, 30) > 140 && at(20, 30) < 190, `edge ${at(20, 30)}`);
  assert.ok(Math.abs(at(19, 30) - (255 - at(20, 30))) <= 1, `symmetric: ${at(19, 30)} vs ${255 - at(20, 30)}`);
  assert.equal(at(30, 30), 255);
  assert.equal(at(5, 5), 0);
  let before = 0;
  let after = 0;
  for (let i = 0; i < data.length; i++) (before += data[i]), (after += f.data[i]);
  assert.ok(Math.abs(after - before) / before < 0.01, `mass ${after} vs ${before}`);
});
