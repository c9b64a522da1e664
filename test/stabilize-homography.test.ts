import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Frame } from '../src/video/types.js';
import { loadOpenCV } from '../src/cv/opencv.js';
import {
  analyzeMotion, applyAny, buildTransforms, gaussianFilter1D, invertAny, makePlanarClip, minimalZoom, minimalZoomH, outputTransform, planCorrections, planStabilization,
  reshakeFrameAt, stabilizeFrame, toGray, validateTransforms, warpAt, warpAtExact, warpFrameSync, type MotionEstimate, type TransformsData,
} from '../src/stabilize/index.js';
import { applyPoint3, compose3, homographyFrom4, invert3, toMat3, type Mat3x3 } from '../src/geometry/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrames } from '../src/video/index.js';
import { analyzeVideo } from '../src/stabilize/index.js';
import { mediaFile } from './helpers.js';

const W = 320, H = 240;

async function loadImage(file: string, width: number, height: number): Promise<Frame> {
  const { data, info } = await sharp(file).toColourspace('srgb').removeAlpha().resize(width, height, { fit: 'cover' })
    .raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/**
 * Shake left at the frame corners against the known path: D_t = F_t ∘ M_t ∘ I_t^-1
 * (intended frame-0 px -> output px) is one fixed map for a perfect stabilizer;
 * each corner's D_t position minus its clip mean, minus its Gaussian (sigma 15)
 * low-pass, RMS over corners and frames (as the video bench's corner shake).
 */
function cornerShake(F: number[][], M: Mat3x3[], I: Mat3x3[], W = 320, H = 240): number {
  const n = F.length;
  let shake = 0;
  for (const [cx, cy] of [[0, 0], [W - 1, 0], [0, H - 1], [W - 1, H - 1]]) {
    const xs = new Float64Array(n), ys = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      const D = compose3(F[t].length === 9 ? F[t] : toMat3(F[t]), compose3(M[t], invert3(I[t])));
      [xs[t], ys[t]] = applyPoint3(D, cx, cy);
    }
    for (const v of [xs, ys]) {
      const mean = v.reduce((a, b) => a + b, 0) / n;
      for (let t = 0; t < n; t++) v[t] -= mean;
      const lp = gaussianFilter1D(v, 15);
      for (let t = 0; t < n; t++) shake += (v[t] - lp[t]) ** 2;
    }
  }
  return Math.sqrt(shake / (4 * n));
}

async function stabilizeWith(frames: Frame[], motionModel: 'similarity' | 'homography' | 'auto'): Promise<{ motions: MotionEstimate[]; transforms: TransformsData }> {
  const motions = await analyzeMotion(frames.map((f) => toGray(f)), { motionModel });
  const homographies = motions.some((m) => m.homography) ? motions.map((m) => m.homography) : undefined;
  const { trajectory, smoothed, plan } = planStabilization(motions.map((m) => m.matrix), { width: W, height: H, homographies });
  const transforms = buildTransforms({
    source: { path: 'planar', width: W, height: H, fps: { num: 30, den: 1 }, frameCount: frames.length },
    params: { motion: { motionModel } }, createdBy: 'test', motions, trajectory, smoothed, plan,
  });
  return { motions, transforms };
}

test('homography maths: four-point fit, compose, invert (hand-checked points)', () => {
  const src = [0, 0, 100, 0, 100, 80, 0, 80];
  const dst = [3, -2, 104, 1, 97, 83, -1, 79];
  const Hm = homographyFrom4(src, dst);
  for (let k = 0; k < 4; k++) {
    const [u, v] = applyPoint3(Hm, src[2 * k], src[2 * k + 1]);
    assert.ok(Math.abs(u - dst[2 * k]) < 1e-9 && Math.abs(v - dst[2 * k + 1]) < 1e-9, `corner ${k}: (${u}, ${v})`);
  }
  const back = compose3(invert3(Hm), Hm);
  [1, 0, 0, 0, 1, 0, 0, 0, 1].forEach((v, i) => assert.ok(Math.abs(back[i] - v) < 1e-12, `H^-1 H [${i}] = ${back[i]}`));
  // an affine through 4 points is found as one (h6 = h7 = 0): x' = 2x + 1, y' = y - 3
  const A = homographyFrom4(src, src.map((v, i) => (i % 2 ? v - 3 : 2 * v + 1)));
  [2, 0, 1, 0, 1, -3, 0, 0, 1].forEach((v, i) => assert.ok(Math.abs(A[i] - v) < 1e-12, `affine [${i}] = ${A[i]}`));
  assert.throws(() => homographyFrom4([0, 0, 1, 1, 2, 2, 3, 3], dst), /degenerate/);
});

test('minimalZoomH agrees with the closed-form minimalZoom on affine corrections, and a keystone needs more zoom', () => {
  for (const c of [[1, 0, 6, 0, 1, -4], [Math.cos(0.02), -Math.sin(0.02), 3, Math.sin(0.02), Math.cos(0.02), 2], [1.01, 0, -5, 0, 1.01, 0]]) {
    const z = minimalZoom(c, W, H), zH = minimalZoomH(toMat3(c), W, H);
    assert.ok(Math.abs(z - zH) < 1e-6, `closed form ${z}, bisection ${zH}`);
  }
  // the top corners pulled 8 px inwards: the output's top corners then sample outside the source
  const keystone = homographyFrom4([0, 0, W - 1, 0, W - 1, H - 1, 0, H - 1], [8, 0, W - 9, 0, W - 1, H - 1, 0, H - 1]);
  assert.ok(minimalZoomH(keystone, W, H) > 1.02);
  const plan = planCorrections(
    Array.from({ length: 3 }, () => ({ x: 0, y: 0, angle: 0, scale: 1 })), Array.from({ length: 3 }, () => ({ x: 0, y: 0, angle: 0, scale: 1 })),
    { width: W, height: H, homographies: [undefined, keystone, undefined] },
  );
  assert.ok(Math.abs((plan.zoom as number) - minimalZoomH(keystone, W, H)) < 1e-9, `zoom ${plan.zoom}`);
});

test("motionModel: on a planar clip with perspective wobble 'homography' and 'auto' leave far less shake than 'similarity'; on a pure-similarity clip 'auto' picks similarity on every pair", async () => {
  const base = await loadImage(mediaFile('graf1.png'), 480, 360);
  const wobbly = await makePlanarClip(base, { frames: 60, width: W, height: H, pan: [0.8, 0.3], wobble: 3, seed: 5 });
  const shake: Record<string, number> = {};
  const runs: Record<string, { motions: MotionEstimate[]; transforms: TransformsData }> = {};
  for (const model of ['similarity', 'homography', 'auto'] as const) {
    runs[model] = await stabilizeWith(wobbly.frames, model);
    shake[model] = cornerShake(wobbly.frames.map((_, t) => warpAtExact(runs[model].transforms, t).matrix), wobbly.motion, wobbly.intended);
  }
  // measured on this clip: similarity 2.43 px, homography and auto 0.12 px
  assert.ok(shake.similarity > 1, `similarity leaves the wobble: ${shake.similarity.toFixed(3)} px`);
  for (const m of ['homography', 'auto']) {
    assert.ok(shake[m] < 0.3 * shake.similarity && shake[m] < 0.5, `${m}: ${shake[m].toFixed(3)} px vs similarity ${shake.similarity.toFixed(3)} px`);
  }
  const chosen = runs.auto.motions.filter((m) => m.modelChoice === 'homography').length;
  assert.ok(chosen >= 50, `auto chose the homography on ${chosen} of 59 pairs`);
  assert.ok(runs.auto.transforms.frames.every((f) => f.homography), 'every frame of the shot carries its 3x3 correction');
  // the 2x3-only consumers are refused, not served the similarity part
  assert.throws(() => warpAt(runs.auto.transforms, 5), /homography correction.*2x3 warps only/);

  const still = await makePlanarClip(base, { frames: 60, width: W, height: H, pan: [0.8, 0.3], wobble: 0, seed: 5 });
  const auto = await stabilizeWith(still.frames, 'auto');
  const sim = await stabilizeWith(still.frames, 'similarity');
  const picked = auto.motions.slice(1).map((m) => m.modelChoice ?? '(none)');
  assert.ok(picked.every((c) => c.startsWith('similarity:')), `choices: ${[...new Set(picked)].join(', ')}`);
  assert.ok(auto.transforms.frames.every((f) => !f.homography));
  // and then the plan is the similarity one, frame for frame
  auto.transforms.frames.forEach((f, t) => assert.deepEqual(f.correction, sim.transforms.frames[t].correction));
});

test('re-shake is the exact inverse of a homography warp (PSNR bound), and transforms.json validates the 3x3 field', async () => {
  const base = await loadImage(mediaFile('graf1.png'), 480, 360);
  const clip = await makePlanarClip(base, { frames: 24, width: W, height: H, pan: [0.5, 0], wobble: 3, seed: 9 });
  const { transforms } = await stabilizeWith(clip.frames, 'homography');
  const cv = await loadOpenCV();
  const ones: Frame = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(255) };
  let worst = Infinity, worstAffine = Infinity;
  for (const t of [3, 11, 20]) {
    assert.ok(transforms.frames[t].homography, `frame ${t} has a homography correction`);
    const F = warpAtExact(transforms, t).matrix;
    assert.equal(F.length, 9);
    const back = await reshakeFrameAt(await stabilizeFrame(clip.frames[t], transforms, t), transforms, t);
    // the same round trip re-shaken with the similarity part alone (Z ∘ C_t: what a 2x3-only re-shake would do)
    const F2 = outputTransform(transforms.frames[t].correction, transforms.crop.zoom as number, W, H);
    const affineBack = warpFrameSync(cv, warpFrameSync(cv, clip.frames[t], F, 'replicate'), invertAny(F2), 'replicate');
    const valid = warpFrameSync(cv, warpFrameSync(cv, ones, F, 'black'), invertAny(F), 'black');
    const psnr = (img: Frame) => {
      let se = 0, n = 0;
      for (let i = 0; i < W * H; i++) {
        if (valid.data[3 * i] < 255) continue;
        for (let ch = 0; ch < 3; ch++) se += (img.data[3 * i + ch] - clip.frames[t].data[3 * i + ch]) ** 2;
        n += 3;
      }
      assert.ok(n > 0.5 * W * H * 3, `frame ${t}: valid area ${n / 3} px`);
      return 10 * Math.log10((255 * 255 * n) / se);
    };
    worst = Math.min(worst, psnr(back));
    worstAffine = Math.min(worstAffine, psnr(affineBack));
    // mapPoint-style check: a point and its round trip through the exact matrices
    const [u, v] = applyAny(F, 100, 70);
    const [x, y] = applyAny(invertAny(F), u, v);
    assert.ok(Math.hypot(x - 100, y - 70) < 1e-9);
  }
  // two bilinear resamplings as in stabilize-reshake.test.ts (bound 30 dB there); dropping the
  // perspective part on the way back must fail it
  assert.ok(worst > 30, `exact re-shake: min PSNR ${worst.toFixed(2)} dB`);
  assert.ok(worstAffine < worst - 3, `2x3 re-shake: ${worstAffine.toFixed(2)} dB vs exact ${worst.toFixed(2)} dB`);

  const copy = JSON.parse(JSON.stringify(transforms));
  validateTransforms(copy);
  // 3x3 frames make the file version 3: a version-2 reader (readable [1, 2]) refuses it rather than using the 2x3 part.
  assert.equal(transforms.version, 3);
  assert.throws(() => validateTransforms({ ...copy, version: 2 }), /has a homography but the file is version 2/);
  copy.frames[4].homography = transforms.frames[4].homography!.slice(0, 8);
  assert.throws(() => validateTransforms(copy), /frames\[4\]\.homography is not 9 finite numbers/);
  copy.frames[4].homography = [1, 0, 0, 0, 1, 0, 0, -0.01, 1]; // w = 1 - 0.01 y < 0 at the bottom corners
  assert.throws(() => validateTransforms(copy), /frames\[4\]\.homography puts a frame corner behind the camera/);
});

test("analyzeVideo with motion.motionModel 'auto' on an encoded 640x480 wobble clip (analysed at 320 px): 3x3 corrections at full size beat the similarity ones", async () => {
  const base = await loadImage(mediaFile('graf1.png'), 900, 680);
  const clip = await makePlanarClip(base, { frames: 45, width: 640, height: 480, pan: [1.5, 0.5], amplitude: 5, wobble: 6, seed: 3 });
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-homography-'));
  try {
    const input = join(dir, 'wobble.mp4');
    await encodeFrames(clip.frames, input, { fps: { num: 30, den: 1 }, crf: 12, overwrite: true });
    const shake: Record<string, number> = {};
    for (const motionModel of ['similarity', 'auto'] as const) {
      const { transforms } = await analyzeVideo(input, { motion: { motionModel }, shots: [{ start: 0, end: 45 }] });
      if (motionModel === 'auto') {
        assert.ok(transforms.frames.filter((f) => f.modelChoice === 'homography').length >= 35, transforms.notes.join('; '));
        assert.ok(transforms.notes.some((n) => /motion model per pair: .*homography/.test(n)), transforms.notes.join('; '));
      }
      shake[motionModel] = cornerShake(clip.frames.map((_, t) => warpAtExact(transforms, t).matrix), clip.motion, clip.intended, 640, 480);
    }
    // measured: similarity 7.74 px, auto 1.23 px
    assert.ok(shake.auto < 0.4 * shake.similarity, `auto ${shake.auto.toFixed(3)} px vs similarity ${shake.similarity.toFixed(3)} px`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
