import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { measureFlickerFrames, psnr, ssim, meanAbsDiff } from '../src/metrics/index.js';
import { nonOcclusionMask } from '../src/flow/index.js';
import type { FlowField } from '../src/flow/index.js';
import type { Frame } from '../src/video/index.js';
import type { SegmentPlan } from '../src/segment/index.js';
import { mediaFile } from './helpers.js';

async function loadRgb(name: string): Promise<Frame> {
  const { data, info } = await sharp(mediaFile(name)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/**
 * A pure translation clip: a w x h window sliding over the photo by (dx, dy)
 * px per frame, values compressed to 20..235 so added offsets never clip.
 */
function slidingClip(img: Frame, n: number, w: number, h: number, dx: number, dy: number): Frame[] {
  const frames: Frame[] = [];
  for (let t = 0; t < n; t++) {
    const x0 = 40 + dx * t, y0 = 40 + dy * t;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 20 + Math.round((img.data[((y0 + y) * img.width + x0 + x) * 3 + c] * 215) / 255);
      }
    }
    frames.push({ width: w, height: h, data });
  }
  return frames;
}

const addOffset = (f: Frame, d: number | [number, number, number]): Frame => {
  const o = typeof d === 'number' ? [d, d, d] : d;
  return { ...f, data: f.data.map((v, i) => v + o[i % 3]) };
};

function constFlow(w: number, h: number, u: (x: number, y: number) => [number, number]): FlowField {
  const data = new Float32Array(w * h * 2);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) [data[2 * (y * w + x)], data[2 * (y * w + x) + 1]] = u(x, y);
  return { width: w, height: h, data };
}

test('PSNR by hand on a 2-pixel image; identical frames give Infinity', () => {
  const a: Frame = { width: 2, height: 1, data: Uint8Array.of(10, 20, 30, 40, 50, 60) };
  const b: Frame = { width: 2, height: 1, data: Uint8Array.of(11, 19, 32, 40, 53, 58) };
  // Squared errors 1 + 1 + 4 + 0 + 9 + 4 = 19 over 6 values.
  assert.ok(Math.abs(psnr(a, b) - 10 * Math.log10((255 * 255 * 6) / 19)) < 1e-9);
  assert.equal(psnr(a, a), Infinity);
});

test('SSIM: 1 for identical images; constant images 100 vs 120 give (2*100*120 + C1) / (100^2 + 120^2 + C1)', async () => {
  const c1 = (0.01 * 255) ** 2;
  const a: Frame = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(100) };
  const b: Frame = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(120) };
  assert.ok(Math.abs((await ssim(a, b)) - (24000 + c1) / (24400 + c1)) < 1e-5);
  const img = await loadRgb('rubberwhale1.png');
  assert.ok(Math.abs((await ssim(img, img)) - 1) < 1e-6);
  const damaged: Frame = { ...img, data: img.data.map((v, i) => (i % 7 === 0 ? 255 - v : v)) };
  assert.ok((await ssim(img, damaged)) < 0.95);
});

test('occlusion mask: consistent translation keeps all but the pixels leaving the frame; disagreeing flows and motion boundaries are masked', () => {
  const w = 20, h = 10;
  const m = nonOcclusionMask(constFlow(w, h, () => [2, 0]), constFlow(w, h, () => [-2, 0]));
  // x + 2 > 19 for x = 18, 19: two columns out of frame.
  assert.equal(m.reduce((s, v) => s + v, 0), (w - 2) * h);
  assert.equal(m[17], 1);
  assert.equal(m[18], 0);
  // Backward flow zero: |2|^2 = 4 > 0.01 * 4 + 0.5 everywhere.
  assert.equal(nonOcclusionMask(constFlow(w, h, () => [2, 0]), constFlow(w, h, () => [0, 0])).reduce((s, v) => s + v, 0), 0);
  // Left half still, right half moving up by 3 (consistent both ways): only column 9 (forward difference 9 > 0.002) is a boundary.
  const f = constFlow(w, h, (x) => (x < 10 ? [0, 0] : [0, -3]));
  const b = constFlow(w, h, (x) => (x < 10 ? [0, 0] : [0, 3]));
  const mb = nonOcclusionMask(f, b);
  for (let y = 3; y < h; y++) {
    assert.equal(mb[y * w + 9], 0, `boundary at (9, ${y})`);
    assert.equal(mb[y * w + 8], 1);
    assert.equal(mb[y * w + 12], 1);
  }
});

test('pure translation clip: E_warp near zero; alternating flicker of +-a raises E_pair by 3 (2a/255)^2; tOF of the input itself is 0', async () => {
  const img = await loadRgb('building.jpg');
  const clean = slidingClip(img, 8, 160, 120, 2, 1);
  const r0 = await measureFlickerFrames(clean, clean, { ssim: false });
  assert.ok(r0.eWarp.input < 5e-4, `E_warp of a pure translation ${r0.eWarp.input}`);
  assert.ok(Math.abs(r0.eWarp.ratio - 1) < 1e-12);
  assert.equal(r0.tOF, 0);
  assert.ok(r0.maskCoverage > 0.8, `mask keeps ${r0.maskCoverage}`);
  assert.equal(r0.inputMotion.static, false);
  assert.equal(r0.temporalFlickering, null);

  const a = 8;
  const flick = clean.map((f, t) => addOffset(f, t % 2 ? -a : a));
  const r = await measureFlickerFrames(flick, clean, { ssim: false });
  const added = 3 * ((2 * a) / 255) ** 2; // every unmasked pixel differs by 2a in each of 3 channels after warping
  for (let t = 0; t < r.ePair.output.length; t++) {
    const extra = r.ePair.output[t] - r.ePair.input[t];
    assert.ok(Math.abs(extra - added) < 0.05 * added, `pair ${t}: E_pair rose by ${extra}, expected ${added}`);
  }
  assert.ok(r.eWarp.ratio > 10);
});

test('VBench temporal flickering on a static shot: (255 - 2a) / 255 for alternating offsets +-a', async () => {
  const img = await loadRgb('rubberwhale1.png');
  const still = slidingClip(img, 5, 96, 64, 0, 0);
  const a = 6;
  const r = await measureFlickerFrames(still.map((f, t) => addOffset(f, t % 2 ? -a : a)), still, { ssim: false });
  assert.equal(r.inputMotion.static, true);
  assert.ok(Math.abs(r.temporalFlickering! - (255 - 2 * a) / 255) < 1e-12);
  assert.equal(meanAbsDiff(still[0], addOffset(still[0], a)), a);
});

test('seam score: a colour step of D levels at a hard cut gives colour jump D and a large score; fidelity vs clean by hand', async () => {
  const img = await loadRgb('building.jpg');
  const clean = slidingClip(img, 16, 96, 72, 1, 0);
  const D: [number, number, number] = [12, -6, 3];
  const out = clean.map((f, t) => (t >= 8 ? addOffset(f, D) : f));
  const plan = {
    schema: 'reshoot.segments/1',
    frameCount: 16,
    segments: [
      { index: 0, label: 'seg-0', start: 0, end: 8, overlap: 0 },
      { index: 1, label: 'seg-1', start: 8, end: 16, overlap: 0 },
    ],
  } as SegmentPlan;
  const r = await measureFlickerFrames(out, clean, { plan, clean, ssim: false });
  const s = r.seams![0];
  assert.equal(s.start, 8);
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(s.colorJump[c] - D[c]) < 1e-9, `channel ${c}: ${s.colorJump[c]}`);
  assert.ok(Math.abs(s.colorJumpMax - 12) < 1e-9);
  // The cut pair carries sum(D^2)/255^2 more than the (near-zero) inside pairs.
  const cut = (12 ** 2 + 6 ** 2 + 3 ** 2) / 255 ** 2;
  assert.ok(Math.abs(s.boundaryEPair - r.ePair.input[7] - cut) < 0.05 * cut);
  assert.ok(s.score > 5, `score ${s.score}`);
  // Fidelity: half the frames are exact, half have MSE (144 + 36 + 9) / 3 = 63 -> PSNR 10 log10(255^2 / 63); mean over frames with exact = 100 dB cap.
  const expected = (8 * 100 + 8 * 10 * Math.log10((255 * 255) / 63)) / 16;
  assert.ok(Math.abs(r.fidelity.clean!.psnr - expected) < 1e-9);
});
