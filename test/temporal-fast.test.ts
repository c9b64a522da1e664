import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { applyTemporalConsistency, motionBoundaryMask, TemporalConsistency } from '../src/temporal/index.js';
import { detailWeight, fusedBlend, softenMask } from '../src/temporal/separated.js';
import { ReshootError } from '../src/util/errors.js';
import type { Frame } from '../src/video/index.js';
import { mediaFile } from './helpers.js';

async function loadRgb(name: string): Promise<Frame> {
  const { data, info } = await sharp(mediaFile(name)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** A w x h crop of the photo, values compressed to 20..235 so offsets do not clip. */
function crop(img: Frame, w: number, h: number): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 20 + Math.round((img.data[((40 + y) * img.width + 40 + x) * 3 + c] * 215) / 255);
  return { width: w, height: h, data };
}

function meanDiff(a: Frame, b: Frame): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] - b.data[i];
  return s / a.data.length;
}

test('motionBoundaryMask: a flow step is a motion boundary, flow leaving the frame is unreliable, smooth flow is reliable', () => {
  const w = 12, h = 6;
  const data = new Float32Array(w * h * 2);
  // u = 1 px for x < 6, 3 px from x = 6 on; v = 0.
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[2 * (y * w + x)] = x < 6 ? 1 : 3;
  const m = motionBoundaryMask({ width: w, height: h, data });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // x = 5: forward difference (1 - 3)^2 = 4 > 0.01 * 1 + 0.002. x + u > 11 (x >= 9 with u = 3): out of frame.
      const expected = x === 5 || x >= 9 ? 0 : 1;
      assert.equal(m[y * w + x], expected, `(${x}, ${y})`);
    }
  }
});

test('softenMask: 3x3 box average of a 0/1 mask', async () => {
  const w = 5, h = 5, mask = new Uint8Array(w * h);
  mask[2 * w + 2] = 1;
  const s = await softenMask(mask, w, h);
  // The single reliable pixel spreads 1/9 over its 3x3 neighbourhood.
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) assert.ok(Math.abs(s[y * w + x] - (Math.abs(x - 2) <= 1 && Math.abs(y - 2) <= 1 ? 1 / 9 : 0)) < 1e-6, `(${x}, ${y}): ${s[y * w + x]}`);
});

test('detailWeight: full weight where W is explained by the colour match, a Gaussian of the distance elsewhere, zero where the flow is unreliable', async () => {
  const w = 16, h = 12, n = w * h;
  const affine = { gain: [1.1, 0.9, 1] as [number, number, number], offset: [-5, 8, 2] as [number, number, number] };
  const gs = new Uint8Array(n * 3), ws = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const g = 60 + ((i * 7 + c * 13) % 90);
      gs[3 * i + c] = g;
      // Left half: W = affine(G) exactly (hand-made integers: values chosen so it is whole); right half 30 levels above it.
      ws[3 * i + c] = Math.round(affine.gain[c] * g + affine.offset[c]) + (i % w >= 8 ? 30 : 0);
    }
  }
  const conf = new Float32Array(n).fill(1);
  conf[5 * w + 2] = 0;
  const { weight, tolerance } = await detailWeight(gs, ws, conf, undefined, affine, w, h, { strength: 0.8, tolerance: 10, radius: 0 });
  assert.equal(tolerance, 10);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      // d: rounding of affine(G) leaves at most 0.5 level; the right half is 30 +- 0.5 levels off.
      const expected = x === 2 && y === 5 ? 0 : x >= 8 ? 0.8 * Math.exp(-(30 * 30) / 200) : 0.8;
      const tol = x >= 8 ? 0.8 * Math.exp(-(29.5 * 29.5) / 200) - expected : 0.8 * (1 - Math.exp(-0.5 * 0.5 / 200)) + 0.01;
      assert.ok(Math.abs(weight[i] - expected) <= tol + 1e-4, `(${x}, ${y}): ${weight[i]} vs ${expected}`);
    }
  }
});

test('fusedBlend: out = G + colorStrength (affine(G) - G) + fieldStrength F + w (W - affine(G) - F), rounded and clamped', () => {
  const G = new Uint8Array([100, 50, 200, 10, 250, 128]);
  const W = new Uint8Array([120, 40, 210, 0, 255, 100]);
  const F = new Float32Array([2, -3, 4, -1, 5, 0]);
  const weight = new Float32Array([0.5, 0]);
  const affine = { gain: [1.2, 0.8, 1] as [number, number, number], offset: [-10, 6, 3] as [number, number, number] };
  const out = fusedBlend(G, W, weight, F, affine, 0.9, 0.5);
  // Pixel 0, channel 0 by hand: affine 1.2*100-10 = 110; C = 100 + 0.9*10 + 0.5*2 = 110; W - M = 120 - 112 = 8; out = 110 + 4 = 114.
  // Channel 1: affine 0.8*50+6 = 46; C = 50 - 3.6 - 1.5 = 44.9; W - M = 40 - 43 = -3; out = 43.4 -> 43.
  // Channel 2: affine 203; C = 200 + 2.7 + 2 = 204.7; W - M = 210 - 207 = 3; out = 206.2 -> 206.
  // Pixel 1 (w = 0): affine 1.2*10-10 = 2 -> C = 10 - 0.9*8 - 0.5 = 2.3 -> 2; 250: 206 -> 250 - 39.6 + 2.5 = 212.9 -> 213; 128: 131 -> 128 + 2.7 = 130.7 -> 131.
  assert.deepEqual([...out], [114, 43, 206, 2, 213, 131]);
  // Clamped, not wrapped: a large positive and negative result.
  const c = fusedBlend(new Uint8Array([250, 5, 5]), new Uint8Array([250, 5, 5]), new Float32Array([0]), undefined, { gain: [1, 1, 1], offset: [30, -30, 0] }, 1, 0);
  assert.deepEqual([...c], [255, 0, 5]);
});

test('colorMemory: the colour weight of the n-th frame follows max(colorStrength, 1 - 1 / min(n + 1, colorMemory)); bad values are user errors', async () => {
  const base = crop(await loadRgb('rubberwhale1.png'), 96, 64);
  const offsets = [0, 12, 0, 0, 0];
  const gen = offsets.map((o) => ({ ...base, data: base.data.map((v) => v + o) }));
  const still = offsets.map(() => base);
  const opts = { colorStrength: 0.5, fieldStrength: 0, detailStrength: 0, dejitter: 0 };
  // By hand, mean offset out_t = (1 - k_t) o_t + k_t out_{t-1}.
  // colorMemory 1: k = 0.5 always -> 0, 6, 3, 1.5, 0.75.
  // colorMemory 4: k = 0.5, max(0.5, 2/3), max(0.5, 3/4), 3/4 -> 0, 6, 4, 3, 2.25.
  const cases: [number, number[]][] = [
    [1, [0, 6, 3, 1.5, 0.75]],
    [4, [0, 6, 4, 3, 2.25]],
  ];
  for (const [colorMemory, expected] of cases) {
    const out = await applyTemporalConsistency(still, gen, { ...opts, colorMemory });
    out.forEach((f, t) => assert.ok(Math.abs(meanDiff(f, base) - expected[t]) < 0.3, `colorMemory ${colorMemory} frame ${t}: ${meanDiff(f, base).toFixed(2)} vs ${expected[t]}`));
  }
  assert.throws(() => new TemporalConsistency({ colorMemory: 0 }), ReshootError);
  assert.throws(() => new TemporalConsistency({ colorMemory: 2.5 }), ReshootError);
  assert.throws(() => new TemporalConsistency({ occlusion: 'none' as 'guard' }), ReshootError);
  assert.throws(() => new TemporalConsistency({ detailGrid: 'half' as 'flow' }), ReshootError);
});

test('globalShift: a frame of different content (not a shifted copy) gives no shift; a shifted copy does, and its residual is small', async () => {
  const { globalShift, shiftFrame } = await import('../src/temporal/separated.js');
  const { rgbToGray } = await import('../src/flow/index.js');
  const a = crop(await loadRgb('building.jpg'), 160, 120);
  const b = crop(await loadRgb('rubberwhale1.png'), 160, 120);
  const gray = (f: Frame) => rgbToGray(f).data;
  // Unrelated content: whatever translation Gauss-Newton settles on explains almost nothing of the difference.
  assert.equal(await globalShift(gray(b), gray(a), 160, 120), null);
  // A real 0.4 px shift of the same image is found and explains nearly all of it.
  const shifted = await shiftFrame(a, 0.4, 0.2);
  const p = await globalShift(gray(a), gray(shifted), 160, 120);
  assert.ok(p && Math.abs(p.dx - 0.4) < 0.05 && Math.abs(p.dy - 0.2) < 0.05, JSON.stringify(p));
  assert.ok(p.residual < 0.2, `residual ${p.residual}`);
});
