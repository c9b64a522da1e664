/**
 * The style-flicker options of 'separated' (issue 13): the two-band detail blend (highBandSigma) and
 * the contrast restoration of the emitted frame (contrastGain). Expected values are derived by hand
 * from stripe patterns whose Gaussian blur is known, or come from the one-band reference (fusedBlend).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { applyTemporalConsistency, TemporalConsistency } from '../src/temporal/index.js';
import { fusedBlend, fusedBlendBands, restoreContrast, IDENTITY_AFFINE, type ChannelAffine } from '../src/temporal/separated.js';
import type { Frame } from '../src/video/index.js';
import { mediaFile } from './helpers.js';

const W = 64, H = 48;

/** Gray RGB frame: mean + amp on columns x mod 4 in {0, 1}, mean - amp on {2, 3} (period 4). */
function stripes(mean: number, amp: number): Frame {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.fill(x % 4 < 2 ? mean + amp : mean - amp, (y * W + x) * 3, (y * W + x) * 3 + 3);
  return { width: W, height: H, data };
}

const maxAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
/** The same, over columns 12..W-13 only: the blur's reflected border breaks the period-4 pattern within 3 sigma of the left and right edges. */
const interiorDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => ((i / 3) % W >= 12 && (i / 3) % W < W - 12 ? Math.max(m, Math.abs(v - b[i])) : m), 0);

// A Gaussian of sigma 3 passes exp(-2 pi^2 9 / 16) = 1.5e-5 of a period-4 pattern's fundamental:
// blur(stripes(m, a)) = m to far below a level, so the detail layer is exactly the +-a pattern.
test('restoreContrast: detail at half the generated contrast is doubled back (k = 2 from the gradient ratio), exactly the generated frame', async () => {
  const out = await restoreContrast(stripes(128, 20), stripes(128, 40), { maxGain: 3, detailSigma: 3, mapSigma: 2 });
  assert.ok(interiorDiff(out.data, stripes(128, 40).data) <= 1, `max diff ${interiorDiff(out.data, stripes(128, 40).data)}`);
});

test('restoreContrast: the gain stops at maxGain (1.5: amplitude 20 -> 30) and never lowers contrast', async () => {
  const capped = await restoreContrast(stripes(128, 20), stripes(128, 40), { maxGain: 1.5, detailSigma: 3, mapSigma: 2 });
  assert.ok(interiorDiff(capped.data, stripes(128, 30).data) <= 1, `max diff ${interiorDiff(capped.data, stripes(128, 30).data)}`);
  const sharper = stripes(128, 40);
  const kept = await restoreContrast(sharper, stripes(128, 20), { maxGain: 3, detailSigma: 3, mapSigma: 2 });
  assert.deepEqual(kept.data, sharper.data);
});

test('fusedBlendBands: equal weights give the one-band fusedBlend; a low-frequency W - G stays out of the high band, high-frequency W - G goes in', async () => {
  const G = stripes(100, 10);
  const Wt = stripes(120, 30);
  const wt = new Float32Array(W * H).map((_, i) => (i % 7) / 10);
  const affine: ChannelAffine = { gain: [1.1, 0.9, 1], offset: [-3, 4, 0] };
  const one = fusedBlend(G.data, Wt.data, wt, undefined, affine, 0.5, 0);
  const two = await fusedBlendBands(G.data, Wt.data, wt, wt, undefined, affine, 0.5, 0, W, H, 2);
  assert.ok(maxAbsDiff(one, two) <= 1, `one vs two bands: ${maxAbsDiff(one, two)}`);
  const zero = new Float32Array(W * H), ones = new Float32Array(W * H).fill(1);
  // W = G + 20 everywhere: E is constant, all of it low band; the high band alone adds nothing.
  const offset = stripes(120, 10);
  assert.deepEqual(await fusedBlendBands(G.data, offset.data, zero, ones, undefined, IDENTITY_AFFINE, 0, 0, W, H, 3), G.data);
  // W = G + (+-20 stripes): E is all high band (period 4 against sigma 3); the high band alone gives W.
  const hf = stripes(100, 30);
  const d = interiorDiff(await fusedBlendBands(G.data, hf.data, zero, ones, undefined, IDENTITY_AFFINE, 0, 0, W, H, 3), hf.data);
  assert.ok(d <= 1, `high band: max diff ${d}`);
});

async function clip(n: number): Promise<{ guide: Frame[]; gen: Frame[] }> {
  const { data, info } = await sharp(mediaFile('rubberwhale1.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const w = 96, h = 72;
  const guide: Frame[] = [], gen: Frame[] = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2;
  for (let t = 0; t < n; t++) {
    const g = new Uint8Array(w * h * 3), q = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      const v = data[((40 + y) * info.width + 40 + x + t) * 3 + c];
      g[(y * w + x) * 3 + c] = v;
      q[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + 12 * rnd())));
    }
    guide.push({ width: w, height: h, data: g });
    gen.push({ width: w, height: h, data: q });
  }
  return { guide, gen };
}

test('contrastGain restores only the emitted frames: each equals restoreContrast of the run without it (the recursion is unchanged)', async () => {
  const { guide, gen } = await clip(6);
  const opts = { flowScale: 1, highBandSigma: 2 } as const;
  const plain = await applyTemporalConsistency(guide, gen, opts);
  const gained = await applyTemporalConsistency(guide, gen, { ...opts, contrastGain: 2 });
  assert.deepEqual(gained[0].data, gen[0].data);
  for (let t = 1; t < gen.length; t++) {
    const ref = await restoreContrast(plain[t], gen[t], { maxGain: 2, detailSigma: 3, mapSigma: 2 });
    assert.deepEqual(gained[t].data, ref.data, `frame ${t}`);
  }
});

test('highBandSigma with the high band as strict as the low band (same strength, tolerance, guard) gives the one-band output within a level', async () => {
  const { guide, gen } = await clip(5);
  const one = await applyTemporalConsistency(guide, gen, { flowScale: 1, detailTolerance: 20 });
  const two = await applyTemporalConsistency(guide, gen, { flowScale: 1, detailTolerance: 20, highBandSigma: 2, highBandStrength: 0.8, highBandTolerance: 20, highBandGuideError: 12 });
  for (let t = 0; t < gen.length; t++) assert.ok(maxAbsDiff(one[t].data, two[t].data) <= 1, `frame ${t}: ${maxAbsDiff(one[t].data, two[t].data)}`);
});

test('bad settings: one clear error each', () => {
  assert.throws(() => new TemporalConsistency({ contrastGain: 0.5 }), /contrastGain must be >= 1/);
  assert.throws(() => new TemporalConsistency({ highBandSigma: -1 }), /highBandSigma must be >= 0/);
  assert.throws(() => new TemporalConsistency({ highBandStrength: 1 }), /highBandStrength must be in \[0, 1\)/);
  assert.throws(() => new TemporalConsistency({ method: 'blend', contrastGain: 2 }), /belong to method 'separated'/);
});
