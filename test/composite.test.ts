import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { blendOver, compositeFrame, compositeSegment, featherMask } from '../src/composite/index.js';
import { computePlate, makePlateScene, psnr, sourceFromArrays } from '../src/background/index.js';
import type { Frame, GrayFrame } from '../src/video/types.js';
import { mediaFile } from './helpers.js';

const rgb = (w: number, h: number, v: number): Frame => ({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) });
const gray = (w: number, h: number, f: (x: number, y: number) => number): GrayFrame => {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  return { width: w, height: h, data };
};

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf), for the expected blur of a step edge. */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return 0.5 * (1 + (z >= 0 ? erf : -erf));
}

test('blendOver: alpha 255 -> person, 0 -> plate, in between the rounded linear mix', () => {
  const person = rgb(3, 1, 200), plate = rgb(3, 1, 100);
  const alpha: GrayFrame = { width: 3, height: 1, data: new Uint8Array([255, 0, 128]) };
  const out = blendOver(person, plate, alpha);
  // 128/255 * 200 + 127/255 * 100 = 150.196 -> 150
  assert.deepEqual([...out.data], [200, 200, 200, 100, 100, 100, 150, 150, 150]);
  assert.throws(() => blendOver(person, rgb(2, 1, 0), alpha), /plate is 2x1/);
});

test('featherMask: a step edge becomes a Gaussian ramp (sigma = feather / 2); grow moves the edge', async () => {
  const W = 40, H = 5;
  const step = gray(W, H, (x) => (x >= 20 ? 255 : 0)); // edge between pixel centres 19 and 20
  const f = await featherMask(step, { feather: 4 });
  const row = (m: GrayFrame, x: number) => m.data[2 * W + x];
  for (let x = 12; x < 28; x++) {
    // pixel x is (x - 19.5) from the edge; blurred step = 255 * Phi(d / sigma), sigma = 2
    const want = 255 * phi((x - 19.5) / 2);
    assert.ok(Math.abs(row(f, x) - want) <= 3, `x=${x}: ${row(f, x)} vs ${want.toFixed(1)}`);
  }
  assert.equal(row(f, 0), 0);
  assert.equal(row(f, 39), 255);
  const grown = await featherMask(step, { grow: 2, feather: 0 });
  assert.equal(row(grown, 18), 255);
  assert.equal(row(grown, 17), 0);
  const shrunk = await featherMask(step, { grow: -3, feather: 0 });
  assert.equal(row(shrunk, 22), 0);
  assert.equal(row(shrunk, 23), 255);
  assert.equal(await featherMask(step, { feather: 0 }), step, 'no-op returns the mask');
  await assert.rejects(featherMask(step, { feather: -1 }), /feather must be >= 0/);
});

test('compositeFrame / compositeSegment: person where the mask is, plate elsewhere; per-frame plates; count checks', async () => {
  const W = 30, H = 10;
  const person = rgb(W, H, 250), plate = rgb(W, H, 10);
  const mask = gray(W, H, (x) => (x >= 10 && x < 20 ? 255 : 0));
  const out = await compositeFrame(person, plate, mask, { feather: 2 });
  const at = (x: number) => out.data[(5 * W + x) * 3];
  assert.equal(at(15), 250);
  assert.equal(at(2), 10);
  assert.ok(at(10) > 10 && at(10) < 250, 'soft edge');
  const seg = await compositeSegment([person, person], [plate, rgb(W, H, 90)], [mask, mask], { feather: 0 });
  assert.equal(seg[1].data[(5 * W + 2) * 3], 90);
  await assert.rejects(compositeSegment([person], plate, [mask, mask]), /1 frames but 2 masks/);
  await assert.rejects(compositeSegment([person], [plate, plate], [mask]), /1 frames but 2 plates/);
});

test('ground truth: re-compositing the frames over the measured plate with their masks restores them', async () => {
  const load = async (file: string, w: number, h: number): Promise<Frame> => {
    const { data, info } = await sharp(file).removeAlpha().resize(w, h, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data) };
  };
  const bg = await load(mediaFile('building.jpg'), 128, 96);
  const tex = await load(mediaFile('basketball1.png'), 32, 64);
  const s = makePlateScene({ background: bg, texture: tex, frames: 20, path: 'cross', noise: 0, seed: 2 });
  const plate = await computePlate(sourceFromArrays(s.frames, s.masks));
  const out = await compositeSegment(s.frames, plate.plate, s.masks, { feather: 1 });
  for (let t = 0; t < s.frames.length; t += 5) {
    // Only the feathered band mixes person and plate colours; everything else is exact or the plate (= background).
    assert.ok(psnr(out[t], s.frames[t]) > 30, `frame ${t}: ${psnr(out[t], s.frames[t])}`);
  }
  // Swapping in the plate where the person was gives the true background back.
  const empty = await compositeSegment([s.truth[0]], plate.plate, [s.masks[0]], { feather: 1 });
  assert.ok(psnr(empty[0], s.truth[0]) > 40);
});
