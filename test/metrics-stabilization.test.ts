import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame } from '../src/video/types.js';
import {
  coverage, croppingRatio, distortion, intentionalMotionError, itf, lowFrequencyShare, PSNR_CAP, psnrCentral, removedMotion,
  residualJitter, shakeError, stabilityScore,
} from '../src/metrics/index.js';
import { compose, scaleAbout, similarity, translation, type PathParams } from '../src/stabilize/index.js';

const W = 320, H = 240;
const close = (a: number, b: number, tol: number, msg: string) => assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);
/** Inter-frame translations that integrate to the positions xs, ys (frame 0 at 0). */
const motionsOf = (xs: number[], ys: number[]) => xs.map((x, t) => (t ? translation(x - xs[t - 1], ys[t] - ys[t - 1]) : [1, 0, 0, 0, 1, 0]));

test('residual jitter: sinusoid of amplitude A at period 5 -> A sqrt(150/301) ~ A/sqrt(2); constant velocity -> 0', () => {
  const n = 301, A = 3;
  const xs = Array.from({ length: n }, (_, t) => A * Math.sin((2 * Math.PI * t) / 5));
  const zero = new Array(n).fill(0);
  // sum over t = 0..300 of sin^2(2 pi t / 5) = 150 exactly (60 full periods, sin(0) = 0 at t = 300)
  const expected = A * Math.sqrt(150 / 301);
  const j = residualJitter(motionsOf(xs, zero), { width: W, height: H });
  close(j.px, expected, 0.01 * A, 'px');
  close(j.x, expected, 0.01 * A, 'x');
  close(j.y, 0, 1e-9, 'y');
  close(j.deg, 0, 1e-9, 'deg');
  // both axes shaking: px is the RMS of the 2-D residual vector
  const j2 = residualJitter(motionsOf(xs, xs.map((v) => -v)), { width: W, height: H });
  close(j2.px, expected * Math.SQRT2, 0.02 * A, 'px, both axes');
  const ramp = residualJitter(motionsOf(Array.from({ length: 90 }, (_, t) => 2 * t), Array.from({ length: 90 }, (_, t) => -t)), { width: W, height: H });
  close(ramp.px, 0, 1e-9, 'constant velocity');
  // rotation about the centre in 0.1 deg steps, alternating: angle path 0, .1, 0, .1 ... -> residual ~0.05 deg
  const rot = (a: number) => compose(translation((W - 1) / 2, (H - 1) / 2), compose(similarity(0, 0, a, 1), translation(-(W - 1) / 2, -(H - 1) / 2)));
  const d = 0.1 * Math.PI / 180;
  const rj = residualJitter(Array.from({ length: 200 }, (_, t) => (t === 0 ? rot(0) : rot(t % 2 ? d : -d))), { width: W, height: H });
  close(rj.deg, 0.05, 0.002, 'rotation jitter deg');
  close(rj.px, 0, 1e-6, 'rotation about the centre does not move the centre');
});

test('stability score: ramp has the closed-form share; sinusoids at bin 3 and bin 20 score 1 and 0', () => {
  const n = 100;
  const ramp: PathParams[] = Array.from({ length: n }, (_, t) => ({ x: 0.6 * t, y: 0.8 * t, angle: 0, scale: 1 }));
  // |DFT(t)|^2 at bin k != 0 is n^2 / (4 sin^2(pi k / n))
  const w = (k: number) => 1 / Math.sin((Math.PI * k) / n) ** 2;
  let low = 0, tot = 0;
  for (let k = 1; k < n / 2; k++) { tot += w(k); if (k <= 5) low += w(k); }
  const s = stabilityScore(ramp);
  close(s.translation, low / tot, 1e-9, 'translation (ramp magnitude = t)');
  assert.equal(s.rotation, 1, 'constant rotation: no energy outside DC, defined as 1');
  close(s.mean, (low / tot + 1) / 2, 1e-9, 'mean');
  assert.ok(s.translation > 0.85);
  const sine = (k: number) => Array.from({ length: n }, (_, t) => ({ x: 10 + 2 * Math.sin((2 * Math.PI * k * t) / n), y: 0, angle: 0.01 * Math.cos((2 * Math.PI * k * t) / n), scale: 1 }));
  const s3 = stabilityScore(sine(3));
  close(s3.translation, 1, 1e-9, 'bin 3 translation'); close(s3.rotation, 1, 1e-9, 'bin 3 rotation');
  const s20 = stabilityScore(sine(20));
  close(s20.translation, 0, 1e-9, 'bin 20 translation'); close(s20.rotation, 0, 1e-9, 'bin 20 rotation');
  // equal energy at bin 2 and bin 30 -> 0.5
  close(lowFrequencyShare(Array.from({ length: n }, (_, t) => Math.sin((2 * Math.PI * 2 * t) / n) + Math.cos((2 * Math.PI * 30 * t) / n))), 0.5, 1e-9, 'half');
});

test('shake error and intentional-motion error on known paths', () => {
  // n - 1 = 120 is a multiple of the wobble period 3, so the point reflection at both ends continues the wobble
  const n = 121;
  const intentional: PathParams[] = Array.from({ length: n }, (_, t) => ({ x: 1.5 * t, y: 0, angle: 0, scale: 1 }));
  const shake: PathParams[] = Array.from({ length: n }, (_, t) => ({ x: 4 * Math.sin(t * 2.1), y: 3 * Math.cos(t * 1.7), angle: 0.002 * Math.sin(t), scale: 1 }));
  const raw = intentional.map((p, t) => ({ x: p.x + shake[t].x, y: p.y + shake[t].y, angle: p.angle + shake[t].angle, scale: 1 }));
  // a perfect stabilizer's smoothed path = intentional, so it removed exactly the shake
  const perfect = shakeError(removedMotion(raw, intentional), shake);
  close(perfect.px, 0, 1e-12, 'perfect px'); close(perfect.deg, 0, 1e-12, 'perfect deg');
  // one that is off by (0.3, 0.4) px everywhere: error 0.5 px
  const off = shakeError(removedMotion(raw, intentional.map((p) => ({ ...p, x: p.x + 0.3, y: p.y + 0.4 }))), shake);
  close(off.px, 0.5, 1e-12, 'offset px');
  // output path = intentional + 3 px in y: error 3; output = intentional + period-3 wobble: low-pass removes it
  close(intentionalMotionError(intentional.map((p) => ({ ...p, y: p.y + 3 })), intentional).px, 3, 1e-9, 'offset 3');
  const wob = intentionalMotionError(intentional.map((p, t) => ({ ...p, x: p.x + Math.sin((2 * Math.PI * t) / 3) })), intentional);
  assert.ok(wob.px < 0.05, `wobble leaks ${wob.px}`);
});

test('cropping ratio, coverage and distortion', () => {
  const cx = (W - 1) / 2, cy = (H - 1) / 2;
  const z = scaleAbout(1.1, cx, cy);
  const rotZoom = compose(translation(cx, cy), compose(similarity(0, 0, 0.3, 1.1), translation(-cx, -cy)));
  const cr = croppingRatio([z, rotZoom, [1, 0, 5, 0, 1, 0]]);
  close(cr.perFrame[0], 1.1, 1e-12, 'zoom 1.1'); close(cr.perFrame[1], 1.1, 1e-12, 'rotated zoom 1.1');
  close(cr.min, 1, 1e-12, 'min'); close(cr.mean, 3.2 / 3, 1e-12, 'mean');
  const cov = coverage([z, translation(32, 0), scaleAbout(0.5, cx, cy)], W, H);
  close(cov.perFrame[0], 1, 1e-12, 'zoom covers'); close(cov.perFrame[1], (W - 1 - 32) / (W - 1), 1e-12, 'shift');
  close(cov.perFrame[2], 0.25, 1e-12, 'half-size'); close(cov.min, 0.25, 1e-12, 'min');
  const d = distortion([rotZoom, [2, 0, 0, 0, 1, 0], [1, 1, 0, 0, 1, 0]]);
  close(d.perFrame[0], 1, 1e-12, 'similarity'); close(d.perFrame[1], 0.5, 1e-12, 'anisotropic 2:1');
  // [[1,1],[0,1]]: singular values golden ratio phi and 1/phi -> ratio 1/phi^2
  close(d.perFrame[2], 1 / ((1 + Math.sqrt(5)) / 2) ** 2, 1e-12, 'shear'); close(d.min, d.perFrame[2], 0, 'min');
});

test('ITF: identical frames are capped at PSNR_CAP; a uniform +5 difference gives 10 log10(255^2 / 25)', async () => {
  const a: Frame = { width: 64, height: 48, data: Uint8Array.from({ length: 64 * 48 * 3 }, (_, i) => 20 + ((i * 37) % 200)) };
  const b: Frame = { ...a, data: a.data.map((v) => v + 5) };
  const expected = 10 * Math.log10((255 * 255) / 25);
  close(psnrCentral(a, b), expected, 1e-9, 'psnr');
  const r = await itf([a, a, b]);
  assert.equal(r.perPair[0], PSNR_CAP);
  close(r.perPair[1], expected, 1e-9, 'pair 2');
  close(r.mean, (PSNR_CAP + expected) / 2, 1e-9, 'mean');
  // a change confined to the outer 10 % border does not count
  const c: Frame = { ...a, data: Uint8Array.from(a.data) };
  for (let x = 0; x < 64; x++) c.data[x * 3] = 0; // top row
  assert.equal(psnrCentral(a, c), PSNR_CAP);
});
