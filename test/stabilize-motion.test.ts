import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { loadOpenCV } from '../src/cv/opencv.js';
import type { Frame, GrayFrame } from '../src/video/types.js';
import {
  analyzeMotion, analyzeMotionParallel, decompose, estimateMotion, makeShakyClip, MotionAnalyzer, ransacSimilarity, fitSimilarityLS,
  similarity, compose, translation, toGray,
} from '../src/stabilize/index.js';
import { VIDEO_MOTION_DEFAULTS, resolveMotionOptions } from '../src/stabilize/motion.js';
import { mediaFile } from './helpers.js';

async function loadImage(file: string, width: number, height: number): Promise<Frame> {
  const { data, info } = await sharp(file).toColourspace('srgb').removeAlpha().resize(width, height, { fit: 'cover' })
    .raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** Gray frame = warpAffine(base gray, M) cropped to w x h (M maps base px -> frame px). */
async function warpGray(base: GrayFrame, M: number[], w: number, h: number): Promise<GrayFrame> {
  const cv = await loadOpenCV();
  const src = cv.matFromArray(base.height, base.width, cv.CV_8UC1, base.data as unknown as number[]);
  const m = cv.matFromArray(2, 3, cv.CV_64FC1, M);
  const dst = new cv.Mat();
  try {
    cv.warpAffine(src, dst, m, new cv.Size(w, h), cv.INTER_LINEAR, cv.BORDER_REPLICATE);
    return { width: w, height: h, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    src.delete(); m.delete(); dst.delete();
  }
}

const DEG = 180 / Math.PI;
const building = loadImage(mediaFile('building.jpg'), 480, 360).then(toGray);

test('estimateMotion recovers a hand-built similarity (translation < 0.1 px, angle < 0.02 deg)', async () => {
  const base = await building;
  // frame A = base shifted so that base px (80, 60) lands at frame (0, 0)
  const A = translation(-80, -60);
  // frame B: rotate by 0.4 deg about frame A's (160, 120), scale 1.01, then shift by (3.25, -1.75)
  const a = 0.4 / DEG;
  const R = compose(translation(160 + 3.25, 120 - 1.75), compose(similarity(0, 0, a, 1.01), translation(-160, -120)));
  const B = compose(R, A);
  const prev = await warpGray(base, A, 320, 240);
  const next = await warpGray(base, B, 320, 240);
  const m = await estimateMotion(prev, next);
  assert.equal(m.fallback, undefined);
  assert.ok(m.inliers >= 100, `inliers ${m.inliers}`);
  // compare where the motion sends 5 points spread over the frame (translation at each)
  for (const [x, y] of [[0, 0], [319, 0], [0, 239], [319, 239], [160, 120]]) {
    const ex = m.matrix[0] * x + m.matrix[1] * y + m.matrix[2], ey = m.matrix[3] * x + m.matrix[4] * y + m.matrix[5];
    const tx = R[0] * x + R[1] * y + R[2], ty = R[3] * x + R[4] * y + R[5];
    assert.ok(Math.hypot(ex - tx, ey - ty) < 0.1, `point (${x},${y}): error ${Math.hypot(ex - tx, ey - ty)} px`);
  }
  const d = decompose(m.matrix);
  assert.ok(Math.abs(d.angle * DEG - 0.4) < 0.02, `angle ${d.angle * DEG}`);
  assert.ok(Math.abs(d.scale - 1.01) < 1e-3, `scale ${d.scale}`);
  assert.ok(m.rmsError < 0.3, `rms ${m.rmsError}`);
});

test('estimateMotion on a shaky clip: every pair within 0.1 px / 0.02 deg; downscale 2 within 0.25 px; affine model too', async () => {
  const base = await loadImage(mediaFile('building.jpg'), 480, 360);
  const clip = await makeShakyClip(base, { frames: 8, width: 320, height: 240, pan: [1.5, -0.5], amplitude: 6, amplitudeDeg: 0.6, seed: 3 });
  const grays = await Promise.all(clip.frames.map(toGray));
  const check = (label: string, got: number[], truth: number[], tol: number, tolDeg: number) => {
    for (const [x, y] of [[0, 0], [319, 239], [160, 120]]) {
      const e = Math.hypot(got[0] * x + got[1] * y + got[2] - (truth[0] * x + truth[1] * y + truth[2]),
        got[3] * x + got[4] * y + got[5] - (truth[3] * x + truth[4] * y + truth[5]));
      assert.ok(e < tol, `${label}: error ${e.toFixed(3)} px at (${x},${y})`);
    }
    const da = Math.abs(decompose(got).angle - decompose(truth).angle) * DEG;
    assert.ok(da < tolDeg, `${label}: angle error ${da} deg`);
  };
  for (let t = 1; t < grays.length; t++) {
    check(`pair ${t}`, (await estimateMotion(grays[t - 1], grays[t])).matrix, clip.interframe[t], 0.1, 0.02);
    check(`pair ${t} downscale 2`, (await estimateMotion(grays[t - 1], grays[t], { downscale: 2 })).matrix, clip.interframe[t], 0.25, 0.05);
    check(`pair ${t} affine`, (await estimateMotion(grays[t - 1], grays[t], { model: 'affine' })).matrix, clip.interframe[t], 0.15, 0.03);
  }
});

test('a flat gray frame gives identity with fallback too-few-points (no invented motion)', async () => {
  const flat: GrayFrame = { width: 320, height: 240, data: new Uint8Array(320 * 240).fill(128) };
  const m = await estimateMotion(flat, flat);
  assert.equal(m.fallback, 'too-few-points');
  assert.deepEqual(m.matrix, [1, 0, 0, 0, 1, 0]);
  // textured prev but flat next: tracks fail the round trip -> fallback, identity
  const tex = await warpGray(await building, translation(-80, -60), 320, 240);
  const m2 = await estimateMotion(tex, flat);
  assert.ok(m2.fallback === 'too-few-points' || m2.fallback === 'too-few-inliers', `fallback ${m2.fallback}`);
  assert.deepEqual(m2.matrix, [1, 0, 0, 0, 1, 0]);
});

test('person mask: with it the estimate follows the background, without it the moving person biases it', async () => {
  const bg = await building;
  const person = await loadImage(mediaFile('graf1.png'), 200, 200).then(toGray);
  const W = 320, H = 240;
  const prevBg = await warpGray(bg, translation(-80, -60), W, H);
  const nextBg = await warpGray(bg, translation(-80 + 2, -60 + 1), W, H); // background moves (+2, +1)
  // the "person": a textured 180x200 block covering ~47 % of the frame, moving (+9, -4)
  const paste = (frame: GrayFrame, x0: number, y0: number) => {
    const out = { ...frame, data: Uint8Array.from(frame.data) };
    const mask = { width: W, height: H, data: new Uint8Array(W * H) };
    for (let y = 0; y < 200; y++) for (let x = 0; x < 180; x++) {
      const X = x0 + x, Y = y0 + y;
      if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
      out.data[Y * W + X] = person.data[y * 200 + x];
      mask.data[Y * W + X] = 255;
    }
    return { frame: out, mask };
  };
  const a = paste(prevBg, 60, 20);
  const b = paste(nextBg, 69, 16);
  const withMask = await estimateMotion(a.frame, b.frame, { mask: a.mask, maskNext: b.mask });
  const without = await estimateMotion(a.frame, b.frame);
  const err = (m: number[]) => Math.hypot(m[2] - 2, m[5] - 1) + Math.hypot(m[0] - 1, m[1], m[3], m[4] - 1) * 300;
  assert.equal(withMask.fallback, undefined);
  assert.ok(err(withMask.matrix) < 0.15, `with mask: ${withMask.matrix.map((v) => v.toFixed(3))}`);
  assert.ok(err(without.matrix) > 1, `without mask the person should dominate: ${without.matrix.map((v) => v.toFixed(3))}`);
});

test('ransacSimilarity: exact recovery with 40 % gross outliers; least squares alone would be biased', () => {
  const truth = similarity(4, -2, 0.05, 0.98);
  const from: number[] = [], to: number[] = [];
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 100; i++) {
    const x = rnd() * 320, y = rnd() * 240;
    from.push(x, y);
    if (i % 5 < 2) to.push(rnd() * 320, rnd() * 240);
    else to.push(truth[0] * x + truth[1] * y + truth[2], truth[3] * x + truth[4] * y + truth[5]);
  }
  const r = ransacSimilarity(from, to, { threshold: 1 })!;
  assert.equal(r.inliers, 60);
  r.matrix.forEach((v, i) => assert.ok(Math.abs(v - truth[i]) < 1e-9, `element ${i}: ${v} vs ${truth[i]}`));
  const ls = fitSimilarityLS(from, to)!;
  assert.ok(Math.abs(ls[2] - truth[2]) + Math.abs(ls[5] - truth[5]) > 1, 'plain least squares should be pulled by the outliers');
});

test('streaming analyzer, analyzeMotion and analyzeMotionParallel agree', async () => {
  const base = await loadImage(mediaFile('leuvenA.jpg'), 400, 300);
  const clip = await makeShakyClip(base, { frames: 7, width: 240, height: 180, amplitude: 4, seed: 9 });
  const grays = await Promise.all(clip.frames.map(toGray));
  const seq = await analyzeMotion(grays);
  assert.equal(seq.length, 7);
  assert.deepEqual(seq[0].matrix, [1, 0, 0, 0, 1, 0]);
  const an = await MotionAnalyzer.create(VIDEO_MOTION_DEFAULTS);
  try {
    grays.forEach((g, t) => assert.deepEqual(an.push(g).matrix, seq[t].matrix, `frame ${t}`));
  } finally {
    an.dispose();
  }
  let progress = 0;
  const par = await analyzeMotionParallel((async function* () { yield* grays; })(), { workers: 2, onProgress: (d) => (progress = d) });
  assert.equal(progress, 7);
  par.forEach((m, t) => assert.deepEqual(m.matrix, seq[t].matrix, `parallel frame ${t}`));
  // keyframes every 3rd frame: blocks of 3 pairs, spread over this thread and 2 workers, still the same as sequential
  const seq3 = await analyzeMotion(grays, { keyframeInterval: 3 });
  const par3 = await analyzeMotionParallel(grays, { workers: 3, keyframeInterval: 3 });
  par3.forEach((m, t) => assert.deepEqual(m.matrix, seq3[t].matrix, `parallel (K=3) frame ${t}`));
  // frames arriving after the workers have started: the blocks go to the workers
  const late = await analyzeMotionParallel((async function* () {
    await new Promise((r) => setTimeout(r, 2500));
    yield* grays;
  })(), { workers: 3, keyframeInterval: 3 });
  late.forEach((m, t) => assert.deepEqual(m.matrix, seq3[t].matrix, `parallel (K=3, workers started) frame ${t}`));
  // keyframeInterval 1 with the per-pair defaults is the per-pair estimate
  const perPair = await analyzeMotion(grays, { keyframeInterval: 1, downscale: 1, maxCorners: 300, winSize: 21, maxLevel: 3, ransacThreshold: 1.5 });
  for (let t = 1; t < grays.length; t++) assert.deepEqual(perPair[t].matrix, (await estimateMotion(grays[t - 1], grays[t])).matrix, `per-pair frame ${t}`);
});

test('video defaults (320 px analysis, tracks carried between keyframes) on a 640x480 shaky clip: every pair within 0.25 px / 0.05 deg', async () => {
  const base = await loadImage(mediaFile('building.jpg'), 800, 600);
  const clip = await makeShakyClip(base, { frames: 14, width: 640, height: 480, pan: [2, -1], amplitude: 8, amplitudeDeg: 0.8, seed: 5 });
  const grays = await Promise.all(clip.frames.map(toGray));
  const motions = await analyzeMotion(grays);
  for (let t = 1; t < grays.length; t++) {
    const got = motions[t].matrix, truth = clip.interframe[t];
    assert.equal(motions[t].fallback, undefined, `pair ${t}`);
    for (const [x, y] of [[0, 0], [639, 0], [0, 479], [639, 479], [320, 240]]) {
      const e = Math.hypot(got[0] * x + got[1] * y + got[2] - (truth[0] * x + truth[1] * y + truth[2]),
        got[3] * x + got[4] * y + got[5] - (truth[3] * x + truth[4] * y + truth[5]));
      assert.ok(e < 0.25, `pair ${t}: error ${e.toFixed(3)} px at (${x},${y})`);
    }
    const da = Math.abs(decompose(got).angle - decompose(truth).angle) * DEG;
    assert.ok(da < 0.05, `pair ${t}: angle error ${da} deg`);
  }
  // the same at full size (downscale 1) keeps the per-pair bound of estimateMotion
  const full = await analyzeMotion(grays, { downscale: 1 });
  for (let t = 1; t < grays.length; t++) {
    const got = full[t].matrix, truth = clip.interframe[t];
    for (const [x, y] of [[0, 0], [639, 479], [320, 240]]) {
      const e = Math.hypot(got[0] * x + got[1] * y + got[2] - (truth[0] * x + truth[1] * y + truth[2]),
        got[3] * x + got[4] * y + got[5] - (truth[3] * x + truth[4] * y + truth[5]));
      assert.ok(e < 0.1, `full size pair ${t}: error ${e.toFixed(3)} px at (${x},${y})`);
    }
    assert.ok(Math.abs(decompose(got).angle - decompose(truth).angle) * DEG < 0.02, `full size pair ${t}: angle`);
  }
});

test('video defaults with a person mask: carried tracks that land on the moving person are dropped, every pair follows the background', async () => {
  const bg = await building;
  const person = await loadImage(mediaFile('graf1.png'), 200, 200).then(toGray);
  const W = 320, H = 240;
  const frames: GrayFrame[] = [];
  const masks: GrayFrame[] = [];
  for (let t = 0; t < 8; t++) {
    const f = await warpGray(bg, translation(-80 + 2 * t, -60 + t), W, H); // background moves (+2, +1) per frame
    const mask = { width: W, height: H, data: new Uint8Array(W * H) };
    const x0 = 20 + 9 * t, y0 = 30 - 4 * t; // the person moves (+9, -4) per frame
    for (let y = 0; y < 200; y++) for (let x = 0; x < 180; x++) {
      const X = x0 + x, Y = y0 + y;
      if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
      f.data[Y * W + X] = person.data[y * 200 + x];
      mask.data[Y * W + X] = 255;
    }
    frames.push(f);
    masks.push(mask);
  }
  const motions = await analyzeMotion(frames, { maskFor: (i) => masks[i], maxCorners: 100 });
  for (let t = 1; t < frames.length; t++) {
    const m = motions[t].matrix;
    assert.equal(motions[t].fallback, undefined, `pair ${t}`);
    const err = Math.hypot(m[2] - 2, m[5] - 1) + Math.hypot(m[0] - 1, m[1], m[3], m[4] - 1) * 300;
    assert.ok(err < 0.15, `pair ${t}: ${m.map((v) => v.toFixed(3))}`);
  }
});

test('a mask that misses the rim of a large person: the background-first fit still follows the camera', async () => {
  // A textured 260x210 "person" over 71 % of a 320x240 frame moves (+9, -4) while the background
  // moves (+2, +1); its mask misses a 16 px rim (as a model's mask misses hair and limbs), and the
  // rim's corners outnumber the background's. Fitting on all unmasked tracks follows the person
  // (backgroundMargin 0 = the old behaviour); fitting on tracks far from the mask first does not.
  const bg = await building;
  const PW = 260, PH = 210, rim = 16;
  const person = await loadImage(mediaFile('graf1.png'), PW, PH).then(toGray);
  const W = 320, H = 240;
  const paste = (frame: GrayFrame, x0: number, y0: number) => {
    const out = { ...frame, data: Uint8Array.from(frame.data) };
    const mask = { width: W, height: H, data: new Uint8Array(W * H) };
    for (let y = 0; y < PH; y++) for (let x = 0; x < PW; x++) {
      const X = x0 + x, Y = y0 + y;
      if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
      out.data[Y * W + X] = person.data[y * PW + x];
      if (x >= rim && y >= rim && x < PW - rim && y < PH - rim) mask.data[Y * W + X] = 255;
    }
    return { frame: out, mask };
  };
  const a = paste(await warpGray(bg, translation(-80, -60), W, H), 30, 20);
  const b = paste(await warpGray(bg, translation(-78, -59), W, H), 39, 16);
  const err = (m: number[]) => Math.hypot(m[2] - 2, m[5] - 1) + Math.hypot(m[0] - 1, m[1], m[3], m[4] - 1) * 300;
  const old = await estimateMotion(a.frame, b.frame, { mask: a.mask, maskNext: b.mask, backgroundMargin: 0 });
  const now = await estimateMotion(a.frame, b.frame, { mask: a.mask, maskNext: b.mask });
  assert.ok(err(old.matrix) > 5, `all unmasked tracks: ${old.matrix.map((v) => v.toFixed(3))}`);
  assert.ok(err(now.matrix) < 1, `background first: ${now.matrix.map((v) => v.toFixed(3))}`);
});

test('a mask over (almost) the whole frame: identity with fallback too-few-background-points', async () => {
  const bg = await building;
  const W = 320, H = 240;
  const a = await warpGray(bg, translation(-80, -60), W, H);
  const b = await warpGray(bg, translation(-78, -59), W, H);
  const mask = { width: W, height: H, data: new Uint8Array(W * H).fill(255) };
  for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) mask.data[y * W + x] = 0; // a 6x6 corner left
  const r = await estimateMotion(a, b, { mask, maskNext: mask });
  assert.equal(r.fallback, 'too-few-background-points');
  assert.deepEqual(r.matrix, [1, 0, 0, 0, 1, 0]);
  // Without the mask the same pair is estimated fine: the fallback is the mask's doing.
  assert.equal((await estimateMotion(a, b)).fallback, undefined);
});

test('anchored fits between keyframes: a large subject drifting slower than the inlier threshold drops out; per-pair fits follow it', async () => {
  const bg = await building;
  const person = await loadImage(mediaFile('graf1.png'), 200, 200).then(toGray);
  const W = 320, H = 240, N = 16;
  const frames: GrayFrame[] = [];
  for (let t = 0; t < N; t++) {
    const f = await warpGray(bg, translation(-80 + 2 * t, -60 + t), W, H); // camera: background moves (+2, +1) per frame
    // the subject (120x150, about a quarter of the frame, textured) moves with the camera plus (+0.4, -0.3) px per frame of its own:
    // 0.5 px per pair, under the 0.7 px inlier threshold, so a per-pair fit cannot tell it from the background
    const p = await warpGray(person, translation(100 + 2.4 * t, 40 + 0.7 * t), W, H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const sx = x - (100 + 2.4 * t), sy = y - (40 + 0.7 * t);
      if (sx >= 0 && sy >= 0 && sx < 120 && sy < 150) f.data[y * W + x] = p.data[y * W + x];
    }
    frames.push(f);
  }
  const opts = { keyframeInterval: 20, ransacThreshold: 0.7, maxCorners: 200 };
  // accumulated path error at the end: the true camera moved (2 (N-1), N-1)
  const endError = (ms: { matrix: number[] }[]) => {
    let x = 0, y = 0;
    for (let t = 1; t < N; t++) { x += ms[t].matrix[2]; y += ms[t].matrix[5]; }
    return Math.hypot(x - 2 * (N - 1), y - (N - 1));
  };
  const anchored = await analyzeMotion(frames, opts);
  const perPair = await analyzeMotion(frames, { ...opts, anchored: false });
  const eA = endError(anchored), eP = endError(perPair);
  assert.ok(eA < 0.5, `anchored: path error ${eA.toFixed(2)} px after ${N - 1} pairs`);
  assert.ok(eP > 1, `per-pair fits should be pulled by the subject: ${eP.toFixed(2)} px`);
});

test('ransacSimilarity weights: 30 heavy background points outvote 60 light ones moving together; unweighted, the 60 win', () => {
  // truth: the camera's motion; the 60 "fresh" points all share another motion (a large mover that just appeared)
  const truth = similarity(3, 1, 0.01, 1.0);
  const mover = translation(9, -4);
  const from: number[] = [], to: number[] = [], weights: number[] = [];
  let s = 777;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const apply = (m: number[], x: number, y: number) => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
  for (let i = 0; i < 90; i++) {
    const x = rnd() * 320, y = rnd() * 240;
    const old = i < 30;
    from.push(x, y);
    to.push(...apply(old ? truth : mover, x, y));
    weights.push(old ? 11 : 1); // 1 + min(age, 10): old tracks agreed with 10+ fits, fresh ones with none
  }
  const weighted = ransacSimilarity(from, to, { threshold: 0.2, weights })!;
  const plain = ransacSimilarity(from, to, { threshold: 0.2 })!;
  assert.equal(weighted.inliers, 30);
  weighted.matrix.forEach((v, i) => assert.ok(Math.abs(v - truth[i]) < 1e-9, `weighted element ${i}: ${v} vs ${truth[i]}`));
  assert.equal(plain.inliers, 60);
  assert.ok(Math.abs(plain.matrix[2] - 9) < 1e-9 && Math.abs(plain.matrix[5] + 4) < 1e-9, `unweighted follows the mover: ${plain.matrix}`);
});

test('age-weighted anchored fits: a large textured mover that appears mid-interval does not take over the fit; one vote each, it does', async () => {
  const bg = await building;
  const mover = await loadImage(mediaFile('graf1.png'), 200, 180).then(toGray);
  const W = 320, H = 240, N = 14, T0 = 5;
  const frames: GrayFrame[] = [];
  for (let t = 0; t < N; t++) {
    const f = await warpGray(bg, translation(-80 + 2 * t, -60 + t), W, H); // camera: background moves (+2, +1) per frame
    if (t >= T0) {
      // from frame T0 a large, highly textured object (200x180 of the 320x240 frame) hides most background tracks, so
      // corners are detected again and most land on it; it moves (+3, -2) px per frame relative to the background.
      // (Covering 260x220, too few background tracks survive for any vote to save the fit.)
      const ox = 20 + 2 * t + 3 * (t - T0), oy = 5 + t - 2 * (t - T0);
      const p = await warpGray(mover, translation(ox, oy), W, H);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const sx = x - ox, sy = y - oy;
        if (sx >= 0 && sy >= 0 && sx < 200 && sy < 180) f.data[y * W + x] = p.data[y * W + x];
      }
    }
    frames.push(f);
  }
  const opts = { keyframeInterval: 20, maxCorners: 200 };
  // per-pair error against the true camera (+2, +1) on the pairs after the mover appeared
  const worst = (ms: { matrix: number[] }[]) => Math.max(...ms.slice(T0 + 1).map((m) => Math.hypot(m.matrix[2] - 2, m.matrix[5] - 1)));
  const weighted = await analyzeMotion(frames, opts);
  const plain = await analyzeMotion(frames, { ...opts, ageWeight: 0 });
  const eW = worst(weighted), eP = worst(plain);
  assert.ok(eW < 0.3, `age-weighted: worst pair error ${eW.toFixed(2)} px`);
  assert.ok(eP > 2, `one vote per track should follow the mover: worst pair error ${eP.toFixed(2)} px`);
  assert.throws(() => resolveMotionOptions({ ageWeight: -1 }), /ageWeight must be a number >= 0, got -1/);
});
