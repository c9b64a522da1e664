import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSyntheticPerturbation, syntheticGenerateSegment, SYNTHETIC_DESCRIPTION } from '../src/generate/synthetic.js';
import type { Frame } from '../src/video/index.js';
import { ReshootError } from '../src/util/errors.js';

const OFF = { brightness: 0, colour: 0, noise: 0, drift: 0, segmentGain: 0, segmentOffset: 0 };

function gradientFrame(w: number, h: number): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data[(y * w + x) * 3] = 40 + 5 * x; // red ramps along x
      data[(y * w + x) * 3 + 1] = 40 + 5 * y; // green along y
      data[(y * w + x) * 3 + 2] = 128;
    }
  }
  return { width: w, height: h, data };
}

const flat = (v: number, w = 8, h = 8): Frame => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const frameMean = (f: Frame, c?: number) => {
  let s = 0, n = 0;
  for (let i = c ?? 0; i < f.data.length; i += c === undefined ? 1 : 3, n++) s += f.data[i];
  return s / n;
};

test('it says it is a stand-in, not a model', () => {
  assert.match(SYNTHETIC_DESCRIPTION, /stand-in/);
  assert.match(SYNTHETIC_DESCRIPTION, /not a model/);
  assert.equal(createSyntheticPerturbation().description, SYNTHETIC_DESCRIPTION);
});

test('deterministic: same seed, frame and segment give the same frame; another segment or seed differs', () => {
  const img = gradientFrame(24, 16);
  const p = createSyntheticPerturbation({ seed: 5 });
  assert.deepEqual(p.perturbFrame(img, 3, 1).data, createSyntheticPerturbation({ seed: 5 }).perturbFrame(img, 3, 1).data);
  assert.notDeepEqual(p.perturbFrame(img, 3, 1).data, p.perturbFrame(img, 3, 2).data);
  assert.notDeepEqual(p.perturbFrame(img, 3, 1).data, createSyntheticPerturbation({ seed: 6 }).perturbFrame(img, 3, 1).data);
  // Input untouched.
  assert.deepEqual(img.data, gradientFrame(24, 16).data);
});

test('strength 0 (and every effect off) returns the clean frame exactly', () => {
  const img = gradientFrame(24, 16);
  assert.deepEqual(createSyntheticPerturbation({ strength: 0 }).perturbFrame(img, 7, 2).data, img.data);
  assert.deepEqual(createSyntheticPerturbation(OFF).perturbFrame(img, 7, 2).data, img.data);
});

test('brightness flicker alone: a uniform offset per frame with the configured standard deviation', () => {
  const p = createSyntheticPerturbation({ ...OFF, brightness: 4, seed: 11 });
  const clean = flat(128);
  const offsets: number[] = [];
  for (let t = 0; t < 400; t++) {
    const f = p.perturbFrame(clean, t, 0);
    // Uniform: every value in the frame equal.
    assert.ok(f.data.every((v) => v === f.data[0]));
    offsets.push(f.data[0] - 128);
  }
  const m = mean(offsets);
  const sd = Math.sqrt(mean(offsets.map((o) => (o - m) ** 2)));
  // 400 draws of N(0, 4) rounded: sample std within about 10 % (rounding adds 1/12 variance).
  assert.ok(Math.abs(sd - Math.sqrt(16 + 1 / 12)) < 0.45, `std ${sd}`);
  assert.ok(Math.abs(m) < 0.6, `mean ${m}`);
});

test('segment colour cast alone: constant within a segment, different between segments', () => {
  const p = createSyntheticPerturbation({ ...OFF, segmentOffset: 6, seed: 2 });
  const clean = flat(100);
  const s0 = [0, 5, 9].map((t) => [0, 1, 2].map((c) => frameMean(p.perturbFrame(clean, t, 0), c)));
  const s1 = [0, 5, 9].map((t) => [0, 1, 2].map((c) => frameMean(p.perturbFrame(clean, t, 1), c)));
  assert.deepEqual(s0[0], s0[1]);
  assert.deepEqual(s0[0], s0[2]);
  assert.deepEqual(s1[0], s1[2]);
  assert.notDeepEqual(s0[0], s1[0]);
});

test('drift alone moves the image by the configured amplitude (measured on linear ramps)', () => {
  const img = gradientFrame(40, 40);
  const p = createSyntheticPerturbation({ ...OFF, drift: 1, driftPeriod: 8, seed: 3 });
  for (const t of [0, 1, 2, 5]) {
    const f = p.perturbFrame(img, t, 0);
    // Interior only (borders replicate): red = 40 + 5 (x + dx), green = 40 + 5 (y + dy).
    const dxs: number[] = [], dys: number[] = [];
    for (let y = 5; y < 35; y++) {
      for (let x = 5; x < 35; x++) {
        const i = (y * 40 + x) * 3;
        dxs.push((f.data[i] - img.data[i]) / 5);
        dys.push((f.data[i + 1] - img.data[i + 1]) / 5);
      }
    }
    const r = Math.hypot(mean(dxs), mean(dys));
    assert.ok(Math.abs(r - 1) < 0.05, `frame ${t}: drift ${r}`);
  }
});

test('texture noise is redrawn every frame; syntheticGenerateSegment indexes frames by video time', () => {
  const img = gradientFrame(32, 32);
  const p = createSyntheticPerturbation({ ...OFF, noise: 6, seed: 4 });
  const a = p.perturbFrame(img, 0, 0), b = p.perturbFrame(img, 1, 0);
  let diff = 0;
  for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i] - b.data[i]);
  assert.ok(diff / a.data.length > 1, `mean change ${diff / a.data.length}`);
  const seg = syntheticGenerateSegment([img, img, img], 2, { seed: 4, firstFrame: 10 });
  assert.deepEqual(seg[1].data, createSyntheticPerturbation({ seed: 4 }).perturbFrame(img, 11, 2).data);
});

test('bad options and indices are user errors', () => {
  assert.throws(() => createSyntheticPerturbation({ noise: -1 }), ReshootError);
  assert.throws(() => createSyntheticPerturbation().perturbFrame(flat(1), -1, 0), ReshootError);
  assert.throws(() => createSyntheticPerturbation().perturbFrame({ width: 2, height: 2, data: new Uint8Array(5) }, 0, 0), ReshootError);
});
