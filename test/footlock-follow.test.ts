/**
 * The pipeline's foot lock (footlock/follow.ts): generated planted feet follow
 * the driving ones. Expected values are worked by hand from the definitions
 * (dead band, one-pole smoothing, release, strength).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FollowDrivingLock, measureAnkleOffsets, type Contacts } from '../src/footlock/index.js';
import type { PoseFrame } from '../src/pose/types.js';
import type { Frame } from '../src/video/types.js';

/** Contacts where the left foot is planted on `planted` frames and the right never; body height h. */
function contacts(n: number, planted: number[], h = 100): Contacts {
  const contact = Array.from({ length: n }, (_, t) => planted.includes(t));
  const none = new Array<boolean>(n).fill(false);
  return {
    frames: n,
    bodyHeight: new Array<number>(n).fill(h),
    feet: { left: { keypoint: 15, contact, anchor: [], spans: [] }, right: { keypoint: 16, contact: none, anchor: [], spans: [] } },
  } as unknown as Contacts;
}

const none = { left: null, right: null };

test('an unchanged person (zero offsets) is never moved', () => {
  const lock = new FollowDrivingLock(contacts(5, [0, 1, 2, 3, 4]));
  for (let t = 0; t < 5; t++) assert.deepEqual(lock.step(t, { left: { x: 0, y: 0 }, right: null }), [1, 0, 0, 0, 1, 0]);
});

test('a constant offset over a contact (the detector reading a new look differently) is not a slide', () => {
  const lock = new FollowDrivingLock(contacts(5, [0, 1, 2, 3, 4]));
  for (let t = 0; t < 5; t++) assert.deepEqual(lock.step(t, { left: { x: 20, y: -9 }, right: null }), [1, 0, 0, 0, 1, 0]);
});

test('changes inside the dead band (keypoint noise) are dropped', () => {
  // h = 100 px: band = max(1.5 px, 0.05 * 100) = 5 px. Touch-down offset (7, 7); then (10, 10): change |(3, 3)| = 4.24 < 5.
  const lock = new FollowDrivingLock(contacts(5, [0, 1, 2, 3, 4]));
  assert.deepEqual(lock.step(0, { left: { x: 7, y: 7 }, right: null }), [1, 0, 0, 0, 1, 0]);
  for (let t = 1; t < 5; t++) assert.deepEqual(lock.step(t, { left: { x: 10, y: 10 }, right: null }), [1, 0, 0, 0, 1, 0]);
  // With a 400 px body the band is 20 px: an 18 px change is noise at that size.
  const big = new FollowDrivingLock(contacts(4, [0, 1, 2, 3], 400));
  big.step(0, { left: { x: 0, y: 0 }, right: null });
  for (let t = 1; t < 4; t++) assert.deepEqual(big.step(t, { left: { x: 18, y: 0 }, right: null }), [1, 0, 0, 0, 1, 0]);
  // With a 20 px body the floor of 1.5 px applies: 1.4 px is dropped.
  const small = new FollowDrivingLock(contacts(4, [0, 1, 2, 3], 20));
  small.step(0, { left: { x: 0, y: 0 }, right: null });
  for (let t = 1; t < 4; t++) assert.deepEqual(small.step(t, { left: { x: 1.4, y: 0 }, right: null }), [1, 0, 0, 0, 1, 0]);
});

test('a generated foot sliding 12 px right after touch-down is pulled back: median of 3, shrunk by the band, smoothed, 70 %', () => {
  const lock = new FollowDrivingLock(contacts(5, [0, 1, 2, 3, 4]));
  // Touch-down at offset (3, 0), then 15: slides 0, 12, 12, 12, 12. Frames 0-1 have fewer than 3 readings (0);
  // from frame 2 the median is 12 -> target -(12 - 5) = -7 px. One pole with 0.5: 0, 0, -3.5, -5.25, -6.125; x 0.7.
  const xs = [3, 15, 15, 15, 15].map((x, t) => lock.step(t, { left: { x, y: 0 }, right: null })[2]);
  [0, 0, -3.5, -5.25, -6.125].forEach((v, i) => assert.ok(Math.abs(xs[i] - 0.7 * v) < 1e-9, `frame ${i}: ${xs[i]} vs ${0.7 * v}`));
});

test('one misread ankle is not a slide (median of three)', () => {
  const lock = new FollowDrivingLock(contacts(5, [0, 1, 2, 3, 4]));
  const ms = [0, 0, 30, 0, 0].map((x, t) => lock.step(t, { left: { x, y: 0 }, right: null }));
  for (const m of ms) assert.deepEqual(m, [1, 0, 0, 0, 1, 0]);
});

test('offsets of a foot that is not planted are ignored, the correction is released, and a new contact re-anchors', () => {
  const lock = new FollowDrivingLock(contacts(8, [0, 1, 2, 5, 6]), { smoothing: 0 });
  lock.step(0, { left: { x: 0, y: 0 }, right: null });
  lock.step(1, { left: { x: 0, y: 15 }, right: null });
  // Readings 0, 15, 15: slide 15 -> -(15 - 5) = -10.
  assert.ok(Math.abs(lock.step(2, { left: { x: 0, y: 15 }, right: null })[5] - 0.7 * -10) < 1e-9);
  // Frame 3: not planted; a huge offset must not count; the correction halves, then halves again.
  assert.ok(Math.abs(lock.step(3, { left: { x: 0, y: 99 }, right: null })[5] - 0.7 * -5) < 1e-9);
  assert.ok(Math.abs(lock.step(4, none)[5] - 0.7 * -2.5) < 1e-9);
  // Frame 5: a new contact lands at offset 40, its anchor, with too few readings yet: no slide, the correction goes to 0.
  assert.deepEqual(lock.step(5, { left: { x: 0, y: 40 }, right: null }), [1, 0, 0, 0, 1, 0]);
  lock.reset();
  assert.deepEqual(lock.step(6, none), [1, 0, 0, 0, 1, 0]);
});

test('both feet planted: the mean of their slides', () => {
  const c = contacts(3, [0, 1, 2]);
  for (const t of [0, 1, 2]) c.feet.right.contact[t] = true;
  const lock = new FollowDrivingLock(c, { smoothing: 0, strength: 1 });
  lock.step(0, { left: { x: 1, y: 0 }, right: { x: -2, y: 0 } });
  lock.step(1, { left: { x: 5, y: 0 }, right: { x: 14, y: 0 } });
  // slides (4, 0) and (16, 0) (medians of 0, 4, 4 and 0, 16, 16): mean (10, 0); minus the 5 px band: 5 px back.
  const m = lock.step(2, { left: { x: 5, y: 0 }, right: { x: 14, y: 0 } });
  assert.ok(Math.abs(m[2] + 5) < 1e-9 && m[5] === 0);
});

function pose(ankles: [number, number][], valid = true): PoseFrame {
  const keypoints = Array.from({ length: 17 }, () => ({ x: 50, y: 50, score: 0.9, valid: true }));
  keypoints[15] = { x: ankles[0][0], y: ankles[0][1], score: 0.9, valid };
  keypoints[16] = { x: ankles[1][0], y: ankles[1][1], score: 0.9, valid };
  return { index: 0, found: true, keypoints, box: null, score: 0.9 } as PoseFrame;
}

test('ankle offsets: generated minus driving, from one detector call per frame; border and invalid ankles give none', async () => {
  const frame = (v: number): Frame => ({ width: 100, height: 100, data: new Uint8Array(100 * 100 * 3).fill(v) });
  const driving = frame(1), generated = frame(2);
  const detected = new Map<Frame, PoseFrame>([
    [driving, pose([[40, 80], [60, 99.5]])],
    [generated, pose([[43, 78], [61, 99]])],
  ]);
  const o = await measureAnkleOffsets(async (f) => detected.get(f)!, driving, generated);
  assert.deepEqual(o.left, { x: 3, y: -2 });
  // The right ankle is within 2 % of the bottom border (a foot cut off by the frame): not trusted.
  assert.equal(o.right, null);
  detected.set(generated, pose([[43, 78], [61, 90]], false));
  const p = await measureAnkleOffsets(async (f) => detected.get(f)!, driving, generated);
  assert.equal(p.left, null);
});
