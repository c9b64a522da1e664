import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { applyTemporalConsistency, TemporalConsistency } from '../src/temporal/index.js';
import { globalShift, shiftFrame, globalColorFit, lowFrequencyField } from '../src/temporal/separated.js';
import { flickerTruth, perturbClip, scoreFlicker, gradientMagnitude, geometricMean } from '../src/temporal/flicker-set.js';
import { psnr, meanAbsDiff } from '../src/metrics/index.js';
import { rgbToGray } from '../src/flow/index.js';
import type { Frame } from '../src/video/index.js';
import { mediaFile } from './helpers.js';

async function loadRgb(name: string): Promise<Frame> {
  const { data, info } = await sharp(mediaFile(name)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** A w x h window sliding by (dx, dy) px per frame over the photo, values compressed to 20..235 so perturbations rarely clip. */
function slidingClip(img: Frame, n: number, w: number, h: number, dx: number, dy: number): Frame[] {
  return Array.from({ length: n }, (_, t) => {
    const x0 = 40 + dx * t, y0 = 40 + dy * t;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 20 + Math.round((img.data[((y0 + y) * img.width + x0 + x) * 3 + c] * 215) / 255);
      }
    }
    return { width: w, height: h, data };
  });
}

/** Per-channel v' = g_c v + o_c, rounded and clamped. */
function affine(f: Frame, g: number[], o: number[]): Frame {
  return { ...f, data: f.data.map((v, i) => Math.max(0, Math.min(255, Math.round(g[i % 3] * v + o[i % 3])))) };
}

test('separated: global flicker (per-channel gain and offset, kind A) is removed exactly at colorStrength 1 on a static shot', async () => {
  const still = slidingClip(await loadRgb('rubberwhale1.png'), 8, 96, 64, 0, 0);
  // Hand-chosen gains/offsets per frame; frame 0 is the identity, so the consistent output is the clean clip.
  const params: [number[], number[]][] = [
    [[1, 1, 1], [0, 0, 0]],
    [[1.08, 0.95, 1.02], [-6, 4, 2]],
    [[0.93, 1.05, 0.97], [8, -5, 3]],
    [[1.05, 1.05, 1.05], [-10, -10, -10]],
    [[0.95, 1.0, 1.1], [6, 0, -12]],
    [[1.1, 0.9, 1.0], [-8, 10, 0]],
    [[1, 1, 1], [12, 12, 12]],
    [[0.9, 1.1, 0.95], [10, -8, 6]],
  ];
  const gen = still.map((f, t) => affine(f, ...params[t]));
  const out = await applyTemporalConsistency(still, gen, { colorStrength: 1, fieldStrength: 1 });
  for (let t = 1; t < still.length; t++) {
    // The generated frame is 7-11 levels off; the output is within rounding of the clean frame.
    assert.ok(meanAbsDiff(gen[t], still[t]) > 2, `frame ${t} perturbation too small`);
    assert.ok(meanAbsDiff(out[t], still[t]) < 1.0, `frame ${t}: output ${meanAbsDiff(out[t], still[t]).toFixed(2)} levels from clean`);
  }
  // The earlier 'blend' method leaves a large part of it (at s = 0.6 at least 40 % of each new change).
  const blend = await applyTemporalConsistency(still, gen, { method: 'blend' });
  assert.ok(meanAbsDiff(blend[6], still[6]) > 3, `blend frame 6: ${meanAbsDiff(blend[6], still[6])}`);
});

test('separated: with colorStrength 0.9 an early frame\'s colour bias fades geometrically (long-term anchor), not kept forever', async () => {
  const still = slidingClip(await loadRgb('rubberwhale1.png'), 25, 64, 48, 0, 0);
  // Frame 0 is 12 levels too bright, the rest are clean. At strength 1 the bias is kept (12); at 0.9 it must fade.
  // (It fades more slowly than the 0.9^t of the colour step alone: the detail blend keeps part of W.)
  const gen = still.map((f, t) => (t === 0 ? affine(f, [1, 1, 1], [12, 12, 12]) : f));
  const out = await applyTemporalConsistency(still, gen, { colorStrength: 0.9, fieldStrength: 0.9 });
  const bias = (t: number) => out[t].data.reduce((s, v, i) => s + v - still[t].data[i], 0) / still[t].data.length;
  assert.ok(bias(5) < 12 && bias(10) < bias(5) && bias(20) < bias(10), `bias ${bias(5)}, ${bias(10)}, ${bias(20)}`);
  assert.ok(bias(20) < 6, `frame 20: bias ${bias(20).toFixed(2)}`);
  const kept = await applyTemporalConsistency(still, gen, { colorStrength: 1, fieldStrength: 1 });
  assert.ok(Math.abs(kept[20].data.reduce((s, v, i) => s + v - still[20].data[i], 0) / still[20].data.length - 12) < 1.5);
});

test('globalShift recovers a known sub-pixel shift of a real image; the separated method undoes generator jitter', async () => {
  const img = slidingClip(await loadRgb('building.jpg'), 1, 160, 120, 0, 0)[0];
  const shifted = await shiftFrame(img, 0.6, -0.35); // shifted(x) = img(x + (0.6, -0.35))
  const gray = (f: Frame) => rgbToGray(f).data;
  // G(x + p) ~ T(x) with G = img, T = shifted: p = (0.6, -0.35). Brightness and contrast must not matter.
  const p = await globalShift(gray(affine(img, [1.2, 1.2, 1.2], [-20, -20, -20])), gray(shifted), 160, 120);
  assert.ok(p, 'no estimate');
  assert.ok(Math.abs(p.dx - 0.6) < 0.05 && Math.abs(p.dy + 0.35) < 0.05, `estimated (${p.dx.toFixed(3)}, ${p.dy.toFixed(3)})`);
  // A flat image has no shift to find.
  assert.equal(await globalShift(new Uint8Array(160 * 120).fill(90), gray(shifted), 160, 120), null);

  const still = slidingClip(await loadRgb('building.jpg'), 6, 160, 120, 0, 0);
  const jitter = [[0, 0], [0.5, -0.4], [-0.45, 0.3], [0.4, 0.45], [-0.5, -0.3], [0.3, -0.5]];
  const gen = await Promise.all(still.map((f, t) => shiftFrame(f, jitter[t][0], jitter[t][1])));
  const tc = new TemporalConsistency({ fieldStrength: 0, colorStrength: 0, detailStrength: 0 });
  for (let t = 0; t < still.length; t++) {
    const step = await tc.push(still[t], gen[t]);
    if (t === 0) continue;
    assert.ok(step.shift, `frame ${t}: no shift undone`);
    assert.ok(Math.abs(step.shift.dx + jitter[t][0]) < 0.1 && Math.abs(step.shift.dy + jitter[t][1]) < 0.1, `frame ${t}: undid (${step.shift.dx.toFixed(2)}, ${step.shift.dy.toFixed(2)}) for jitter ${jitter[t]}`);
    assert.ok(psnr(step.frame, still[t]) > psnr(gen[t], still[t]) + 3, `frame ${t}: ${psnr(step.frame, still[t]).toFixed(2)} vs ${psnr(gen[t], still[t]).toFixed(2)} dB`);
  }
});

test('separated on the flicker set: every kind is cut by more than half on a moving real clip without blurring moving edges', async () => {
  const clean = slidingClip(await loadRgb('building.jpg'), 14, 160, 120, 2, 1);
  const truth = await flickerTruth(clean);
  // The clean clip scores exactly 1 (E), 100 dB (identical frames) and 1, 1 (gradients): the definitions' fixed point.
  const self = await scoreFlicker(truth, clean);
  assert.equal(self.eRatio, 1);
  assert.equal(self.psnr, 100);
  assert.equal(self.grad, 1);
  assert.equal(self.edge, 1);
  const ratios: number[] = [];
  for (const kind of ['A', 'B', 'C', 'D'] as const) {
    const gen = await perturbClip(clean, kind, 5);
    const before = await scoreFlicker(truth, gen);
    const after = await scoreFlicker(truth, await applyTemporalConsistency(clean, gen));
    ratios.push(after.eRatio);
    assert.ok(after.eRatio < 0.5 * before.eRatio, `${kind}: E ratio ${before.eRatio.toFixed(2)} -> ${after.eRatio.toFixed(2)}`);
    assert.ok(after.psnr > before.psnr, `${kind}: PSNR ${before.psnr.toFixed(2)} -> ${after.psnr.toFixed(2)}`);
    assert.ok(after.grad > 0.9 && after.edge > 0.9, `${kind}: grad ${after.grad.toFixed(3)} edge ${after.edge.toFixed(3)}`);
  }
  assert.ok(geometricMean(ratios) > 0);
});

test('flicker set: A is a per-channel affine of the clean frame, B is smooth, C is strongest on texture, the same seed gives the same clip', async () => {
  const clean = slidingClip(await loadRgb('building.jpg'), 3, 120, 90, 0, 0);
  const a = await perturbClip(clean, 'A', 9);
  // Fit v' = g v + o per channel on frame 1 by least squares: residual only rounding and clamping (< 1 level rms).
  for (let c = 0; c < 3; c++) {
    let sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
    const pairs: [number, number][] = [];
    for (let i = c; i < clean[1].data.length; i += 3) {
      const x = clean[1].data[i], y = a[1].data[i];
      if (y === 0 || y === 255) continue;
      pairs.push([x, y]);
      sx += x; sy += y; sxx += x * x; sxy += x * y; n++;
    }
    const g = (n * sxy - sx * sy) / (n * sxx - sx * sx), o = (sy - g * sx) / n;
    const rms = Math.sqrt(pairs.reduce((s, [x, y]) => s + (y - g * x - o) ** 2, 0) / n);
    assert.ok(rms < 0.6, `channel ${c}: rms ${rms}`);
  }
  const b = await perturbClip(clean, 'B', 9);
  const delta = (f: Frame, t: number) => ({ ...f, data: f.data.map((v, i) => Math.max(0, Math.min(255, 128 + v - clean[t].data[i]))) });
  // Smooth: the blotch field's mean gradient is far below its amplitude (~10 levels over ~40 px).
  const gB = gradientMagnitude(delta(b[1], 1));
  assert.ok(gB.reduce((s, v) => s + v, 0) / gB.length < 1.5, 'B not smooth');
  assert.ok(meanAbsDiff(b[1], clean[1]) > 4, 'B too weak');
  const c = await perturbClip(clean, 'C', 9);
  const grad = gradientMagnitude(clean[1]);
  let flat = 0, nf = 0, tex = 0, nt = 0;
  for (let i = 0; i < grad.length; i++) {
    const d = Math.abs(c[1].data[3 * i] - clean[1].data[3 * i]);
    if (grad[i] < 3) { flat += d; nf++; } else if (grad[i] > 40) { tex += d; nt++; }
  }
  assert.ok(tex / nt > 2 * (flat / nf), `C: textured ${tex / nt}, flat ${flat / nf}`);
  assert.deepEqual((await perturbClip(clean, 'D', 9))[2].data, (await perturbClip(clean, 'D', 9))[2].data);
  await assert.rejects(() => perturbClip(clean, 'E' as 'A', 1), /flicker kind/);
});

test('colour fit and options: mean/std matching is exact on an affine pair; bad options are user errors', () => {
  const src = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 200 + 20);
  const target = Array.from(src, (v, i) => [1.1 * v - 5, 0.9 * v + 7, v + 3][i % 3]);
  const fit = globalColorFit(src, Float32Array.from(target), new Float32Array(100).fill(1), 1);
  fit.gain.forEach((g, c) => assert.ok(Math.abs(g - [1.1, 0.9, 1][c]) < 1e-6, `gain ${c}: ${g}`));
  fit.offset.forEach((o, c) => assert.ok(Math.abs(o - [-5, 7, 3][c]) < 1e-4, `offset ${c}: ${o}`));
  assert.throws(() => new TemporalConsistency({ method: 'median' as 'blend' }), /method/);
  assert.throws(() => new TemporalConsistency({ colorStrength: 1.5 }), /colorStrength/);
  assert.throws(() => new TemporalConsistency({ detailStrength: 1 }), /detailStrength/);
  assert.throws(() => new TemporalConsistency({ detailTolerance: 0 }), /detailTolerance/);
  assert.throws(() => new TemporalConsistency({ dejitter: -1 }), /dejitter/);
});

test('offset field: content that moved (a residual far above the typical one) paints no halo; a mild colour blotch is kept', async () => {
  const w = 60, h = 40, n = w * h;
  const G = new Uint8Array(n * 3).fill(100), W = new Uint8Array(n * 3).fill(100);
  const paint = (img: Uint8Array, x0: number, x1: number, y0: number, y1: number, rgb: number[]) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) for (let c = 0; c < 3; c++) img[(y * w + x) * 3 + c] = rgb[c];
  };
  // A magenta figure at x 10..14 in the generated frame, at x 20..24 in the warped previous output (it moved).
  paint(G, 10, 15, 10, 30, [255, 0, 255]);
  paint(W, 20, 25, 10, 30, [255, 0, 255]);
  // A boiling blotch: the previous output is 10 levels brighter over x 35..59 (all rows).
  paint(W, 35, 60, 0, 40, [110, 110, 110]);
  const weight = new Float32Array(n).fill(1);
  const field = await lowFrequencyField(G, W, weight, w, h, { gain: [1, 1, 1], offset: [0, 0, 0] }, 2);
  const at = (x: number, y: number, c: number) => field[(y * w + x) * 3 + c];
  // Around both figure positions the field stays ~0 (median residual 0 -> cut at 12 levels; the figure is 155 off).
  for (const x of [8, 12, 17, 22, 27]) for (const c of [0, 1, 2]) assert.ok(Math.abs(at(x, 20, c)) < 0.5, `x ${x} channel ${c}: ${at(x, 20, c)}`);
  // Deep inside the blotch (>= 3 sigma from its edge) the field is its offset, 10.
  for (const c of [0, 1, 2]) assert.ok(Math.abs(at(50, 20, c) - 10) < 0.01, `blotch channel ${c}: ${at(50, 20, c)}`);
});

test('keepUnchanged: pixels the generator reproduced keep its value; changed ones take the filtered value; linear between', async () => {
  const { keepUnchangedPixels } = await import('../src/temporal/index.js');
  const px = (...v: number[]) => ({ width: v.length / 3, height: 1, data: Uint8Array.from(v) });
  const guide = px(100, 100, 100, 100, 100, 100, 100, 100, 100);
  // Pixel 0 reproduced exactly, pixel 1 off by 6 (between k = 4 and 2k = 8: w = 0.5), pixel 2 off by 50.
  const generated = px(100, 100, 100, 106, 100, 100, 150, 100, 100);
  const filtered = px(90, 90, 90, 96, 90, 90, 140, 90, 90);
  const out = keepUnchangedPixels(filtered, generated, guide, 4);
  assert.deepEqual([...out.data], [100, 100, 100, 101, 95, 95, 140, 90, 90]);
  // Through the filter: a passthrough (generated = guide) comes out unchanged, frame after frame.
  const tc = new TemporalConsistency({ keepUnchanged: 4 });
  const frames = [0, 1, 2].map((k) => ({ width: 64, height: 48, data: Uint8Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7 + k * 13) % 256) }));
  for (const f of frames) assert.deepEqual((await tc.push(f, f)).frame.data, f.data);
});
