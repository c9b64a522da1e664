import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PoseEstimator } from '../src/pose/estimator.js';
import { fillBetweenKeys, PeopleTracker, SubjectRefiner } from '../src/pose/people.js';
import type { Keypoint, PoseFrame } from '../src/pose/types.js';
import { figure } from './helpers.js';
import type { Frame } from '../src/video/types.js';

// The same synthetic figure and fake single-pose model as test/pose-people.test.ts (kept local: tests do not import tests).
function found(index: number, keypoints: Keypoint[]): PoseFrame {
  const v = keypoints.filter((k) => k.valid);
  const xs = v.map((k) => k.x), ys = v.map((k) => k.y);
  const box = { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
  return { index, found: true, keypoints, box, score: keypoints.reduce((s, k) => s + k.score, 0) / 17 };
}
const notFound = (index: number): PoseFrame => ({ index, found: false, box: null, score: 0.05, keypoints: Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0.05, valid: false })) });
type Person = { cx: number; cy: number; s: number };
const W = 1000, H = 600;
const white = (): Frame => ({ width: W, height: H, data: new Uint8Array(W * H * 3).fill(255) });
function fakeEstimator(scene: (frameIndex: number) => Person[], calls: number[] = []): PoseEstimator {
  return {
    modelId: 'fake', inputSize: 256, provider: 'cpu', minScore: 0.3, minValid: 5,
    async estimate(frame: Frame, o = {}) {
      const r = o.region!;
      const index = o.index ?? 0;
      calls.push(index);
      const visible = (p: Person) => frame.data[(Math.round(p.cy) * frame.width + Math.round(p.cx)) * 3] !== 0;
      const inside = scene(index).filter((p) => p.cx >= r.x && p.cx < r.x + r.size && p.cy >= r.y && p.cy < r.y + r.size && visible(p));
      if (inside.length === 0) return notFound(index);
      const best = inside.reduce((a, b) => (b.s > a.s ? b : a));
      return found(index, figure(best.cx, best.cy, best.s));
    },
    async release() {},
  };
}
const hipX = (p: PoseFrame) => (p.keypoints[11].x + p.keypoints[12].x) / 2;

test('fillBetweenKeys interpolates between consecutive key frames only; a keypoint is valid where both ends are', () => {
  const a = found(0, figure(100, 300, 20));
  const b = found(2, figure(110, 304, 20));
  b.keypoints[0] = { ...b.keypoints[0], valid: false, score: 0.1 };
  const c = found(8, figure(200, 300, 20)); // 6 frames later: a miss, not a key step of 2
  const out = fillBetweenKeys([a, b, c], 2);
  assert.deepEqual(out.map((f) => f.index), [0, 1, 2, 8]);
  const mid = out[1];
  // Halfway: hips (100+110)/2 = 105, (300+304)/2 = 302; the nose is invalid (invalid at frame 2), score min(0.9, 0.1).
  assert.equal(hipX(mid), 105);
  assert.equal((mid.keypoints[11].y + mid.keypoints[12].y) / 2, 302);
  assert.equal(mid.keypoints[0].valid, false);
  assert.equal(mid.keypoints[0].score, 0.1);
  assert.equal(mid.found, true);
  // The box is the valid keypoints' box: x from the left wrist (105 - 20) to the right wrist (105 + 20).
  assert.equal(mid.box!.x, 85);
  assert.equal(mid.box!.width, 40);
});

test('followEvery 2: the model runs on even frames only and result() fills the odd ones exactly for steady walkers', async () => {
  // A walks right 6 px/frame, B stands; both are seen from frame 0.
  const scene = (i: number): Person[] => [{ cx: 200 + 6 * i, cy: 300, s: 20 }, { cx: 750, cy: 280, s: 24 }];
  const calls: number[] = [];
  const tr = new PeopleTracker(fakeEstimator(scene, calls), { fps: 10, followEvery: 2 });
  for (let i = 0; i < 11; i++) {
    const f = await tr.next(white());
    if (i % 2 === 1) assert.deepEqual(f.people, [], `frame ${i} is not a key frame`);
  }
  assert.ok(calls.length > 0);
  assert.ok(calls.every((i) => i % 2 === 0), `model calls on frames ${[...new Set(calls)]}`);
  const res = tr.result();
  assert.equal(res.tracks.length, 2);
  for (const t of res.tracks) {
    assert.deepEqual(t.frames.map((f) => f.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const who = Math.abs(hipX(t.frames[0]) - 200) < 1 ? 0 : 1;
    for (const f of t.frames) assert.ok(Math.abs(hipX(f) - scene(f.index)[who].cx) < 1e-9, `track ${t.id} frame ${f.index}: ${hipX(f)}`);
  }
  // A video ending on a frame between key frames: the people of the last key frame (8) are held on frame 9.
  const short = new PeopleTracker(fakeEstimator(scene), { fps: 10, followEvery: 2 });
  for (let i = 0; i < 10; i++) await short.next(white());
  for (const t of short.result().tracks) {
    assert.deepEqual(t.frames.map((f) => f.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(hipX(t.frames[9]), hipX(t.frames[8]));
  }
});

test("sweepOnMiss 'local' re-acquires an occluded person with fewer model calls than a full sweep", async () => {
  // C (left) is hidden in frames 6-9; A stands far right, so C's region excludes A's tiles.
  const scene = (i: number): Person[] => [...(i >= 6 && i < 10 ? [] : [{ cx: 150, cy: 150, s: 12 }]), { cx: 850, cy: 450, s: 20 }];
  const run = async (rule: boolean | 'local') => {
    const calls: number[] = [];
    const tr = new PeopleTracker(fakeEstimator(scene, calls), { fps: 10, detectEvery: 20, sweepOnMiss: rule });
    for (let i = 0; i < 16; i++) await tr.next(white());
    return { calls: calls.length, res: tr.result(), stats: tr.stats };
  };
  const full = await run(true);
  const local = await run('local');
  for (const r of [full, local]) {
    assert.equal(r.res.tracks.length, 2, JSON.stringify(r.res.tracks.map((t) => [t.id, t.frames.map((f) => f.index)])));
    const c = r.res.tracks.find((t) => hipX(t.frames[0]) < 500)!;
    assert.ok(c.frames.some((f) => f.index >= 10), 'C keeps its id after the occlusion');
  }
  assert.ok(local.stats.sweepCalls < full.stats.sweepCalls, `sweep calls: local ${local.stats.sweepCalls}, full ${full.stats.sweepCalls}`);
});

test('SubjectRefiner reads the subject again near the coarse pose, keeps the coarse pose when the crop shows someone else, and skips frames without the subject', async () => {
  const truth = (i: number) => ({ cx: 300 + 4 * i, cy: 300, s: 20 });
  let other = false;
  const calls: number[] = [];
  // The crop shows the subject, or (other = true) a bigger person standing 60 px right of it.
  const est = fakeEstimator((i) => (other ? [{ cx: truth(i).cx + 60, cy: 300, s: 26 }] : [truth(i)]), calls);
  const refiner = new SubjectRefiner(est, { fps: 10 });
  // Coarse pose 3 px off (an interpolation): the refined one is the model's, on the subject.
  const p0 = await refiner.next(white(), found(0, figure(truth(0).cx + 3, 300, 20)));
  assert.equal(hipX(p0), truth(0).cx);
  assert.equal(refiner.stats.refined, 1);
  other = true;
  const coarse1 = found(1, figure(truth(1).cx, 300, 20));
  const p1 = await refiner.next(white(), coarse1);
  assert.equal(hipX(p1), truth(1).cx, 'the neighbour is 60 px = 1.4 torso lengths away: the coarse pose is kept');
  assert.equal(refiner.stats.keptCoarse, 1);
  const before = calls.length;
  const p2 = await refiner.next(white(), notFound(2));
  assert.equal(p2.found, false);
  assert.equal(calls.length, before, 'no model call without a coarse subject');
});
