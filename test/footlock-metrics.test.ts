import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contactScores, footPercentile, footSliding, lockJump } from '../src/metrics/index.js';

test('feet metrics: precision, recall, F1 by hand; no decision counts as "not in contact"', () => {
  const s = contactScores([true, true, false, null, true, null], [true, false, false, true, true, false]);
  // tp: 0, 4; fp: 1; fn: 3 (null on a contact); tn: 2, 5.
  assert.deepEqual([s.tp, s.fp, s.fn, s.tn, s.undecided], [2, 1, 1, 2, 2]);
  assert.ok(Math.abs(s.precision - 2 / 3) < 1e-12 && Math.abs(s.recall - 2 / 3) < 1e-12 && Math.abs(s.f1 - 2 / 3) < 1e-12);
  // Pooled over two series = sum of counts.
  const p = contactScores([[true, false], [true, true]], [[true, true], [false, true]]);
  assert.deepEqual([p.tp, p.fp, p.fn, p.tn], [2, 1, 1, 0]);
  assert.throws(() => contactScores([true], [true, false]), /labels/);
});

test('feet metrics: percentile interpolates like numpy', () => {
  assert.ok(Math.abs(footPercentile([1, 2, 3, 4], 95) - 3.85) < 1e-12);
  assert.equal(footPercentile([5], 95), 5);
});

test('feet metrics: sliding counts steps inside contacts only, in px and body heights per second', () => {
  // x moves 2 px/frame throughout; contact on frames 2..5 -> steps 3, 4, 5 count (3 samples).
  const position = Array.from({ length: 8 }, (_, t) => ({ x: 2 * t, y: 10 }));
  const contact = [false, false, true, true, true, true, false, false];
  const s = footSliding([{ position, contact }], { fps: 25, bodyHeight: 100 });
  assert.equal(s.samples, 3);
  assert.equal(s.meanPx, 2);
  assert.equal(s.p95Px, 2);
  assert.ok(Math.abs(s.meanHps - 0.5) < 1e-12); // 2 px * 25 fps / 100 px
  assert.equal(s.skateRatio, 1);
  // A foot that moves only with the camera does not slide.
  const camera = position.map((p) => ({ x: p.x, y: 0 }));
  const still = footSliding([{ position, contact }], { fps: 25, bodyHeight: 100, camera });
  assert.equal(still.meanPx, 0);
  assert.equal(still.skateRatio, 0);
  // Skate threshold 0.1 h/s: 0.3 px/frame at 30 fps and h = 100 is 0.09 h/s (below), 0.4 px is 0.12 (above).
  const mixed = footSliding(
    [{ position: [0, 0.3, 0.6, 1.0, 1.4].map((x) => ({ x, y: 0 })), contact: [true, true, true, true, true] }],
    { fps: 30, bodyHeight: 100 },
  );
  assert.equal(mixed.samples, 4);
  assert.equal(mixed.skateRatio, 0.5);
  // Unknown positions and unknown body size skip the step.
  const gaps = footSliding([{ position: [{ x: 0, y: 0 }, { x: NaN, y: 0 }, { x: 1, y: 0 }, { x: 2, y: 0 }], contact: [true, true, true, true] }], { fps: 30, bodyHeight: [100, 100, 100, null] });
  assert.equal(gaps.samples, 0);
});

test('feet metrics: largest single-frame jump of the correction', () => {
  const tr = (x: number, y: number) => [1, 0, x, 0, 1, y];
  const pts = [[{ x: 0, y: 0 }], [{ x: 0, y: 0 }], [{ x: 0, y: 0 }]];
  assert.deepEqual(lockJump([tr(0, 0), tr(0.5, 0), tr(0.5, 2)], pts), { max: 2, frame: 2 });
  // A 0.01 rad rotation about the origin moves (100, 0) by ~1 px; (0, 0) not at all.
  const c = Math.cos(0.01), s = Math.sin(0.01);
  const j = lockJump([[1, 0, 0, 0, 1, 0], [c, -s, 0, s, c, 0]], [[], [{ x: 0, y: 0 }, { x: 100, y: 0 }]]);
  assert.ok(Math.abs(j.max - 100 * Math.hypot(c - 1, s)) < 1e-9);
});
