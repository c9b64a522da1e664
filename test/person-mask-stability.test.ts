import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MaskStabilityMeter, TemporalMaskFilter, maskPairStats } from '../src/person-mask/stability.js';
import type { GrayFrame } from '../src/video/types.js';
import { runCli } from './helpers.js';

const W = 96;
const H = 64;

/** A filled rectangle [x, x+w) x [y, y+h) of value v on 0. */
function rect(x: number, y: number, w: number, h: number, v = 255): GrayFrame {
  const data = new Uint8Array(W * H);
  for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) data[j * W + i] = v;
  return { width: W, height: H, data };
}

/** A textured frame (smooth blobs, so Farneback finds the motion) shifted right by dx. */
function textured(dx: number): GrayFrame {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x - dx;
      data[y * W + x] = Math.round(128 + 60 * Math.sin(u / 5) * Math.cos(y / 6) + 40 * Math.sin((u + y) / 9));
    }
  }
  return { width: W, height: H, data };
}

test('maskPairStats: IoU and boundary jitter of a square moved sideways, by hand', () => {
  // 20x20 square moved 2 px: overlap 18x20 = 360, union 22x20 = 440, xor 80; boundary 4*20-4 = 76 px each.
  const s = maskPairStats(rect(10, 10, 20, 20), rect(12, 10, 20, 20));
  assert.ok(Math.abs(s.iou - 360 / 440) < 1e-12);
  assert.ok(Math.abs(s.jitterPx - 80 / 76) < 1e-12);
  assert.deepEqual(maskPairStats(rect(10, 10, 20, 20), rect(10, 10, 20, 20)), { iou: 1, jitterPx: 0 });
  assert.deepEqual(maskPairStats(rect(0, 0, 0, 0), rect(0, 0, 0, 0)), { iou: 1, jitterPx: 0 });
  // Soft values below the threshold are outside.
  assert.equal(maskPairStats(rect(10, 10, 20, 20, 127), rect(10, 10, 20, 20)).iou, 0);
});

test('the meter takes the motion out: a mask moving with the scene scores near 1, a mask jumping against it does not', async () => {
  const still = new MaskStabilityMeter(1);
  const jumpy = new MaskStabilityMeter(1);
  for (let t = 0; t < 4; t++) {
    const g = textured(2 * t);
    await still.push(g, rect(30 + 2 * t, 20, 24, 30));
    // Same motion, plus +-3 px of flicker on the right edge every other frame.
    await jumpy.push(g, rect(30 + 2 * t, 20, 24 + (t % 2 ? 3 : -3), 30));
  }
  const a = still.summary(), b = jumpy.summary();
  assert.equal(a.pairs, 3);
  assert.ok(a.iouMean > 0.95, `moving with the scene: IoU ${a.iouMean}`);
  assert.ok(a.jitterMeanPx < 0.3, `jitter ${a.jitterMeanPx}`);
  // 6 px edge change on a ~24x30 rectangle: IoU near 0.8, jitter near 6*30/(~100) = 1.7 px.
  assert.ok(b.iouMean < 0.85, `flickering edge: IoU ${b.iouMean}`);
  assert.ok(b.jitterMeanPx > 1.2, `jitter ${b.jitterMeanPx}`);
  // A frame without a mask breaks the chain: no pair for it or the next.
  await still.push(textured(8), null);
  await still.push(textured(10), rect(40, 20, 24, 30));
  assert.equal(still.summary().pairs, 3);
});

test('the temporal filter blends the warped previous output with the new mask and restarts without one', async () => {
  assert.throws(() => new TemporalMaskFilter({ strength: 1 }), /\[0, 1\)/);
  const f = new TemporalMaskFilter({ strength: 0.5, flowScale: 1 });
  const g0 = textured(0);
  const first = await f.push(g0, rect(30, 20, 24, 30));
  assert.deepEqual(first!.data, rect(30, 20, 24, 30).data, 'the first frame is passed through');
  // Static scene; the new mask lost its right 4 columns: there the output is 0.5 * 255 = 128 (rounded).
  const second = (await f.push(g0, rect(30, 20, 20, 30)))!;
  assert.equal(second.data[35 * W + 40], 255);
  assert.ok(Math.abs(second.data[35 * W + 52] - 128) <= 2, `edge column blended: ${second.data[35 * W + 52]}`);
  assert.equal(second.data[35 * W + 10], 0);
  assert.equal(await f.push(g0, null), null);
  const restarted = (await f.push(g0, rect(0, 0, 10, 10)))!;
  assert.equal(restarted.data[35 * W + 40], 0, 'nothing carried over a frame without a mask');
});

test('reshoot masks --temporal outside [0, 1) is one clear line', async () => {
  const r = await runCli(['masks', 'nothing.mp4', '-o', 'nothing-masks.mp4', '--temporal', '1']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim(), 'reshoot: --temporal must be in [0, 1); got 1');
});
