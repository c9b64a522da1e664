import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  MaskedMedian, computePlate, slidingPlates, sourceFromArrays, evenSamples, windowOf, makePlateScene, psnr, ssim,
  sourceFromStores, type FramePlate,
} from '../src/background/index.js';
import { FrameStore } from '../src/video/index.js';
import { ReshootError } from '../src/util/errors.js';
import type { Frame, GrayFrame } from '../src/video/types.js';
import { mediaFile } from './helpers.js';

const rgb = (w: number, h: number, v: number | ((p: number, c: number) => number)): Frame => {
  const data = new Uint8Array(w * h * 3);
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = typeof v === 'number' ? v : v(p, c);
  return { width: w, height: h, data };
};
const gray = (w: number, h: number, v: number | ((p: number) => number)): GrayFrame => {
  const data = new Uint8Array(w * h);
  for (let p = 0; p < w * h; p++) data[p] = typeof v === 'number' ? v : v(p);
  return { width: w, height: h, data };
};

async function loadImage(file: string, width: number, height: number): Promise<Frame> {
  const { data, info } = await sharp(file).toColourspace('srgb').removeAlpha().resize(width, height, { fit: 'cover' })
    .raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

test('MaskedMedian: median of the clean samples only, mean of the middle two for an even count, removal undoes adding', () => {
  const m = new MaskedMedian(2, 1, 4);
  const clean1 = new Uint8Array([1, 1]);
  // pixel 0 samples: 10, 50, 20, (200 masked) -> median of {10,20,50} = 20
  // pixel 1 samples: 7, 9, (250 masked), 3 -> {3,7,9} = 7
  m.add(rgb(2, 1, (p) => (p === 0 ? 10 : 7)), clean1);
  m.add(rgb(2, 1, (p) => (p === 0 ? 50 : 9)), clean1);
  m.add(rgb(2, 1, (p) => (p === 0 ? 20 : 250)), new Uint8Array([1, 0]));
  m.add(rgb(2, 1, (p) => (p === 0 ? 200 : 3)), new Uint8Array([0, 1]));
  let r = m.median();
  assert.deepEqual([...r.image.data], [20, 20, 20, 7, 7, 7]);
  assert.deepEqual([...m.count], [3, 3]);
  // drop the 50 at pixel 0 / the 9 at pixel 1: {10,20} -> 15, {3,7} -> 5
  m.remove(rgb(2, 1, (p) => (p === 0 ? 50 : 9)), clean1);
  r = m.median();
  assert.deepEqual([...r.image.data], [15, 15, 15, 5, 5, 5]);
  // spread: interquartile range; with 2 samples q1 = sample 0, q3 = sample 1 -> 20 - 10 = 10 and 7 - 3 = 4
  assert.deepEqual([...r.spread], [10, 4]);
  assert.throws(() => m.remove(rgb(2, 1, 99), clean1), ReshootError);
});

test('evenSamples and windowOf pick the documented frames', () => {
  assert.deepEqual(evenSamples(0, 5, 10), [0, 1, 2, 3, 4]);
  assert.deepEqual(evenSamples(0, 11, 3), [0, 5, 10]);
  assert.deepEqual(evenSamples(10, 20, 4), [10, 13, 16, 19]);
  assert.deepEqual(windowOf(0, 5, 20), [0, 5]);
  assert.deepEqual(windowOf(10, 5, 20), [8, 13]);
  assert.deepEqual(windowOf(19, 5, 20), [15, 20]);
  assert.deepEqual(windowOf(3, 30, 10), [0, 10]);
});

test('computePlate: exact median where observed, inpainting and zero confidence only where no clean observation exists', async () => {
  const W = 24, H = 16;
  // Background: value 100 everywhere except column 3 = 160; the "person" (value 0) covers
  // x in [8,12) in every frame (never seen) and x in [16,20) only in frame 0.
  const frames: Frame[] = [];
  const masks: GrayFrame[] = [];
  const values = [100, 104, 96, 101, 99];
  for (let t = 0; t < 5; t++) {
    frames.push(rgb(W, H, (p) => {
      const x = p % W;
      if (x >= 8 && x < 12) return 0;
      if (t === 0 && x >= 16 && x < 20) return 0;
      return x === 3 ? 160 : values[t];
    }));
    masks.push(gray(W, H, (p) => {
      const x = p % W;
      return (x >= 8 && x < 12) || (t === 0 && x >= 16 && x < 20) ? 255 : 0;
    }));
  }
  const plate = await computePlate(sourceFromArrays(frames, masks), { dilate: 0, minSupport: 5, spreadScale: 64 });
  const at = (x: number, y: number) => plate.plate.data[(y * W + x) * 3];
  // clean everywhere outside the person: median of {100,104,96,101,99} = 100
  assert.equal(at(0, 5), 100);
  assert.equal(at(3, 5), 160);
  // x in [16,20): frame 0 is masked, median of {104,96,101,99} = (99+101)/2 = 100
  assert.equal(at(17, 5), 100);
  // never-seen columns are holes, inpainted from a uniform 100 surround
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const hole = x >= 8 && x < 12;
    assert.equal(plate.holes.data[y * W + x], hole ? 255 : 0, `hole at ${x},${y}`);
    if (hole) assert.equal(plate.confidence.data[y * W + x], 0);
  }
  assert.ok(Math.abs(at(9, 8) - 100) <= 2, `inpainted value ${at(9, 8)} should be near the surround 100`);
  assert.equal(plate.inpaintedFraction, (4 * H) / (W * H));
  // confidence = 255 * min(1, n/5) * (1 - IQR/64):
  //   x=0: n=5, sorted {96,99,100,101,104}, q1 = s[1] = 99, q3 = s[3] = 101 -> 255 * (1 - 2/64) = 247.03 -> 247
  //   x=17: n=4, sorted {96,99,101,104}, q1 = s[0] = 96, q3 = s[3] (ceil(9/4)=3) = 104 -> 255 * 0.8 * (1 - 8/64) = 178.5 -> 179
  assert.equal(plate.confidence.data[5 * W + 0], 247);
  assert.equal(plate.confidence.data[5 * W + 17], 179);
});

test('computePlate: the mask is grown by `dilate` pixels before excluding the person', async () => {
  const W = 20, H = 5;
  // Frame 0 has the person (value 250) at x = 10 only, but its colour bleeds into x = 9 and 11 (mask edge error).
  const frames = [rgb(W, H, (p) => (Math.abs((p % W) - 10) <= 1 ? 250 : 50)), rgb(W, H, 60), rgb(W, H, 70)];
  const masks = [gray(W, H, (p) => (p % W === 10 ? 255 : 0)), gray(W, H, 0), gray(W, H, 0)];
  const grown = await computePlate(sourceFromArrays(frames, masks), { dilate: 1 });
  const exact = await computePlate(sourceFromArrays(frames, masks), { dilate: 0 });
  // dilate 1: x=9 sees {60,70} -> 65; without dilation x=9 sees {250,60,70} -> 70
  assert.equal(grown.plate.data[(2 * W + 9) * 3], 65);
  assert.equal(exact.plate.data[(2 * W + 9) * 3], 70);
});

test('computePlate: clear errors for bad input', async () => {
  const f = [rgb(8, 8, 1), rgb(8, 8, 2)];
  await assert.rejects(computePlate(sourceFromArrays(f, [gray(8, 8, 0), gray(4, 4, 0)])), /mask is 4x4, frames are 8x8/);
  await assert.rejects(computePlate(sourceFromArrays(f, [gray(8, 8, 255), gray(8, 8, 255)])), /no frame shows any background/);
  await assert.rejects(computePlate(sourceFromArrays(f), { start: 1, end: 1 }), ReshootError);
  await assert.rejects(computePlate(sourceFromArrays(f), { inpaint: 'magic' as never }), /inpaint must be/);
});

test('slidingPlates: window medians then 3-frame averaging (hand-computed), and segment-wise calls give the same plates', async () => {
  const W = 4, H = 3, N = 12;
  const frames = Array.from({ length: N }, (_, t) => rgb(W, H, t * 10));
  const src = sourceFromArrays(frames);
  const raw: number[] = [];
  for await (const fp of slidingPlates(src, { window: 5, smoothing: 1 })) raw.push(fp.plate.data[0]);
  // window 5 median of frames lo..lo+4 with lo = clamp(t-2, 0, N-5): value 10 * (lo + 2)
  assert.deepEqual(raw, [20, 20, 20, 30, 40, 50, 60, 70, 80, 90, 90, 90]);
  const smooth: FramePlate[] = [];
  for await (const fp of slidingPlates(src, { window: 5 })) smooth.push(fp);
  // mean of raw plates t-1..t+1 (two at the clip ends), rounded
  const expect = raw.map((_, t) => {
    const g = raw.slice(Math.max(0, t - 1), Math.min(N, t + 2));
    return Math.round(g.reduce((a, b) => a + b, 0) / g.length);
  });
  assert.deepEqual(smooth.map((p) => p.plate.data[0]), expect);
  assert.deepEqual(smooth.map((p) => p.index), Array.from({ length: N }, (_, i) => i));
  // The same plates when the clip is processed in two segments.
  const parts: number[] = [];
  for await (const fp of slidingPlates(src, { window: 5, start: 0, end: 7 })) parts.push(fp.plate.data[0]);
  for await (const fp of slidingPlates(src, { window: 5, start: 7, end: 12 })) parts.push(fp.plate.data[0]);
  assert.deepEqual(parts, expect);

  // step 4: window plates at anchors 0, 4, 8 and 11 (the last frame): 20, 40, 80, 90; linear in between.
  const stepped: number[] = [];
  for await (const fp of slidingPlates(src, { window: 5, smoothing: 1, step: 4 })) stepped.push(fp.plate.data[0]);
  assert.deepEqual(stepped, [20, 25, 30, 35, 40, 50, 60, 70, 80, Math.round(80 + 10 / 3), Math.round(80 + 20 / 3), 90]);
  const steppedSmooth: number[] = [];
  for await (const fp of slidingPlates(src, { window: 5, step: 4 })) steppedSmooth.push(fp.plate.data[0]);
  const steppedParts: number[] = [];
  for await (const fp of slidingPlates(src, { window: 5, step: 4, end: 6 })) steppedParts.push(fp.plate.data[0]);
  for await (const fp of slidingPlates(src, { window: 5, step: 4, start: 6 })) steppedParts.push(fp.plate.data[0]);
  assert.deepEqual(steppedParts, steppedSmooth);
  // smoothed anchors: (20+40)/2 = 30, (20+40+80)/3 = 46.67 -> 47, (40+80+90)/3 = 70, (80+90)/2 = 85
  assert.deepEqual([steppedSmooth[0], steppedSmooth[4], steppedSmooth[8], steppedSmooth[11]], [30, 47, 70, 85]);

  // stride 2: only even frames enter a window. t=4: window [2,7) -> frames 2,4,6 -> 40; t=0: [0,5) -> 0,2,4 -> 20;
  // t=11: [7,12) -> 8,10 -> (80+100)/2 = 90; t=6: [4,9) -> 4,6,8 -> 60
  const strided: FramePlate[] = [];
  for await (const fp of slidingPlates(src, { window: 5, smoothing: 1, stride: 2 })) strided.push(fp);
  assert.deepEqual([0, 4, 6, 11].map((t) => strided[t].plate.data[0]), [20, 40, 60, 90]);
  assert.deepEqual(strided[11].samples, [8, 10]);
  await assert.rejects(async () => {
    for await (const _ of slidingPlates(src, { window: 5, stride: 6 })) break;
  }, /stride must be a whole number from 1 to the window/);
});

test('ssim and psnr match hand calculations', async () => {
  const a = rgb(16, 16, 0), b = rgb(16, 16, 10);
  // MSE 100 -> 10 log10(255^2 / 100)
  assert.ok(Math.abs(psnr(a, b) - 10 * Math.log10(65025 / 100)) < 1e-9);
  assert.equal(psnr(a, a), 100);
  const c = rgb(16, 16, 100), d = rgb(16, 16, 120);
  // constant images: SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1) (the contrast term is C2/C2)
  const C1 = (0.01 * 255) ** 2;
  const want = (2 * 100 * 120 + C1) / (100 * 100 + 120 * 120 + C1);
  assert.ok(Math.abs((await ssim(c, d)) - want) < 1e-4, `${await ssim(c, d)} vs ${want}`);
  assert.ok(Math.abs((await ssim(c, c)) - 1) < 1e-6);
});

test('ground truth: a synthetic person over a real photo: the plate recovers the true background', async () => {
  const bg = await loadImage(mediaFile('building.jpg'), 192, 144);
  const tex = await loadImage(mediaFile('basketball1.png'), 48, 96);
  // The person crosses the frame: every pixel is seen clean at some time.
  const cross = makePlateScene({ background: bg, texture: tex, frames: 30, path: 'cross', noise: 2, seed: 3 });
  const p = await computePlate(sourceFromArrays(cross.frames, cross.masks));
  assert.equal(p.inpaintedFraction, 0);
  // Noise std 2 alone would give ~42 dB on a single frame; a median of many frames does better.
  assert.ok(psnr(p.plate, cross.truth[0]) > 42, `psnr ${psnr(p.plate, cross.truth[0])}`);
  assert.ok(psnr(p.plate, cross.truth[0], cross.everCovered) > 40, 'where the person walked');
  assert.ok((await ssim(p.plate, cross.truth[0])) > 0.99);

  // The person sways near the centre: its core is never seen, so exactly that (plus the dilation margin) is inpainted.
  const sway = makePlateScene({ background: bg, texture: tex, frames: 30, path: 'sway', noise: 2, seed: 4 });
  const q = await computePlate(sourceFromArrays(sway.frames, sway.masks));
  const always = sway.alwaysCovered.data.filter((v) => v).length / sway.alwaysCovered.data.length;
  assert.ok(always > 0.005, 'the scene has never-seen pixels');
  assert.ok(q.inpaintedFraction >= always && q.inpaintedFraction < 4 * always, `inpainted ${q.inpaintedFraction} vs never seen ${always}`);
  sway.alwaysCovered.data.forEach((v, i) => {
    if (v) assert.equal(q.holes.data[i], 255, `never-seen pixel ${i} must be a hole`);
  });
  // Seen-but-often-covered pixels: the masked median is right; a plain median (no masks) keeps the person.
  const seenSometimes = { ...sway.everCovered, data: sway.everCovered.data.map((v, i) => (v && !q.holes.data[i] ? 255 : 0)) };
  const plain = await computePlate(sourceFromArrays(sway.frames));
  const masked = psnr(q.plate, sway.truth[0], seenSometimes);
  const unmasked = psnr(plain.plate, sway.truth[0], seenSometimes);
  assert.ok(masked > 35 && masked > unmasked + 8, `masked ${masked} dB vs no masks ${unmasked} dB`);
});

test('ground truth: the sliding-window plate follows a lighting change that a static plate cannot', async () => {
  const bg = await loadImage(mediaFile('building.jpg'), 128, 96);
  const tex = await loadImage(mediaFile('basketball1.png'), 32, 64);
  const s = makePlateScene({ background: bg, texture: tex, frames: 30, path: 'cross', lighting: 0.3, noise: 1, seed: 5 });
  const src = sourceFromArrays(s.frames, s.masks);
  const stat = await computePlate(src);
  let slid = 0, fixed = 0;
  // The window must be long enough for the person to pass (about 7 frames per pixel here).
  for await (const fp of slidingPlates(src, { window: 12 })) {
    slid += psnr(fp.plate, s.truth[fp.index]) / 30;
    fixed += psnr(stat.plate, s.truth[fp.index]) / 30;
  }
  assert.ok(slid > fixed + 5, `sliding ${slid.toFixed(2)} dB vs static ${fixed.toFixed(2)} dB`);
});

test('sourceFromStores: a plate from FrameStores equals the plate from the same arrays', async () => {
  const W = 16, H = 8;
  const frames = [0, 1, 2, 3].map((t) => rgb(W, H, (p, c) => (p * 3 + c * 17 + t * 29) % 256));
  const masks = [0, 1, 2, 3].map((t) => gray(W, H, (p) => ((p % W) >> 2 === t ? 255 : 0)));
  const fs = await FrameStore.create({ width: W, height: H });
  const ms = await FrameStore.create({ width: W, height: H, channels: 1 });
  try {
    for (const f of frames) await fs.append(f);
    for (const m of masks) await ms.append(m);
    const a = await computePlate(sourceFromStores(fs, ms), { dilate: 0 });
    const b = await computePlate(sourceFromArrays(frames, masks), { dilate: 0 });
    assert.deepEqual([...a.plate.data], [...b.plate.data]);
    assert.deepEqual([...a.confidence.data], [...b.confidence.data]);
    assert.throws(() => sourceFromStores(ms), /must hold RGB/);
  } finally {
    await fs.close();
    await ms.close();
  }
});
