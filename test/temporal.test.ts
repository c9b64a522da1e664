import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { applyTemporalConsistency, TemporalConsistency } from '../src/temporal/index.js';
import { psnr } from '../src/metrics/index.js';
import type { Frame } from '../src/video/index.js';
import { mediaFile } from './helpers.js';

async function loadRgb(name: string): Promise<Frame> {
  const { data, info } = await sharp(mediaFile(name)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

function slidingClip(img: Frame, n: number, w: number, h: number, dx: number, dy: number): Frame[] {
  return Array.from({ length: n }, (_, t) => {
    const x0 = 40 + dx * t, y0 = 40 + dy * t;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 20 + Math.round((img.data[((y0 + y) * img.width + x0 + x) * 3 + c] * 215) / 255);
      }
    }
    return { width: w, height: h, data };
  });
}

const addOffset = (f: Frame, d: number): Frame => ({ ...f, data: f.data.map((v) => v + d) });
const meanDiff = (a: Frame, b: Frame) => a.data.reduce((s, v, i) => s + v - b.data[i], 0) / a.data.length;

test('blend: static shot with alternating flicker +-a: the recursion settles at (1 - s) a / (1 + s), as derived by hand', async () => {
  // On a flat guide the flow is exactly zero and every pixel passes the check, so per pixel
  // e_t = (1 - s) d_t + s e_{t-1} with d_t = +-a alternating: steady state |e| = (1 - s) a / (1 + s).
  const flat: Frame = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(128) };
  const a = 20, s = 0.6;
  const n = 14;
  const guide = Array.from({ length: n }, () => flat);
  const gen = guide.map((f, t) => addOffset(f, t % 2 ? -a : a));
  const out = await applyTemporalConsistency(guide, gen, { method: 'blend', strength: s });
  const expected = ((1 - s) * a) / (1 + s); // 5 levels; per-step rounding adds at most 0.5 / (1 - s)
  for (let t = 10; t < n; t++) {
    const e = meanDiff(out[t], flat);
    assert.ok(Math.abs(Math.abs(e) - expected) <= 1.25, `frame ${t}: offset ${e}, expected +-${expected}`);
    assert.equal(Math.sign(e), t % 2 ? -1 : 1);
  }
  assert.deepEqual(out[0].data, gen[0].data);

  // On a textured still (real photo) the flicker is still cut to well under half.
  const img = await loadRgb('rubberwhale1.png');
  const still = slidingClip(img, n, 96, 64, 0, 0);
  const out2 = await applyTemporalConsistency(still, still.map((f, t) => addOffset(f, t % 2 ? -a : a)), { method: 'blend', strength: s });
  for (let t = 10; t < n; t++) assert.ok(Math.abs(meanDiff(out2[t], still[t])) < 0.5 * a);
});

test('blend: motion is not blurred: a clean translation clip passes through nearly unchanged, unlike averaging without warping', async () => {
  const img = await loadRgb('building.jpg');
  const clip = slidingClip(img, 8, 160, 120, 3, 1);
  const out = await applyTemporalConsistency(clip, clip, { method: 'blend', strength: 0.6 });
  // Without warping, blending the previous frame 60/40 would misplace every edge by 3 px.
  const naive = clip.map((f, t) => (t === 0 ? f : { ...f, data: f.data.map((v, i) => Math.round(0.4 * v + 0.6 * clip[t - 1].data[i])) }));
  for (let t = 1; t < 8; t++) {
    const p = psnr(out[t], clip[t]);
    assert.ok(p > 33, `frame ${t}: PSNR ${p.toFixed(2)} dB`);
    assert.ok(p > psnr(naive[t], clip[t]) + 8, `frame ${t}: warped ${p.toFixed(2)} vs naive ${psnr(naive[t], clip[t]).toFixed(2)} dB`);
  }
});

test('blend: reset at segment starts returns the generated frame unchanged; carry keeps blending there; prime carries a given state', async () => {
  const img = await loadRgb('rubberwhale1.png');
  const still = slidingClip(img, 6, 64, 48, 0, 0);
  const gen = still.map((f, t) => addOffset(f, t % 2 ? -15 : 15));
  const reset = await applyTemporalConsistency(still, gen, { method: 'blend', resetAt: [3] });
  assert.deepEqual(reset[3].data, gen[3].data);
  assert.notDeepEqual(reset[4].data, gen[4].data);
  const carried = await applyTemporalConsistency(still, gen, { method: 'blend', resetAt: [3], carry: true });
  assert.notDeepEqual(carried[3].data, gen[3].data);

  const flat: Frame = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(100) };
  const tc = new TemporalConsistency({ method: 'blend', strength: 0.5, resetAt: [0] });
  await tc.prime(flat, flat);
  const step = await tc.push(flat, addOffset(flat, -15));
  assert.equal(step.reset, false);
  assert.equal(step.reliable, 1);
  // Half way between the primed frame (100) and the generated one (85), rounded: 92.5 + 0.5 -> 93.
  assert.ok(step.frame.data.every((v) => v === 93));
});

test('blend: occluded regions keep the generated frame: a guide that changes completely is not blended', async () => {
  const img = await loadRgb('building.jpg');
  const a = slidingClip(img, 1, 96, 64, 0, 0)[0];
  const b = slidingClip(await loadRgb('rubberwhale1.png'), 1, 96, 64, 0, 0)[0];
  const tc = new TemporalConsistency({ method: 'blend', strength: 0.6 });
  await tc.push(a, a);
  const step = await tc.push(b, b);
  assert.ok(step.reliable < 0.3, `blended ${step.reliable}`);
  assert.ok(psnr(step.frame, b) > 25);
});

test('bad options are user errors', () => {
  assert.throws(() => new TemporalConsistency({ strength: 1 }), /strength/);
  assert.throws(() => new TemporalConsistency({ flowScale: 0 }), /flow scale/);
});

test('push fresh: a subject that appears keeps its generated pixels exactly; without `fresh` the previous output fades it in', async () => {
  // A still textured shot; the generator paints a 40x30 square (39 % of the frame) magenta from frame 3 on (a subject that
  // appears). The previous output has no magenta there, so blending pulls the square towards the scene.
  const img = await loadRgb('graf1.png');
  const guide = slidingClip(img, 5, 64, 48, 0, 0);
  const square = (f: Frame): Frame => {
    const data = new Uint8Array(f.data);
    for (let y = 9; y < 39; y++) for (let x = 12; x < 52; x++) data.set([255, 0, 255], (y * 64 + x) * 3);
    return { ...f, data };
  };
  const gen = guide.map((f, t) => (t >= 3 ? square(f) : f));
  const fresh = { width: 64, height: 48, data: new Uint8Array(64 * 48) };
  for (let y = 9; y < 39; y++) for (let x = 12; x < 52; x++) fresh.data[y * 64 + x] = 255;
  const run = async (withFresh: boolean) => {
    const tc = new TemporalConsistency({});
    let last: Frame | undefined;
    for (let t = 0; t < 4; t++) last = (await tc.push(guide[t], gen[t], t === 3 && withFresh ? { fresh } : {})).frame;
    return last!;
  };
  const kept = await run(true);
  const faded = await run(false);
  let exact = 0, pulled = 0;
  for (let y = 9; y < 39; y++) {
    for (let x = 12; x < 52; x++) {
      const j = (y * 64 + x) * 3;
      if (kept.data[j] === 255 && kept.data[j + 1] === 0 && kept.data[j + 2] === 255) exact++;
      if (faded.data[j + 1] > 40) pulled++; // green pulled up from 0 towards the scene's
    }
  }
  assert.equal(exact, 40 * 30, 'every pixel of the new square is the generated magenta');
  assert.ok(pulled > 40 * 30 * 0.5, `without fresh the square is blended with the old scene (${pulled} of 1200 pixels)`);
});

test('temporalVideo: the flow computed ahead on a worker thread (threads 2) gives the same output bytes as one thread', async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { encodeFrames, decodeFrames } = await import('../src/video/index.js');
  const { temporalVideo } = await import('../src/temporal/index.js');
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-temporal-threads-'));
  try {
    const img = await loadRgb('graf1.png');
    const clean = slidingClip(img, 12, 160, 120, 2, 1);
    const flicker = clean.map((f, t) => addOffset(f, t % 2 ? -12 : 12));
    const guide = join(dir, 'guide.mp4'), gen = join(dir, 'gen.mp4');
    await encodeFrames(clean, guide, { fps: { num: 10, den: 1 }, crf: 0 });
    await encodeFrames(flicker, gen, { fps: { num: 10, den: 1 }, crf: 0 });
    const read = async (p: string) => { const out: Frame[] = []; for await (const f of decodeFrames(p)) out.push(f); return out; };
    const outs: Frame[][] = [];
    for (const threads of [1, 2]) {
      const p = join(dir, `out${threads}.mp4`);
      await temporalVideo(gen, guide, p, { threads });
      outs.push(await read(p));
    }
    const raw = await read(gen);
    assert.equal(outs[1].length, 12);
    for (let t = 0; t < 12; t++) assert.ok(Buffer.from(outs[0][t].data).equals(Buffer.from(outs[1][t].data)), `frame ${t} differs between 1 and 2 threads`);
    // and the filter did work: the alternating +-12 flicker is reduced on the later frames
    assert.ok(Math.abs(meanDiff(outs[1][10], outs[1][11])) < Math.abs(meanDiff(raw[10], raw[11])) / 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
