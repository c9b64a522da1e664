import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMat, detectContacts, planFootLock, type Contacts } from '../src/footlock/index.js';
import { generateGait } from '../src/datasets/index.js';
import { footSliding, lockJump } from '../src/metrics/index.js';
import type { PoseTrack } from '../src/pose/types.js';
import { ReshootError } from '../src/util/errors.js';
import { gaussian, mulberry32 } from '../src/util/rng.js';

interface Pt {
  x: number;
  y: number;
}

function track(n: number, fps: number, left: (t: number) => Pt, right: (t: number) => Pt): PoseTrack {
  return {
    schema: 'reshoot.poses/1',
    source: { path: 'hand', width: 1280, height: 720, fps: { num: fps, den: 1 }, frameCount: n },
    model: { id: 'hand', inputSize: 0, provider: 'none' },
    minScore: 0.3,
    smoothing: null,
    frames: Array.from({ length: n }, (_, t) => {
      const keypoints = Array.from({ length: 17 }, () => ({ x: 600, y: 200, score: 0.9, valid: true }));
      keypoints[15] = { ...left(t), score: 0.9, valid: true };
      keypoints[16] = { ...right(t), score: 0.9, valid: true };
      return { index: t, found: true, keypoints, box: { x: 500, y: 200, width: 300, height: 400 }, score: 0.9 };
    }),
  };
}

/** Contacts by hand: each foot planted on the given frame ranges (inclusive). */
function contacts(n: number, fps: number, left: [number, number][], right: [number, number][], h = 400): Contacts {
  const foot = (k: number, spans: [number, number][]) => {
    const contact = Array.from({ length: n }, (_, t) => spans.some(([s, e]) => t >= s && t <= e));
    return { keypoint: k, contact, anchor: contact.map(() => null), spans: spans.map(([start, end]) => ({ start, end, anchor: { x: 0, y: 0 } })) };
  };
  return {
    schema: 'reshoot.contacts/1',
    source: { path: 'hand', width: 1280, height: 720, fps: { num: fps, den: 1 }, frameCount: n },
    fps: { num: fps, den: 1 },
    frames: n,
    params: {} as Contacts['params'],
    bodyHeight: new Array(n).fill(h),
    feet: { left: foot(15, left), right: foot(16, right) },
  };
}

test('lock (chain): a planted foot sliding at a constant rate is held still at strength 1 and slides 30 % at 0.7', () => {
  const n = 30;
  const ankles = track(n, 30, (t) => ({ x: 100 + 0.5 * t, y: 500 - 0.2 * t }), () => ({ x: 300, y: 500 }));
  const c = contacts(n, 30, [[0, n - 1]], []);
  const full = planFootLock(c, ankles, { strength: 1, method: 'chain' });
  for (let t = 0; t < n; t++) {
    const p = applyMat(full.matrices[t], ankles.frames[t].keypoints[15]);
    assert.ok(Math.hypot(p.x - 100, p.y - 500) < 1e-6, `frame ${t}: ${p.x}, ${p.y}`);
  }
  const blended = planFootLock(c, ankles, { strength: 0.7, method: 'chain' });
  for (let t = 1; t < n; t++) {
    const a = applyMat(blended.matrices[t - 1], ankles.frames[t - 1].keypoints[15]);
    const b = applyMat(blended.matrices[t], ankles.frames[t].keypoints[15]);
    assert.ok(Math.abs(b.x - a.x - 0.3 * 0.5) < 1e-6 && Math.abs(b.y - a.y + 0.3 * 0.2) < 1e-6);
  }
});

test('lock (chain): anchors chain, so touch-downs do not move the layer and a slide stays removed under the next foot', () => {
  // The whole person drifts +1 px/frame in x (a generator-drift stand-in); left planted 0-19, right 15-39.
  const n = 40;
  const ankles = track(n, 30, (t) => ({ x: 100 + t, y: 500 }), (t) => ({ x: 300 + t, y: 500 }));
  const c = contacts(n, 30, [[0, 19]], [[15, 39]]);
  const plan = planFootLock(c, ankles, { strength: 1, method: 'chain' });
  for (let t = 0; t < n; t++) {
    // Drift fully removed on every frame, including across the hand-over.
    assert.ok(Math.abs(plan.matrices[t][2] + t) < 1e-6, `frame ${t}: tx ${plan.matrices[t][2]}`);
  }
  // Right foot's anchor is where the running correction put it at touch-down (x = 300 + 15 - 15).
  assert.ok(Math.abs(plan.anchors.right[15]!.x - 300) < 1e-6);
  const jumps = lockJump(plan.matrices, ankles.frames.map((f) => f.keypoints));
  assert.ok(jumps.max <= 1 + 1e-6, `jump ${jumps.max}`);
});

test('lock (chain): hand-overs between feet that disagree are eased, not jumped', () => {
  // Left slides +2 px/frame, right stands still: the correction must change smoothly at the hand-over.
  const n = 40;
  const ankles = track(n, 30, (t) => ({ x: 100 + 2 * t, y: 500 }), () => ({ x: 300, y: 500 }));
  const c = contacts(n, 30, [[0, 24]], [[15, 39]]);
  const eased = planFootLock(c, ankles, { strength: 1, smoothing: 0, method: 'chain' });
  const abrupt = planFootLock(c, ankles, { strength: 1, ease: 0, smoothing: 0, method: 'chain' });
  const pts = ankles.frames.map((f) => f.keypoints);
  const je = lockJump(eased.matrices, pts).max, ja = lockJump(abrupt.matrices, pts).max;
  // Without easing the right foot's arrival halves the weight of the left at once: a jump.
  assert.ok(ja > 5, `abrupt ${ja}`);
  assert.ok(je < ja / 2, `eased ${je} vs abrupt ${ja}`);
});

test('lock (chain): without contacts the correction is held, then returns to identity at a bounded speed', () => {
  const n = 150, fps = 30, h = 400;
  const ankles = track(n, fps, (t) => ({ x: 100 + t, y: 500 }), () => ({ x: 300, y: 500 }));
  const c = contacts(n, fps, [[0, 29]], [], h);
  const plan = planFootLock(c, ankles, { strength: 1, hold: 1, returnSpeed: 0.05, smoothing: 0, method: 'chain' });
  const tx = plan.matrices.map((m) => m[2]);
  assert.ok(Math.abs(tx[29] + 29) < 1e-6);
  for (let t = 30; t <= 59; t++) assert.ok(Math.abs(tx[t] - tx[29]) < 1e-9, `held at ${t}`);
  const step = (0.05 * h) / fps; // 0.667 px per frame
  for (let t = 61; t < n; t++) assert.ok(Math.abs(tx[t] - tx[t - 1]) <= step + 1e-9);
  assert.ok(tx[n - 1] === 0, `back to identity: ${tx[n - 1]}`);
});

test('lock: with --similarity both planted feet are held through a scale change; without, the translation splits it', () => {
  // The layer grows 2 % per 10 frames about x = 200: feet at 100 and 300 move apart symmetrically.
  const n = 30;
  const s = (t: number) => 1 + 0.002 * t;
  const ankles = track(n, 30, (t) => ({ x: 200 - 100 * s(t), y: 500 }), (t) => ({ x: 200 + 100 * s(t), y: 500 }));
  const c = contacts(n, 30, [[0, n - 1]], [[0, n - 1]]);
  const sim = planFootLock(c, ankles, { strength: 1, similarity: true, smoothing: 0 });
  const tr = planFootLock(c, ankles, { strength: 1, similarity: false, smoothing: 0 });
  const err = (plan: typeof sim, t: number) => {
    const l = applyMat(plan.matrices[t], ankles.frames[t].keypoints[15]);
    const r = applyMat(plan.matrices[t], ankles.frames[t].keypoints[16]);
    return Math.max(Math.abs(l.x - 100), Math.abs(r.x - 300));
  };
  assert.ok(err(sim, n - 1) < 1e-6, `similarity residual ${err(sim, n - 1)}`);
  assert.ok(Math.abs(err(tr, n - 1) - 100 * (s(n - 1) - 1)) < 1e-6, `translation residual ${err(tr, n - 1)}`);
});

for (const method of ['global', 'chain'] as const)
test(`lock (${method}): on a noisy synthetic walker with a slow drift, sliding and jumps meet the 720p targets`, () => {
  const h = 450;
  const g = generateGait({ seed: 21, bodyHeight: h, frames: 240, speed: 0.7, noise: 0.004 });
  const n = g.track.frames.length;
  // Generator-drift stand-in: the person layer drifts slowly (0.4 px/frame plus a wobble).
  const drift = Array.from({ length: n }, (_, t) => ({ x: 0.4 * t + 5 * Math.sin(t / 20), y: 3 * Math.sin(t / 35) }));
  const generated: PoseTrack = {
    ...g.track,
    frames: g.track.frames.map((f, t) => ({ ...f, keypoints: f.keypoints.map((k) => ({ ...k, x: k.x + drift[t].x, y: k.y + drift[t].y })) })),
  };
  const c = detectContacts(g.track);
  const plan = planFootLock(c, generated, { method });
  const labels = [g.contacts.left, g.contacts.right];
  const truthDrifted = [g.truth.left, g.truth.right].map((ps) => ps.map((p, t) => ({ x: p.x + drift[t].x, y: p.y + drift[t].y })));
  const opts = { fps: 30, bodyHeight: h, camera: g.camera };
  const before = footSliding(truthDrifted.map((p, i) => ({ position: p, contact: labels[i] })), opts);
  const after = footSliding(
    truthDrifted.map((ps, i) => ({ position: ps.map((p, t) => applyMat(plan.matrices[t], p)), contact: labels[i] })),
    opts,
  );
  assert.ok(after.meanPx < 0.6 * before.meanPx, `mean sliding ${before.meanPx} -> ${after.meanPx}`);
  assert.ok(after.p95Px <= 0.5, `p95 ${after.p95Px}`);
  assert.ok(after.skateRatio <= 0.02, `skate ${after.skateRatio}`);
  const jump = lockJump(plan.matrices, generated.frames.map((f) => f.keypoints.filter((k) => k.valid)));
  assert.ok(jump.max <= 1.5, `jump ${jump.max} at ${jump.frame}`);
});

test('lock (chain): smoothing the correction keeps a steady drift exactly and spreads a kink over several frames', () => {
  const n = 60;
  // Steady drift: the smoothed correction equals the raw one everywhere, ends included.
  const steady = track(n, 30, (t) => ({ x: 100 + 0.7 * t, y: 500 }), () => ({ x: 300, y: 500 }));
  const c = contacts(n, 30, [[0, n - 1]], []);
  const raw = planFootLock(c, steady, { strength: 1, smoothing: 0, method: 'chain' });
  const smooth = planFootLock(c, steady, { strength: 1, smoothing: 0.2, method: 'chain' });
  for (let t = 0; t < n; t++) assert.ok(Math.abs(raw.matrices[t][2] - smooth.matrices[t][2]) < 1e-9, `frame ${t}`);
  // Two contacts whose fitted slopes differ: the kink in the correction is spread over several frames.
  const kinked = track(n, 30, (t) => ({ x: 100 + (t < 30 ? 0 : 3 * (t - 30)), y: 500 }), () => ({ x: 300, y: 500 }));
  const c2 = contacts(n, 30, [[0, 29], [30, n - 1]], []);
  // Largest second difference of the x correction (px/frame^2): 3 at the raw kink (0 -> -3 px/frame).
  const acc = (p: ReturnType<typeof planFootLock>) => Math.max(...p.matrices.slice(2).map((m, i) => Math.abs(m[2] - 2 * p.matrices[i + 1][2] + p.matrices[i][2])));
  const rawAcc = acc(planFootLock(c2, kinked, { strength: 1, smoothing: 0, method: 'chain' }));
  const smoothAcc = acc(planFootLock(c2, kinked, { strength: 1, smoothing: 0.2, method: 'chain' }));
  assert.ok(Math.abs(rawAcc - 3) < 1e-6, `raw ${rawAcc}`);
  // Gaussian sigma 6 frames spreads it: peak about 3 / (sqrt(2 pi) 6) = 0.2.
  assert.ok(smoothAcc < 0.3, `smoothed ${smoothAcc}`);
});

test('lock (global): a steady drift under alternating feet is removed exactly, then held and returned after the last contact', () => {
  const n = 120, fps = 30, h = 400;
  // The whole layer drifts (+1, -0.5) px/frame; left planted 0-24 and 50-69, right 20-54. No contact after 69.
  const ankles = track(n, fps, (t) => ({ x: 100 + t, y: 500 - 0.5 * t }), (t) => ({ x: 300 + t, y: 500 - 0.5 * t }));
  const c = contacts(n, fps, [[0, 24], [50, 69]], [[20, 54]], h);
  const plan = planFootLock(c, ankles, { strength: 1, hold: 1, returnSpeed: 0.05 });
  const tx = plan.matrices.map((m) => m[2]), ty = plan.matrices.map((m) => m[5]);
  // Removed up to a constant (where the layer ends up is free): the offset changes by (-1, +0.5) px/frame, to within
  // the 1e-6 pull towards zero that keeps the problem well posed (0.5 % here).
  for (let t = 1; t <= 69; t++) {
    assert.ok(Math.abs(tx[t] - tx[t - 1] + 1) < 5e-3, `x step at ${t}: ${tx[t] - tx[t - 1]}`);
    assert.ok(Math.abs(ty[t] - ty[t - 1] - 0.5) < 5e-3, `y step at ${t}: ${ty[t] - ty[t - 1]}`);
  }
  // The layer stays in place at the first planted frame.
  assert.ok(Math.hypot(tx[0], ty[0]) < 1e-9);
  // After the last contact: held for 1 s (30 frames), then back towards zero at most 0.05 h/s = 0.667 px/frame.
  for (let t = 70; t <= 99; t++) assert.ok(Math.hypot(tx[t] - tx[69], ty[t] - ty[69]) < 1e-9, `held at ${t}`);
  for (let t = 100; t < n; t++) assert.ok(Math.hypot(tx[t] - tx[t - 1], ty[t] - ty[t - 1]) <= (0.05 * h) / fps + 1e-9);
  assert.ok(Math.hypot(tx[n - 1], ty[n - 1]) < Math.hypot(tx[69], ty[69]));
});

test('lock (global): pooling several contacts holds a noisy ankle better than per-contact fits', () => {
  // Twenty short contacts (5 frames at 10 fps) of one foot with 1 px jitter; the layer drifts 0.5 px/frame.
  const n = 200, fps = 10;
  const normal = gaussian(mulberry32(7));
  const jitter = Array.from({ length: n }, () => ({ x: normal(), y: normal() }));
  const ankles = track(n, fps, (t) => ({ x: 100 + 0.5 * t + jitter[t].x, y: 500 + jitter[t].y }), () => ({ x: 300, y: 500 }));
  const spans: [number, number][] = Array.from({ length: 20 }, (_, k) => [10 * k, 10 * k + 4]);
  const c = contacts(n, fps, spans, [], 65);
  const residual = (method: 'chain' | 'global') => {
    const plan = planFootLock(c, ankles, { strength: 1, method, stiffness: 1 });
    // The true ankle moves 0.5 px/frame; after the lock it should stand still on planted steps.
    let s = 0, k = 0;
    for (const [a, b] of spans) for (let t = a + 1; t <= b; t++) { s += Math.abs(0.5 + plan.matrices[t][2] - plan.matrices[t - 1][2]); k++; }
    return s / k;
  };
  const g = residual('global'), ch = residual('chain');
  // Per-contact slopes from 5 samples with 1 px jitter are off by ~0.3 px/frame; pooling 20 contacts cuts that.
  assert.ok(g < 0.75 * ch, `global ${g} vs chain ${ch} px/frame`);
  assert.ok(g < 0.25, `global ${g}`);
});

test('lock: similarity needs the chain method', () => {
  const c = contacts(10, 30, [[0, 9]], [[0, 9]]);
  const t = track(10, 30, () => ({ x: 0, y: 0 }), () => ({ x: 100, y: 0 }));
  assert.equal(planFootLock(c, t, { similarity: true }).params.method, 'chain');
  assert.throws(() => planFootLock(c, t, { similarity: true, method: 'global' }), /chain/);
});

test('lock: mismatched lengths and bad options are refused', () => {
  const c = contacts(10, 30, [[0, 9]], []);
  assert.throws(() => planFootLock(c, track(9, 30, () => ({ x: 0, y: 0 }), () => ({ x: 0, y: 0 }))), (e: unknown) => e instanceof ReshootError && /9 frames/.test(e.message));
  assert.throws(() => planFootLock(c, track(10, 30, () => ({ x: 0, y: 0 }), () => ({ x: 0, y: 0 })), { strength: 1.5 }), /strength/);
});
