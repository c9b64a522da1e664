import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawLine, drawPose, fillCircle } from '../src/pose/overlay.js';
import type { PoseFrame } from '../src/pose/types.js';
import type { Frame } from '../src/video/types.js';

const blank = (w: number, h: number): Frame => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });
const px = (f: Frame, x: number, y: number) => [...f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3)];

test('fillCircle sets exactly the pixels whose centres are within r', () => {
  const f = blank(11, 11);
  fillCircle(f, 5, 5, 2, [9, 8, 7]);
  let count = 0;
  for (let y = 0; y < 11; y++) for (let x = 0; x < 11; x++) if (px(f, x, y)[0] === 9) count++;
  // Integer points with dx^2 + dy^2 <= 4: 1 + 4 (axis 1) + 4 (axis 2) + 4 (diagonal 1,1) = 13.
  assert.equal(count, 13);
  assert.deepEqual(px(f, 7, 5), [9, 8, 7]);
  assert.deepEqual(px(f, 7, 6), [0, 0, 0]);
  fillCircle(f, -3, -3, 2, [1, 1, 1]); // clipped, no throw
});

test('drawLine fills the capsule of the segment', () => {
  const f = blank(12, 10);
  drawLine(f, 2, 5, 8, 5, 3, [200, 0, 0]);
  // |y - 5| <= 1.5 for x in 2..8, and the round caps reach x = 0.5 .. 9.5 on the axis.
  for (let x = 2; x <= 8; x++) for (const y of [4, 5, 6]) assert.equal(px(f, x, y)[0], 200, `(${x},${y})`);
  assert.equal(px(f, 5, 3)[0], 0);
  assert.equal(px(f, 5, 7)[0], 0);
  assert.equal(px(f, 1, 5)[0], 200);
  assert.equal(px(f, 10, 5)[0], 0);
  assert.equal(px(f, 1, 4)[0], 200); // sqrt(2) = 1.41 from the end point (2,5): inside the cap
  assert.equal(px(f, 0, 4)[0], 0); // sqrt(5) = 2.24: outside
});

function pose(valid: (i: number) => boolean): PoseFrame {
  const keypoints = Array.from({ length: 17 }, (_, i) => ({ x: 10 + (i % 4) * 10, y: 5 + i * 5, score: 0.9, valid: valid(i) }));
  return { index: 0, found: true, keypoints, box: null, score: 0.9 };
}

test('drawPose marks valid ankles in the ankle colour, leaves invalid points and the input untouched', () => {
  const f = blank(80, 100);
  const p = pose((i) => i !== 16);
  const out = drawPose(f, p, { thickness: 2, ankle: [255, 0, 255] });
  assert.ok(f.data.every((v) => v === 0), 'input frame unchanged');
  const la = p.keypoints[15];
  assert.deepEqual(px(out, la.x, la.y), [255, 0, 255]);
  const ra = p.keypoints[16];
  // Right ankle invalid: neither its disc nor the knee-ankle edge is drawn there.
  assert.deepEqual(px(out, ra.x, ra.y), [0, 0, 0]);
  const nf = drawPose(f, { ...p, found: false });
  assert.ok(nf.data.every((v) => v === 0));
});
