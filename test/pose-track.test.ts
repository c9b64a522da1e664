import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SquareRegion } from '../src/pose/crop.js';
import type { PoseEstimator } from '../src/pose/estimator.js';
import { cropRegionFromPose, PoseTracker } from '../src/pose/track.js';
import type { Keypoint, PoseFrame } from '../src/pose/types.js';
import { figure } from './helpers.js';
import type { Frame } from '../src/video/types.js';

/** A standing figure: hips at (cx, cy), scaled by s (px per unit). */

function found(index: number, keypoints: Keypoint[]): PoseFrame {
  const xs = keypoints.map((k) => k.x);
  const ys = keypoints.map((k) => k.y);
  const box = { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
  return { index, found: true, keypoints, box, score: keypoints.reduce((s, k) => s + k.score, 0) / 17 };
}

const notFound = (index: number): PoseFrame => ({
  index, found: false, box: null, score: 0.05,
  keypoints: Array.from({ length: 17 }, () => ({ x: 0, y: 0, score: 0.05, valid: false })),
});

/**
 * A fake single-pose model over a scene of people (hip centre, scale per frame):
 * like MoveNet it reports the most prominent (largest) person whose hips lie in the region shown.
 */
function fakeEstimator(scene: (frameIndex: number) => { cx: number; cy: number; s: number }[]) {
  const calls: { index: number; region: SquareRegion }[] = [];
  const est: PoseEstimator = {
    modelId: 'fake', inputSize: 256, provider: 'cpu', minScore: 0.3, minValid: 5,
    async estimate(frame: Frame, o = {}) {
      const region = o.region!;
      const index = o.index ?? 0;
      calls.push({ index, region });
      const inside = scene(index).filter((p) => p.cx >= region.x && p.cx < region.x + region.size && p.cy >= region.y && p.cy < region.y + region.size);
      if (inside.length === 0) return notFound(index);
      const best = inside.reduce((a, b) => (b.s > a.s ? b : a));
      return found(index, figure(best.cx, best.cy, best.s));
    },
    async release() {},
  };
  return { est, calls };
}

const frame: Frame = { width: 1000, height: 600, data: new Uint8Array(0) };

test('crop region from a pose: TF.js rule by hand', () => {
  const kp = figure(110, 200, 20); // hips (100,200),(120,200); shoulders y=156; ankles y=260
  // torso range: max Chebyshev distance of shoulders/hips from (110,200) = 44 -> 1.9*44 = 83.6;
  // body range: nose/eyes/ears at y=138..140 -> 62 -> 1.2*62 = 74.4. Half = 83.6.
  const r = cropRegionFromPose(found(0, kp), 1000, 1000)!;
  assert.ok(Math.abs(r.size - 2 * 83.6) < 1e-9);
  assert.ok(Math.abs(r.x - (110.5 - 83.6)) < 1e-9 && Math.abs(r.y - (200.5 - 83.6)) < 1e-9);
  assert.equal(cropRegionFromPose(notFound(0), 1000, 1000), null);
  // Crop as large as the frame -> use the whole frame.
  assert.equal(cropRegionFromPose(found(0, figure(110, 200, 200)), 400, 300), null);
});

test('the tracker follows the first person when a larger one enters; without cropping it switches', async () => {
  // Person A walks right from x=200; B (bigger, more prominent) is present from frame 3 at x=800.
  const scene = (i: number) => [{ cx: 200 + 10 * i, cy: 300, s: 20 }, ...(i >= 3 ? [{ cx: 800, cy: 300, s: 40 }] : [])];
  const { est } = fakeEstimator(scene);
  const tracker = new PoseTracker(est, { fps: 25 });
  const xs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const p = await tracker.next(frame);
    assert.equal(p.index, i);
    xs.push((p.keypoints[11].x + p.keypoints[12].x) / 2);
  }
  assert.deepEqual(xs, Array.from({ length: 10 }, (_, i) => 200 + 10 * i));
  assert.equal(tracker.stats.crop, 9);

  const { est: est2 } = fakeEstimator(scene);
  const naive = new PoseTracker(est2, { fps: 25, followCrop: false });
  const xs2: number[] = [];
  for (let i = 0; i < 10; i++) {
    const kp = (await naive.next(frame)).keypoints;
    xs2.push((kp[11].x + kp[12].x) / 2);
  }
  assert.equal(xs2[5], 800);
});

test('a lost crop falls back to a wider crop, then to the whole frame; absent person -> not found', async () => {
  // A jumps 100 px at frame 2 (crop half-side 62.7 px, the doubled crop's 125.4) (out of the first crop, inside the doubled one), then vanishes at 4, reappears at 6 far away.
  const scene = (i: number) => (i < 2 ? [{ cx: 300, cy: 300, s: 15 }] : i < 4 ? [{ cx: 400, cy: 300, s: 15 }] : i < 6 ? [] : [{ cx: 900, cy: 100, s: 15 }]);
  const { est } = fakeEstimator(scene);
  const tracker = new PoseTracker(est, { fps: 25 });
  const sources: string[] = [];
  const poses: PoseFrame[] = [];
  for (let i = 0; i < 8; i++) {
    poses.push(await tracker.next(frame));
    sources.push(poses[i].found ? tracker.lastSource : 'none');
  }
  assert.deepEqual(sources, ['full-refined', 'crop', 'wide-crop', 'crop', 'none', 'none', 'full-refined', 'crop']);
  assert.equal(poses[4].box, null);
  assert.ok(poses[4].keypoints.every((k) => !k.valid));
  assert.equal(poses[6].keypoints[11].x, 900 - 0.5 * 15);
});

test('smoothing changes only valid points and restarts after a gap', async () => {
  const jitter = [0, 4, -4, 4, -4, 4];
  const est: PoseEstimator = {
    modelId: 'fake', inputSize: 256, provider: 'cpu', minScore: 0.3, minValid: 5,
    async estimate(_f, o = {}) {
      const kp = figure(300 + jitter[o.index! % 6], 300, 20);
      if (o.index === 3) for (const k of kp.slice(13)) (k.valid = false), (k.score = 0.1); // knees/ankles drop out at frame 3
      return found(o.index!, kp);
    },
    async release() {},
  };
  const tracker = new PoseTracker(est, { fps: 30, smoothing: { minCutoff: 1, beta: 0, dCutoff: 1 }, followCrop: false });
  const out: PoseFrame[] = [];
  for (let k = 0; k < 6; k++) out.push(await tracker.next(frame));
  const noseX = out.map((p) => p.keypoints[0].x);
  // beta = 0: x_k = a*raw_k + (1-a)*x_{k-1}, a = alpha(1 Hz, 1/30 s).
  const a = 1 / (1 + 30 / (2 * Math.PI));
  let expect = 300;
  for (let k = 1; k < 6; k++) {
    expect = a * (300 + jitter[k]) + (1 - a) * expect;
    assert.ok(Math.abs(noseX[k] - expect) < 1e-9, `frame ${k}: ${noseX[k]} vs ${expect}`);
  }
  // Frame 3: the invalid left ankle keeps its raw value; frame 4 restarts its filter (raw passes through).
  assert.equal(out[3].keypoints[15].x, 300 + jitter[3] - 0.5 * 20);
  assert.equal(out[4].keypoints[15].x, 300 + jitter[4] - 0.5 * 20);
});

test('search tiles: half-size squares, stride half a tile, the last touching the far edge (hand calculation)', async () => {
  const { searchTiles } = await import('../src/pose/track.js');
  // 768x576: side 384; x at 0, 192, 384; y at 0, 192.
  assert.deepEqual(
    searchTiles(768, 576).map((t) => [t.x, t.y, t.size]),
    [[0, 0, 384], [192, 0, 384], [384, 0, 384], [0, 192, 384], [192, 192, 384], [384, 192, 384]],
  );
  // 1280x720: side 640; x at 0, 320, 640; y at 0, 80.
  assert.deepEqual(searchTiles(1280, 720).map((t) => [t.x, t.y]), [[0, 0], [320, 0], [640, 0], [0, 80], [320, 80], [640, 80]]);
});

test('a person too small for the whole frame is found in a tile; a detection the close-up does not confirm is dropped', async () => {
  // The fake model sees a person only when the region is at most 60x its scale (tiles: 640 px, whole frame: 1280) (smaller in the input = invisible).
  const person = { cx: 900, cy: 500, s: 12 };
  const est: PoseEstimator = {
    modelId: 'fake', inputSize: 256, provider: 'cpu', minScore: 0.3, minValid: 5,
    async estimate(_f, o = {}) {
      const r = o.region!;
      const inside = person.cx >= r.x && person.cx < r.x + r.size && person.cy >= r.y && person.cy < r.y + r.size;
      return inside && r.size <= 60 * person.s ? found(o.index ?? 0, figure(person.cx, person.cy, person.s)) : notFound(o.index ?? 0);
    },
    async release() {},
  };
  const t = new PoseTracker(est, { fps: 25 });
  const p = await t.next({ width: 1280, height: 720, data: new Uint8Array(0) });
  assert.equal(p.found, true);
  assert.equal(t.lastSource, 'full-refined');
  const none = new PoseTracker(est, { fps: 25, searchTiles: false });
  assert.equal((await none.next({ width: 1280, height: 720, data: new Uint8Array(0) })).found, false);

  // A "plant": found at letterbox scale, gone in the close-up.
  const plant: PoseEstimator = {
    ...est,
    async estimate(_f, o = {}) {
      return o.region!.size > 500 ? found(o.index ?? 0, figure(400, 300, 10, 0.45)) : notFound(o.index ?? 0);
    },
  };
  const tp = new PoseTracker(plant, { fps: 25 });
  const q = await tp.next(frame);
  assert.equal(q.found, false);
  assert.equal(tp.stats.rejected, 1);
});

test('when a bigger person inside the crop takes over, a tighter crop on the subject keeps it', async () => {
  // A (scale 20, torso 44 px) stays at x=300; B (scale 30) steps in at x=360, inside A's crop (half-side 83.6)
  // but outside the tight crop (half-side 1.2 x 44 = 52.8).
  const scene = (i: number) => [{ cx: 300, cy: 300, s: 20 }, ...(i >= 1 ? [{ cx: 360, cy: 300, s: 30 }] : [])];
  const hipX = (p: PoseFrame) => (p.keypoints[11].x + p.keypoints[12].x) / 2;
  const { est } = fakeEstimator(scene);
  const keep = new PoseTracker(est, { fps: 25, keepSubject: true });
  const kept = [await keep.next(frame), await keep.next(frame), await keep.next(frame)].map(hipX);
  assert.deepEqual(kept, [300, 300, 300]);
  assert.equal(keep.stats.kept, 2);
  const { est: est2 } = fakeEstimator(scene);
  const plain = new PoseTracker(est2, { fps: 25 });
  const switched = [await plain.next(frame), await plain.next(frame)].map(hipX);
  assert.deepEqual(switched, [300, 360]);
});
