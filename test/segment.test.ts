import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyColorTransfer,
  blendSegments,
  colorStats,
  colorTransfer,
  planSegments,
  poseMotionEnergy,
  rampWeight,
  segmentLabels,
  validatePlan,
  type SegmentPlan,
} from '../src/segment/index.js';
import type { PoseTrack } from '../src/pose/types.js';
import type { Frame } from '../src/video/index.js';
import { ReshootError } from '../src/util/errors.js';

const flat = (v: number | [number, number, number], w = 4, h = 3): Frame => {
  const c = typeof v === 'number' ? [v, v, v] : v;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = c[i % 3];
  return { width: w, height: h, data };
};

test('labels: approach/hold/exit for 3, named sets for 5 and 7, seg-k otherwise', () => {
  assert.deepEqual(segmentLabels(3), ['approach', 'hold', 'exit']);
  assert.equal(segmentLabels(5).length, 5);
  assert.equal(segmentLabels(7).length, 7);
  assert.equal(new Set(segmentLabels(7)).size, 7);
  assert.deepEqual(segmentLabels(4), ['seg-0', 'seg-1', 'seg-2', 'seg-3']);
  assert.deepEqual(segmentLabels(1), ['whole']);
});

test('uniform split of 90 frames into 3 with overlap 5: cuts at 30 and 60, each segment keeps 5 frames of the next', () => {
  const p = planSegments(90, undefined, { count: 3, overlap: 5 });
  assert.equal(p.method, 'uniform');
  assert.match(p.reason, /no motion energy/);
  assert.deepEqual(p.boundaries, [30, 60]);
  assert.deepEqual(
    p.segments.map((s) => [s.label, s.start, s.end, s.overlap]),
    [
      ['approach', 0, 35, 5],
      ['hold', 30, 65, 5],
      ['exit', 60, 90, 0],
    ],
  );
  validatePlan(p);
});

test('motion-based boundaries snap to the quiet frames near the uniform cuts', () => {
  // Busy everywhere except two V-shaped quiet dips centred on frames 25 and 68 (uniform cuts: 30, 60).
  const dip = (i: number, c: number) => (Math.abs(i - c) <= 2 ? 0.1 + 0.4 * Math.abs(i - c) : 2);
  const e = Array.from({ length: 90 }, (_, i) => Math.min(dip(i, 25), dip(i, 68)));
  const p = planSegments(90, e, { count: 3, overlap: 5, energySource: 'pose-box-speed' });
  assert.equal(p.method, 'motion');
  assert.equal(p.energySource, 'pose-box-speed');
  assert.deepEqual(p.boundaries, [25, 68]);
  assert.equal(p.segments[1].start, 25);
  assert.equal(p.segments[0].end, 30);
  validatePlan(p);
});

test('flat motion energy falls back to the uniform split and says why', () => {
  const p = planSegments(60, Array(60).fill(1), { count: 3 });
  assert.equal(p.method, 'uniform');
  assert.match(p.reason, /no clearly quiet frame/);
  assert.deepEqual(p.boundaries, [20, 40]);
});

test('minimum length is respected even when the quietest frame is too close to the start', () => {
  const e = Array.from({ length: 60 }, (_, i) => (i === 12 ? 0 : 5 + (i % 3)));
  const p = planSegments(60, e, { count: 3, overlap: 2, minLength: 15, snapWindow: 0.5 });
  assert.ok(p.boundaries[0] >= 15, `first boundary ${p.boundaries[0]}`);
  for (const [k, s] of p.segments.entries()) assert.ok(s.end - s.overlap - s.start >= 15, `segment ${k} too short`);
});

test('a video too short for N segments gets fewer (with the reason) or an error when strict', () => {
  const p = planSegments(25, undefined, { count: 3, overlap: 5, minLength: 11 });
  assert.equal(p.count, 2);
  assert.equal(p.requestedCount, 3);
  assert.match(p.reason, /fit only 2/);
  assert.throws(() => planSegments(25, undefined, { count: 3, overlap: 5, minLength: 11, onShort: 'error' }), ReshootError);
  assert.equal(planSegments(5, undefined, { count: 3 }).count, 1);
  assert.throws(() => planSegments(50, undefined, { overlap: 8, minLength: 8 }), /shorter than the minimum/);
});

test('pose motion energy: box-centre speed in box heights per frame, gaps interpolated', () => {
  const frames = Array.from({ length: 6 }, (_, i) => ({
    index: i,
    found: i !== 3,
    keypoints: [],
    box: i === 3 ? null : { x: 10 + 4 * i, y: 20, width: 30, height: 100 },
    score: 1,
  }));
  const track = { schema: 'reshoot.poses/1', frames } as unknown as PoseTrack;
  const e = poseMotionEnergy(track);
  // 4 px per frame / 100 px tall = 0.04 per frame, also across the missing frame 3.
  for (const v of e) assert.ok(Math.abs(v - 0.04) < 1e-12, String(v));
});

test('ramp weights: linear (j+1)/(n+1), cosine half-way = 0.5, triangular = linear unless the overlap exceeds half a segment', () => {
  assert.equal(rampWeight('linear', 0, 5), 1 / 6);
  assert.equal(rampWeight('linear', 4, 5), 5 / 6);
  assert.ok(Math.abs(rampWeight('cosine', 2, 5) - 0.5) < 1e-12);
  assert.ok(Math.abs(rampWeight('cosine', 0, 5) - (1 - Math.cos(Math.PI / 6)) / 2) < 1e-12);
  const a = { start: 0, end: 40 }, b = { start: 35, end: 80 };
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(rampWeight('triangular', j, 5, a, b) - (j + 1) / 6) < 1e-12);
  // Outgoing [0, 6), incoming [2, 10), overlap 4. Frame 2: pyramid in = 1, out = min(3, 4) = 3 -> 0.25 (linear 0.2).
  assert.equal(rampWeight('triangular', 0, 4, { start: 0, end: 6 }, { start: 2, end: 10 }), 0.25);
  assert.ok(Math.abs(rampWeight('triangular', 3, 4, { start: 0, end: 6 }, { start: 2, end: 10 }) - 0.8) < 1e-12);
});

test('colour transfer maps the source to the target mean and std per channel', () => {
  const src: Frame = { width: 2, height: 1, data: Uint8Array.of(10, 100, 50, 30, 140, 50) };
  const tgt: Frame = { width: 2, height: 1, data: Uint8Array.of(35, 10, 60, 45, 30, 60) };
  // Channel 0: source mean 20, std 10; target mean 40, std 5 -> gain 0.5, offset 30.
  // Channel 1: mean 120 std 20 -> mean 20 std 10: gain 0.5, offset -40. Channel 2: flat -> gain 1, offset 10.
  const t = colorTransfer(colorStats([src]), colorStats([tgt]));
  assert.deepEqual(t.gain, [0.5, 0.5, 1]);
  assert.deepEqual(t.offset, [30, -40, 10]);
  assert.deepEqual([...applyColorTransfer(src, t).data], [...tgt.data]);
});

function plan2(n: number, b: number, ov: number): SegmentPlan {
  return validatePlan({
    schema: 'reshoot.segments/1',
    frameCount: n,
    requestedCount: 2,
    count: 2,
    overlap: ov,
    minLength: ov + 1,
    method: 'uniform',
    reason: 'test',
    energySource: 'none',
    boundaries: [b],
    energy: [],
    segments: [
      { index: 0, label: 'seg-0', start: 0, end: b + ov, overlap: ov },
      { index: 1, label: 'seg-1', start: b, end: n, overlap: 0 },
    ],
  });
}

test('blending two flat segments: linear cross-fade values by hand; colour matching pulls the incoming segment to the outgoing one', async () => {
  const plan = plan2(12, 5, 4);
  const a = Array.from({ length: 9 }, () => flat(100));
  const b = Array.from({ length: 7 }, () => flat(200));
  const { frames } = await blendSegments([a, b], plan, { ramp: 'linear', colorMatch: false });
  assert.equal(frames.length, 12);
  assert.deepEqual(
    frames.map((f) => f.data[0]),
    [100, 100, 100, 100, 100, 120, 140, 160, 180, 200, 200, 200],
  );
  const matched = await blendSegments([a, b], plan, { ramp: 'cosine', colorMatch: true });
  assert.deepEqual(
    matched.frames.map((f) => f.data[0]),
    Array(12).fill(100),
  );
  assert.deepEqual(matched.seams[0].transfer.offset, [-100, -100, -100]);
});

test('blending refuses clips whose length does not match the plan', async () => {
  const plan = plan2(12, 5, 4);
  const a = Array.from({ length: 8 }, () => flat(100));
  const b = Array.from({ length: 7 }, () => flat(200));
  await assert.rejects(blendSegments([a, b], plan), /segment 0 has 8 frames but the plan gives it 9/);
  await assert.rejects(blendSegments([a], plan), /2 segments but 1/);
});

test('validatePlan rejects inconsistent plans', () => {
  const p = plan2(12, 5, 4);
  assert.throws(() => validatePlan({ ...p, segments: [p.segments[0], { ...p.segments[1], start: 6 }] }), /starts at 6, expected 5/);
  assert.throws(() => validatePlan({ ...p, frameCount: 13 }), /end at 12/);
  assert.throws(() => validatePlan({ foo: 1 }), ReshootError);
});

test('a mostly still clip (median energy 0) still snaps cuts to motionless frames; no motion at all is uniform', () => {
  // Motion only in frames 10-35 and 50-70; still elsewhere. Uniform cuts at 30 and 60 for 90 frames.
  const e: number[] = Array.from({ length: 90 }, (_, i) => ((i >= 10 && i < 36) || (i >= 50 && i < 71) ? 1 : 0));
  const p = planSegments(90, e, { count: 3, overlap: 2, minLength: 10 });
  assert.equal(p.method, 'motion');
  const smooth = e.map((_, i) => e.slice(Math.max(0, i - 2), i + 3).reduce((a, b) => a + b, 0));
  // Cut 1 (30, reach +-10): the nearest motionless frame (smoothed over +-2) is 38. Cut 2 (60): frames 50-70
  // all move, so it stays uniform.
  assert.equal(smooth[p.boundaries[0]], 0);
  assert.deepEqual(p.boundaries, [38, 60]);
  assert.match(p.reason, /1 of 2 boundaries/);
  assert.match(planSegments(90, Array(90).fill(0), { count: 3 }).reason, /no motion measured/);
});
