import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Frame } from '../src/video/types.js';
import { loadOpenCV } from '../src/cv/opencv.js';
import {
  analyzeMotion, compose, coverage, makeShakyClip, minimalZoom, outputTransform, planCorrections,
  planStabilization, similarity, stabilizeFrame, toGray, translation, validateTransforms, warpFrameSync, zoomAt,
  type Mat2x3, type TransformsData,
} from '../src/stabilize/index.js';
import { mediaFile } from './helpers.js';

const W = 320, H = 240, CX = (W - 1) / 2, CY = (H - 1) / 2;
const close = (a: number, b: number, tol: number, msg: string) => assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);
const rotC = (a: number) => compose(translation(CX, CY), compose(similarity(0, 0, a, 1), translation(-CX, -CY)));

async function loadImage(file: string, width: number, height: number): Promise<Frame> {
  const { data, info } = await sharp(file).toColourspace('srgb').removeAlpha().resize(width, height, { fit: 'cover' })
    .raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

test('minimalZoom: hand-computed values for a shift and a rotation', () => {
  // shift right by 10: output x=0 must come from source x >= 0: CX - CX/z - 10 >= 0  =>  z = CX / (CX - 10)
  close(minimalZoom(translation(10, 0), W, H), CX / (CX - 10), 1e-12, 'shift');
  close(minimalZoom(translation(0, -7), W, H), CY / (CY - 7), 1e-12, 'shift y');
  // rotation by a about the centre: the rotated window's half-extents must fit: z = max((hw c + hh s)/hw, (hw s + hh c)/hh)
  const a = 0.02, c = Math.cos(a), s = Math.sin(a);
  close(minimalZoom(rotC(a), W, H), Math.max((CX * c + CY * s) / CX, (CX * s + CY * c) / CY), 1e-12, 'rotation');
  assert.equal(minimalZoom([1, 0, 0, 0, 1, 0], W, H), 1);
  assert.equal(minimalZoom(translation(400, 0), W, H), Infinity);
});

test('coverage: exact area fractions', () => {
  close(coverage(translation(32, 0), W, H), (W - 1 - 32) / (W - 1), 1e-12, 'shift');
  close(coverage(translation(32, -20), W, H), ((W - 1 - 32) * (H - 1 - 20)) / ((W - 1) * (H - 1)), 1e-12, 'diagonal shift');
  close(coverage([0.5, 0, 0, 0, 0.5, 0], W, H), 0.25, 1e-12, 'half-size image in the corner');
  assert.equal(coverage(outputTransform(translation(10, 0), CX / (CX - 10), W, H), W, H), 1);
});

/** Fraction of pixels of an all-255 frame that stay >= 128 after the warp (= covered). */
async function coveredFraction(F: number[]): Promise<number> {
  const ones: Frame = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(255) };
  // fill 'black' so that uncovered pixels read 0
  const out = warpFrameSync(await loadOpenCV(), ones, F, 'black');
  let covered = 0;
  for (let i = 0; i < W * H; i++) if (out.data[3 * i] >= 128) covered++;
  return covered / (W * H);
}

test("'zoom' border on a shaky clip: every output pixel sampled inside the source, and the zoom is minimal", async () => {
  const base = await loadImage(mediaFile('building.jpg'), 480, 360);
  const clip = await makeShakyClip(base, { frames: 16, width: W, height: H, pan: [1, 0.5], amplitude: 6, amplitudeDeg: 0.7, seed: 11 });
  const motions = await analyzeMotion(await Promise.all(clip.frames.map(toGray)));
  const { plan } = planStabilization(motions.map((m) => m.matrix), { width: W, height: H, smoother: 'gaussian', sigma: 5, border: 'zoom' });
  const z = plan.zoom as number;
  assert.ok(z > 1.01 && z < 1.3, `zoom ${z}`);
  assert.equal(plan.limited, false);
  close(z, Math.max(...plan.minimalZoom), 1e-12, 'clip zoom = max of per-frame minimal zooms');
  let worstAtZ = 1, worstBelow = 1;
  for (const c of plan.corrections) {
    const F = outputTransform(c, z, W, H);
    worstAtZ = Math.min(worstAtZ, await coveredFraction(F), coverage(F, W, H));
    worstBelow = Math.min(worstBelow, await coveredFraction(outputTransform(c, z * 0.99, W, H)));
  }
  assert.equal(worstAtZ, 1, 'all pixels covered at the computed zoom');
  assert.ok(worstBelow < 1, 'zoom * 0.99 must leave uncovered pixels');
});

test("'adaptive' keeps each frame at or above its minimal zoom and changes slowly; 'fill' uses zoom 1", () => {
  const n = 60;
  const raw = Array.from({ length: n }, (_, t) => ({ x: 8 * Math.sin(t * 1.3), y: 5 * Math.cos(t * 0.9), angle: 0.005 * Math.sin(t), scale: 1 }));
  const smooth = raw.map(() => ({ x: 0, y: 0, angle: 0, scale: 1 }));
  const p = planCorrections(raw, smooth, { width: W, height: H, border: 'adaptive', adaptiveSigma: 5 });
  const zs = p.zoom as number[];
  assert.equal(zs.length, n);
  zs.forEach((z, t) => assert.ok(z >= p.minimalZoom[t] - 1e-12, `frame ${t}: ${z} < ${p.minimalZoom[t]}`));
  const global = Math.max(...p.minimalZoom);
  zs.forEach((z) => assert.ok(z <= global + 1e-12));
  for (let t = 1; t < n; t++) assert.ok(Math.abs(zs[t] - zs[t - 1]) < 0.01, `zoom jump at ${t}`);
  const f = planCorrections(raw, smooth, { width: W, height: H, border: 'fill' });
  assert.equal(f.zoom, 1);
  assert.equal(zoomAt(f, 3), 1);
  // correction = S P^-1 with S = identity: the inverse of each raw path matrix
  const c0 = f.corrections[7];
  const q = [CX + raw[7].x, CY + raw[7].y]; // where the frame-0 centre is in frame 7
  close(c0[0] * q[0] + c0[1] * q[1] + c0[2], CX, 1e-9, 'corrected centre x');
  close(c0[3] * q[0] + c0[4] * q[1] + c0[5], CY, 1e-9, 'corrected centre y');
});

/** A one-frame transforms.json with the given correction and crop (what stabilizeFrame reads). */
function oneFrame(c: Mat2x3, crop: { border: 'zoom' | 'fill'; zoom: number }): TransformsData {
  const p = { x: 0, y: 0, angle: 0, scale: 1 };
  const t = {
    schema: 'reshoot.transforms', version: 2, params: {}, createdBy: 'test',
    source: { path: 'x.mp4', width: W, height: H, fps: { num: 25, den: 1 }, frameCount: 1 },
    frames: [{ index: 0, interframe: [1, 0, 0, 0, 1, 0], trajectory: p, smoothed: p, correction: c, inliers: 0 }],
    shots: [{ start: 0, end: 1 }], notes: [],
    crop: { ...crop, minimalZoom: [1], limited: false },
  };
  validateTransforms(t);
  return t;
}

test('stabilizeFrame: identity returns the frame; a shift of +5 moves content right by 5; fill border is black', async () => {
  const f = await loadImage(mediaFile('graf1.png'), W, H);
  const same = await stabilizeFrame(f, oneFrame([1, 0, 0, 0, 1, 0], { border: 'zoom', zoom: 1 }), 0);
  assert.deepEqual(same.data, f.data);
  const moved = await stabilizeFrame(f, oneFrame(translation(5, 0), { border: 'fill', zoom: 1 }), 0);
  for (const [x, y] of [[10, 10], [200, 100], [300, 230]]) {
    for (let ch = 0; ch < 3; ch++) assert.equal(moved.data[(y * W + x) * 3 + ch], f.data[(y * W + x - 5) * 3 + ch]);
  }
  assert.equal(moved.data[(50 * W + 2) * 3], 0, 'fill border is black');
});

test('planCorrections zoom: minCoverage picks the smallest zoom keeping every frame that covered', () => {
  // 100x100 (pixel-centre rect [0, 99]); frame 1 moved 10 px right, the smoothed path holds still:
  // C_1 shifts 10 px left. At zoom z the output window's preimage is the box of half-width 49.5/z about
  // x = 59.5; it sticks out past 99 by 49.5/z - 39.5, a share 0.5 - 39.5 z / 99 of its width 99/z.
  // Full coverage needs z = 49.5 / 39.5 = 1.253165; 97 % needs 0.5 - 39.5 z / 99 <= 0.03: z = 0.47 * 99 / 39.5 = 1.177975.
  const raw = [{ x: 0, y: 0, angle: 0, scale: 1 }, { x: 10, y: 0, angle: 0, scale: 1 }];
  const still = [{ x: 0, y: 0, angle: 0, scale: 1 }, { x: 0, y: 0, angle: 0, scale: 1 }];
  const full = planCorrections(raw, still, { width: 100, height: 100, border: 'zoom' });
  close(zoomAt(full, 1), 49.5 / 39.5, 1e-9, 'full coverage zoom');
  const p = planCorrections(raw, still, { width: 100, height: 100, border: 'zoom', minCoverage: 0.97 });
  close(zoomAt(p, 1), (0.47 * 99) / 39.5, 1e-5, '97 % coverage zoom');
  close(coverage(outputTransform(p.corrections[1], zoomAt(p, 1), 100, 100), 100, 100), 0.97, 1e-5, 'coverage at that zoom');
  assert.throws(() => planCorrections(raw, still, { width: 100, height: 100, minCoverage: 1.5 }), /minCoverage must be in \(0, 1\]/);
});
