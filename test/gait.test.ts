import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaitSet, generateGait, locateMarker, renderGaitFrame } from '../src/datasets/index.js';

const runs = (a: boolean[]) => {
  const out: [number, number][] = [];
  let s = -1;
  for (let i = 0; i <= a.length; i++) {
    if (i < a.length && a[i]) {
      if (s < 0) s = i;
    } else if (s >= 0) {
      out.push([s, i - 1]);
      s = -1;
    }
  }
  return out;
};

test('gait: the same seed gives the same track, another seed another one', () => {
  const a = generateGait({ seed: 11, frames: 60 });
  const b = generateGait({ seed: 11, frames: 60 });
  const c = generateGait({ seed: 12, frames: 60 });
  assert.deepEqual(a.track, b.track);
  assert.deepEqual(a.contacts, b.contacts);
  assert.notDeepEqual(a.track.frames[10].keypoints, c.track.frames[10].keypoints);
});

test('gait: during a labelled stance the ankle is fixed in the world (moves only with the camera)', () => {
  const g = generateGait({ seed: 3, frames: 200, shake: { rms: 3, cutoffHz: 2 } });
  for (const foot of ['left', 'right'] as const) {
    const stance = runs(g.contacts[foot]);
    assert.ok(stance.length >= 4, `${foot}: ${stance.length} stance phases in 200 frames`);
    for (const [s, e] of stance) {
      const w0 = { x: g.truth[foot][s].x - g.camera[s].x, y: g.truth[foot][s].y - g.camera[s].y };
      for (let t = s; t <= e; t++) {
        assert.ok(Math.abs(g.truth[foot][t].x - g.camera[t].x - w0.x) < 1e-9);
        assert.ok(Math.abs(g.truth[foot][t].y - g.camera[t].y - w0.y) < 1e-9);
      }
    }
    // Camera shake does move the planted ankle in the image.
    const [s, e] = stance[1];
    const xs = g.truth[foot].slice(s, e + 1).map((p) => p.x);
    assert.ok(Math.max(...xs) - Math.min(...xs) > 0.05);
  }
});

test('gait: swing is a forward arc above the ground, one stride per cycle', () => {
  const h = 300, speed = 0.8, cycle = 1.1, fps = 30;
  const g = generateGait({ seed: 5, frames: 150, bodyHeight: h, speed, cycle, fps, shake: { rms: 0, cutoffHz: 1 }, direction: -1 });
  const stride = speed * h * cycle;
  for (const foot of ['left', 'right'] as const) {
    const swing = runs(g.contacts[foot].map((c) => !c)).filter(([s, e]) => s > 0 && e < 149);
    assert.ok(swing.length >= 2);
    for (const [s, e] of swing) {
      const before = g.truth[foot][s - 1], after = g.truth[foot][e + 1];
      // direction -1: the foot moves left by one stride.
      assert.ok(Math.abs(before.x - after.x - stride) < 1e-6, `stride ${before.x - after.x} vs ${stride}`);
      for (let t = s; t <= e; t++) {
        assert.ok(g.truth[foot][t].y < before.y, 'a swinging ankle is above the ground');
        assert.ok(g.truth[foot][t].x <= before.x + 1e-9 && g.truth[foot][t].x >= after.x - 1e-9);
      }
    }
    // Stance share of the cycle: 0.62 by default, within one frame per cycle.
    const share = g.contacts[foot].filter(Boolean).length / 150;
    assert.ok(Math.abs(share - 0.62) < fps / cycle / 150 + 0.02, `stance share ${share}`);
  }
  // Body size: nose to planted ankle is h (minus the small pelvis bob).
  const t = g.contacts.left.indexOf(true);
  assert.ok(Math.abs(g.skeleton[t][15].y - g.skeleton[t][0].y - h) < 0.02 * h);
});

test('gait: observed keypoints carry the requested jitter; missed ankles are marked invalid with a low score', () => {
  const h = 400, noise = 0.01;
  const g = generateGait({ seed: 9, frames: 400, bodyHeight: h, noise, outlierRate: 0, missRate: 0.03, lostRate: 0 });
  const errs: number[] = [];
  let invalid = 0;
  g.track.frames.forEach((f, t) => {
    for (const [k, foot] of [[15, 'left'], [16, 'right']] as const) {
      const kp = f.keypoints[k];
      if (!kp.valid) {
        invalid++;
        assert.ok(kp.score < g.track.minScore);
        continue;
      }
      errs.push(kp.x - g.truth[foot][t].x, kp.y - g.truth[foot][t].y);
    }
  });
  const sd = Math.sqrt(errs.reduce((s, v) => s + v * v, 0) / errs.length);
  assert.ok(Math.abs(sd - noise * h) < 0.1 * noise * h, `jitter sd ${sd} px, asked ${noise * h}`);
  assert.ok(invalid > 10 && invalid < 200, `${invalid} missed ankles`);
});

test('gait: the evaluation set spans body sizes, noise levels and speeds', () => {
  const set = gaitSet();
  assert.equal(set.length, 4 * 3 * 3);
  assert.deepEqual([...new Set(set.map((c) => c.spec.bodyHeight))], [80, 160, 320, 520]);
  assert.deepEqual([...new Set(set.map((c) => c.spec.noise))], [0.002, 0.005, 0.01]);
  assert.equal(new Set(set.map((c) => c.spec.seed)).size, set.length);
});

test('gait: the rendered walker shows its ankle markers where the truth says, and its mask covers it', () => {
  const g = generateGait({ seed: 4, width: 320, height: 240, bodyHeight: 150, frames: 10, shake: { rms: 0, cutoffHz: 1 } });
  const offset = { x: 3.25, y: -1.5 };
  const r = renderGaitFrame(g, 5, offset);
  for (const foot of ['left', 'right'] as const) {
    const p = g.truth[foot][5];
    const m = locateMarker(r.frame, foot, { x: p.x + offset.x, y: p.y + offset.y }, 15);
    assert.ok(Math.hypot(m.x - p.x - offset.x, m.y - p.y - offset.y) < 0.15, `${foot} marker at ${m.x},${m.y}`);
    const i = Math.round(p.y + offset.y) * 320 + Math.round(p.x + offset.x);
    assert.equal(r.mask.data[i], 255);
  }
  assert.equal(r.mask.data[0], 0);
  const plate = renderGaitFrame(g, 5, offset, false);
  assert.ok(plate.mask.data.every((v) => v === 0));
});
