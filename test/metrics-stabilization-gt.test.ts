import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getSynthPreset, synthGroundTruth } from '../src/datasets/index.js';
import { compareWithTruth, flatten } from '../src/metrics/index.js';
import { compose, identity, invert, type Mat2x3 } from '../src/stabilize/index.js';

const rmsAboutMean = (v: number[]) => {
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
};

/** P_t: frame 0 -> frame t, accumulated from the ground truth's own inter-frame matrices. */
function truePaths(interframe: Mat2x3[]): Mat2x3[] {
  const out: Mat2x3[] = [identity()];
  for (let t = 1; t < interframe.length; t++) out.push(compose(interframe[t], out[t - 1]));
  return out;
}

test('no stabilization: the residual is the ground-truth shake itself (x, y, angle about the centre)', () => {
  // photo-strong-shake has no intentional motion, so the deviation of the unstabilized view is exactly the shake pose.
  const gt = synthGroundTruth(getSynthPreset('photo-strong-shake', { frames: 60 }));
  const r = compareWithTruth(gt.camera.map(() => identity()), gt);
  const sx = rmsAboutMean(gt.shake.map((s) => s.x));
  const sy = rmsAboutMean(gt.shake.map((s) => s.y));
  const sa = rmsAboutMean(gt.shake.map((s) => s.angle));
  assert.ok(Math.abs(r.residualShake.x! - sx) < 1e-6, `${r.residualShake.x} vs ${sx}`);
  assert.ok(Math.abs(r.residualShake.y! - sy) < 1e-6);
  assert.ok(Math.abs(r.residualShake.deg - sa) < 1e-6);
  assert.ok(r.residualShake.px > 3, 'the preset really shakes');
});

test('a perfect stabilizer of a clip without intentional motion leaves zero residual, whatever its fixed zoom', () => {
  const gt = synthGroundTruth(getSynthPreset('photo-strong-shake', { frames: 60 }));
  const paths = truePaths(gt.interframe.map(flatten));
  const zoom: Mat2x3 = [1.1, 0, -0.1 * 319.5, 0, 1.1, -0.1 * 239.5];
  const r = compareWithTruth(paths.map((p) => compose(zoom, invert(p))), gt);
  assert.ok(r.residualShake.px < 1e-6 && r.residualShake.deg < 1e-6, JSON.stringify(r.residualShake));
  assert.ok(r.intentionalError.px < 1e-6);
});

test('freezing the view of a panning clip loses the pan: intentional error = RMS of a ramp about its mean', () => {
  const frames = 80;
  const gt = synthGroundTruth(getSynthPreset('vtest-pan-shake', { frames }));
  const paths = truePaths(gt.interframe.map(flatten));
  const r = compareWithTruth(paths.map((p) => invert(p)), gt);
  // Pan of v px per frame: a linear ramp's RMS about its mean is |v| * sqrt((N^2 - 1) / 12).
  const v = gt.intentional[1].x - gt.intentional[0].x;
  const expected = Math.abs(v) * Math.sqrt((frames * frames - 1) / 12);
  assert.ok(Math.abs(v) > 0.1, 'the preset pans');
  assert.ok(Math.abs(r.residualShake.x! - expected) < 1e-3 * expected, `${r.residualShake.x} vs ${expected}`);
  // The low-pass keeps a ramp except near the ends, where reflection bends it slightly.
  assert.ok(Math.abs(r.intentionalError.x! - expected) < 0.05 * expected, `${r.intentionalError.x} vs ${expected}`);
});
