/**
 * style:<name|folder>: the ONNX graph built from the raw checkpoint variables
 * against an independent TensorFlow.js forward pass on real frames (3 styles x
 * 3 frames), a wrong variable order caught by the same check, bad weights
 * rejected in createGenerator, the working resolution and the subject scope.
 * Frames are 96x96 (the centre of a frame scaled to 96 px on its short side)
 * so the pure-JS reference stays cheap: tfjs-backend-cpu convolves at about
 * 0.25 GMAC/s and the network costs about 0.6 GMAC at 96x96 (2.3 s of CPU);
 * it runs 9 times in this file (3 styles x 3 frames), and the other checks
 * reuse those outputs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { createGenerator, parseGeneratorSpec, type SegmentInput } from '../src/generate/index.js';
import {
  buildStyleOnnx,
  maskUnionBox,
  prepareStyleModel,
  readStyleWeights,
  resolveStyleFolder,
  styleWorkingSize,
  STYLE_INPUT,
  STYLE_OUTPUT,
  type StyleGenerator,
  type StyleWeights,
} from '../src/generate/style/index.js';
import { ReshootError } from '../src/util/errors.js';
import { decodeFrames } from '../src/video/index.js';
import type { Frame, GrayFrame } from '../src/video/types.js';
import { mediaFile } from './helpers.js';
import { loadReferenceVariables, referenceStylize } from './style-reference.js';

// Resolved before RESHOOT_CACHE points at a temporary folder (mediaFile looks there first).
const VTEST = mediaFile('vtest.avi');
const MEGAMIND = mediaFile('Megamind.avi');
const BASKETBALL = mediaFile('basketball1.png');
const STYLES = ['matta', 'mathura', 'matilde_perez'];
/** 1 level of 255 on the 0..255 output (= 1/255 of the range). */
const ONE_LEVEL = 1;

const cache = mkdtempSync(join(tmpdir(), 'reshoot-style-cache-'));
const savedCache = process.env.RESHOOT_CACHE;
process.env.RESHOOT_CACHE = cache;
after(() => {
  if (savedCache === undefined) delete process.env.RESHOOT_CACHE;
  else process.env.RESHOOT_CACHE = savedCache;
  rmSync(cache, { recursive: true, force: true });
});

async function videoFrame(path: string, index: number, width: number, height: number): Promise<Frame> {
  for await (const f of decodeFrames(path, { start: index, count: 1, scale: { width, height } })) return f;
  throw new Error(`${path} gave no frame ${index}`);
}

/** The centre size x size of an image. */
async function centre(f: Frame, size: number): Promise<Frame> {
  const left = (f.width - size) >> 1, top = (f.height - size) >> 1;
  const data = await sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } }).extract({ left, top, width: size, height: size }).raw().toBuffer();
  return { width: size, height: size, data: new Uint8Array(data) };
}

async function imageFrame(path: string, width: number, height: number): Promise<Frame> {
  const data = await sharp(path).removeAlpha().toColourspace('srgb').resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return { width, height, data: new Uint8Array(data) };
}

/** Reference outputs, computed once per style and frame. */
const references = new Map<string, Float32Array>();
async function reference(style: string, k: number): Promise<Float32Array> {
  const key = `${style}/${k}`;
  if (!references.has(key)) {
    const vars = await loadReferenceVariables(resolveStyleFolder(style));
    try {
      const f = frames[k].frame;
      references.set(key, await referenceStylize(vars, f.data, f.width, f.height));
    } finally {
      for (const v of vars) v.dispose();
    }
  }
  return references.get(key)!;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

async function runOnnx(bytes: Uint8Array, f: Frame): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, executionProviders: ['cpu'] });
  try {
    const out = await s.run({ [STYLE_INPUT]: new ort.Tensor('float32', Float32Array.from(f.data), [1, f.height, f.width, 3]) });
    return Float32Array.from(out[STYLE_OUTPUT].data as Float32Array);
  } finally {
    await s.release();
  }
}

function segment(frames: Frame[], masks?: GrayFrame[]): SegmentInput {
  return { segmentIndex: 0, label: 'seg-0', start: 0, frames, masks, plate: null, reference: frames[0], fps: { num: 10, den: 1 }, workDir: cache };
}

// Three real frames: pedestrians (vtest frame 40), animation between two cuts (Megamind frame 120), a photo.
let frames: { label: string; frame: Frame }[] = [];
before(async () => {
  frames = [
    { label: 'vtest#40', frame: await centre(await videoFrame(VTEST, 40, 128, 96), 96) },
    { label: 'Megamind#120', frame: await centre(await videoFrame(MEGAMIND, 120, 132, 96), 96) },
    { label: 'basketball1', frame: await centre(await imageFrame(BASKETBALL, 128, 96), 96) },
  ];
});

describe('style: spec and working size', () => {
  test('parseGeneratorSpec knows style:<name|folder>', () => {
    assert.deepEqual(parseGeneratorSpec('style:matta'), { kind: 'style', style: 'matta' });
    assert.deepEqual(parseGeneratorSpec(' style: ./w/my_style '), { kind: 'style', style: './w/my_style' });
    assert.throws(() => parseGeneratorSpec('style:'), (e: Error) => e instanceof ReshootError && /style name or weights folder/.test(e.message));
  });

  test('short side = size, aspect kept, multiples of 4 (hand-computed)', () => {
    assert.deepEqual(styleWorkingSize(768, 576, 384), { width: 512, height: 384 });
    assert.deepEqual(styleWorkingSize(576, 768, 384), { width: 384, height: 512 });
    // 1280 * 384/720 = 682.7 -> 684 (nearest multiple of 4)
    assert.deepEqual(styleWorkingSize(1280, 720, 384), { width: 684, height: 384 });
    // 720 * 256/528 = 349.1 -> 348
    assert.deepEqual(styleWorkingSize(720, 528, 256), { width: 348, height: 256 });
    assert.deepEqual(styleWorkingSize(100, 50, 16), { width: 32, height: 16 });
  });

  test('bad options are one-line ReshootErrors', async () => {
    for (const style of [{ size: 382 }, { size: 8 }, { scope: 'person' as never }, { threads: 0 }]) {
      await assert.rejects(createGenerator('style:matta', { style }), (e: Error) => e instanceof ReshootError && !e.message.includes('\n'));
    }
  });

  test('an unknown style name lists where it looked', async () => {
    await assert.rejects(createGenerator('style:no_such_style'), (e: Error) => e instanceof ReshootError && /style "no_such_style" not found in /.test(e.message));
  });
});

describe('style: ONNX graph against the TensorFlow.js reference', () => {
  for (const style of STYLES) {
    test(`${style}: max |ONNX - reference| <= 1 level on 3 real frames`, async () => {
      const model = await prepareStyleModel(await readStyleWeights(resolveStyleFolder(style)));
      const lines: string[] = [];
      for (let k = 0; k < frames.length; k++) {
        const { label, frame } = frames[k];
        const ref = await reference(style, k);
        const d = maxAbsDiff(await runOnnx(model.bytes, frame), ref);
        lines.push(`${label} ${d.toExponential(2)}`);
        assert.ok(d <= ONE_LEVEL, `${style} on ${label}: max |diff| ${d} > ${ONE_LEVEL}`);
        // The output is a picture, not a constant: the check compares something.
        let min = 255, max = 0;
        for (const v of ref) (min = Math.min(min, v)), (max = Math.max(max, v));
        assert.ok(max - min > 100, `${style} on ${label}: reference output spans only ${min}..${max}`);
      }
      process.stderr.write(`# style ${style}: max |ONNX - tfjs| ${lines.join(', ')} (0..255 scale)\n`);
    });
  }

  test('a wrong variable order (each norm shift and scale swapped) fails the same check', async () => {
    const weights = await readStyleWeights(resolveStyleFolder('matta'));
    const swapped: StyleWeights = {
      ...weights,
      variables: weights.variables.map((v, i) => (i % 3 === 1 ? weights.variables[i + 1] : i % 3 === 2 ? weights.variables[i - 1] : v)),
    };
    const ref = await reference('matta', 0);
    const out = await runOnnx(buildStyleOnnx(swapped), frames[0].frame);
    const d = maxAbsDiff(out, ref);
    process.stderr.write(`# style matta, shift/scale swapped: max |diff| ${d.toFixed(1)}, mean ${meanAbsDiff(out, ref).toFixed(1)}\n`);
    assert.ok(d > ONE_LEVEL, `swapped variables still pass: max |diff| ${d}`);
  });
});

describe('style: bad weights fail in createGenerator, naming the file', () => {
  let root: string;
  let dir: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'reshoot-style-weights-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const fresh = (name: string): string => {
    dir = join(root, name);
    cpSync(resolveStyleFolder('matta'), dir, { recursive: true });
    return dir;
  };
  const oneLine = (pattern: RegExp) => (e: Error) => {
    assert.ok(e instanceof ReshootError, `not a ReshootError: ${e.stack}`);
    assert.ok(!e.message.includes('\n'), `more than one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  };

  test('a copied folder works (the control for the cases below)', async () => {
    const g = (await createGenerator(`style:${fresh('ok')}`, { style: { size: 16, threads: 1 } })) as StyleGenerator;
    assert.equal(g.weights.name, 'ok');
    await g.close();
  });

  test('missing file', async () => {
    const d = fresh('missing');
    unlinkSync(join(d, 'Variable_17'));
    await assert.rejects(createGenerator(`style:${d}`), oneLine(new RegExp(`${join(d, 'Variable_17')}: missing`)));
  });

  test('truncated file', async () => {
    const d = fresh('truncated');
    truncateSync(join(d, 'Variable_12'), 1000);
    await assert.rejects(createGenerator(`style:${d}`), oneLine(new RegExp(`${join(d, 'Variable_12')}: 1000 bytes, expected 589824`)));
  });

  test('manifest names no Variable_30', async () => {
    const d = fresh('novar');
    const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete m.Variable_30;
    writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(createGenerator(`style:${d}`), oneLine(new RegExp(`${join(d, 'manifest.json')}: no variable Variable_30`)));
  });

  test('shape mismatch in the manifest', async () => {
    const d = fresh('shape');
    const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as Record<string, { shape: number[] }>;
    m.Variable_39.shape = [3, 3, 128, 64]; // in/out of the transposed conv exchanged
    writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(createGenerator(`style:${d}`), oneLine(new RegExp(`${join(d, 'manifest.json')}: Variable_39 has shape \\[3,3,128,64\\], expected \\[3,3,64,128\\]`)));
  });

  test('a file that does not match SHA256SUMS', async () => {
    const d = fresh('corrupt');
    const good = readFileSync(join(resolveStyleFolder('matta'), 'Variable_5'));
    const { createHash } = await import('node:crypto');
    writeFileSync(join(root, 'SHA256SUMS'), `${createHash('sha256').update(good).digest('hex')}  ./corrupt/Variable_5\n`);
    const bad = Buffer.from(good);
    bad[7] ^= 0x40;
    writeFileSync(join(d, 'Variable_5'), bad);
    try {
      await assert.rejects(createGenerator(`style:${d}`), oneLine(new RegExp(`${join(d, 'Variable_5')}: sha256 .* does not match SHA256SUMS`)));
    } finally {
      rmSync(join(root, 'SHA256SUMS'));
    }
  });
});

describe('style: the generator', () => {
  test('cached by the weights sha256; a corrupted cache entry is rebuilt', async () => {
    const g1 = (await createGenerator('style:matta', { style: { size: 16, threads: 1 } })) as StyleGenerator;
    const g2 = (await createGenerator('style:matta', { style: { size: 16, threads: 1 } })) as StyleGenerator;
    assert.equal(g2.model.fromCache, true);
    assert.ok(g2.model.onnxPath.includes(g2.weights.sha256.slice(0, 12)));
    await Promise.all([g1.close(), g2.close()]);
    const bytes = readFileSync(g2.model.onnxPath);
    bytes[bytes.length >> 1] ^= 1;
    writeFileSync(g2.model.onnxPath, bytes);
    const g3 = (await createGenerator('style:matta', { style: { size: 16, threads: 1 } })) as StyleGenerator;
    assert.equal(g3.model.fromCache, false);
    assert.match(g3.model.rebuiltBecause ?? '', /checksum mismatch/);
    await g3.close();
  });

  test('frame scope at the frame size equals the reference network (rounded)', async () => {
    const frame = frames[0].frame; // 96x96: with size 96 the working size is the frame size, no resampling
    const g = (await createGenerator('style:matta', { style: { size: 96, threads: 2 } })) as StyleGenerator;
    try {
      assert.equal(g.isModel, true);
      assert.equal(g.kind, 'style');
      assert.deepEqual(g.workingSize(96, 96), { width: 96, height: 96 });
      const d = g.describe();
      for (const word of ['matta', '96 px', 'scope frame', 'cpu']) assert.ok(d.includes(word), `describe() lacks "${word}": ${d}`);
      const [out] = await g.generate(segment([frame]));
      assert.ok(maxAbsDiff(out.data, await reference('matta', 0)) <= 0.5 + ONE_LEVEL);
    } finally {
      await g.close();
    }
  });

  test('a 2x frame runs at the working size and comes back at the frame size', async () => {
    const big = await videoFrame(VTEST, 40, 344, 256);
    const g = (await createGenerator('style:matta', { style: { size: 128, threads: 2 } })) as StyleGenerator;
    try {
      const [out] = await g.generate(segment([big]));
      assert.equal(out.width, 344);
      assert.equal(out.height, 256);
      // Independent resampling (sharp) around the same network: close, though not equal (other filters).
      const small = await sharp(big.data, { raw: { width: 344, height: 256, channels: 3 } }).resize(172, 128, { kernel: 'cubic' }).raw().toBuffer();
      const net = await runOnnx(readFileSync(g.model.onnxPath), { width: 172, height: 128, data: new Uint8Array(small) });
      const up = await sharp(Buffer.from(Uint8Array.from(net, (v) => Math.round(v))), { raw: { width: 172, height: 128, channels: 3 } }).resize(344, 256, { kernel: 'linear' }).raw().toBuffer();
      const resized = meanAbsDiff(out.data, up);
      // Control: the network run at the full 344x256 (no working size) paints strokes at another scale.
      const full = await runOnnx(readFileSync(g.model.onnxPath), big);
      const unresized = meanAbsDiff(out.data, full);
      process.stderr.write(`# style size 128 on 344x256: mean |diff| vs sharp-resampled run ${resized.toFixed(1)}, vs full-size run ${unresized.toFixed(1)}\n`);
      assert.ok(resized < 12, `mean |diff| ${resized} against the resampled run`);
      assert.ok(unresized > 2 * resized, `the full-size run (${unresized}) is not clearly farther than the resampled one (${resized})`);
    } finally {
      await g.close();
    }
  });

  test('subject scope: only masked pixels change, through the mask; masks are required', async () => {
    const W = 172, H = 128;
    const fs = [await videoFrame(VTEST, 40, W, H), await videoFrame(VTEST, 41, W, H)];
    // A feathered box around one walker: alpha 255 inside, a 4-px ramp, 0 outside.
    const mask = (): GrayFrame => {
      const data = new Uint8Array(W * H);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const d = Math.min(x - 60, 100 - x, y - 30, 110 - y);
          data[y * W + x] = d >= 4 ? 255 : d >= 0 ? Math.round(((d + 1) / 5) * 255) : 0;
        }
      return { width: W, height: H, data };
    };
    const masks = [mask(), mask()];
    assert.deepEqual(maskUnionBox(masks), { x0: 60, y0: 30, x1: 101, y1: 111 });
    const g = (await createGenerator('style:matta', { style: { size: 128, scope: 'subject', threads: 2 } })) as StyleGenerator;
    try {
      assert.ok(g.describe().includes('scope subject'));
      await assert.rejects(g.generate(segment(fs)), (e: Error) => e instanceof ReshootError && /needs person masks/.test(e.message));
      const out = await g.generate(segment(fs, masks));
      for (let t = 0; t < 2; t++) {
        let outsideChanged = 0, insideDiff = 0, inside = 0;
        for (let p = 0; p < W * H; p++) {
          const a = masks[t].data[p];
          const d = Math.abs(out[t].data[3 * p] - fs[t].data[3 * p]) + Math.abs(out[t].data[3 * p + 1] - fs[t].data[3 * p + 1]) + Math.abs(out[t].data[3 * p + 2] - fs[t].data[3 * p + 2]);
          if (a === 0 && d !== 0) outsideChanged++;
          if (a === 255) (insideDiff += d / 3), inside++;
        }
        assert.equal(outsideChanged, 0, `frame ${t}: ${outsideChanged} pixels outside the mask changed`);
        assert.ok(insideDiff / inside > 20, `frame ${t}: the masked person is barely restyled (mean |diff| ${insideDiff / inside})`);
      }
      // No person in the segment: the frames come back unchanged.
      const empty = [0, 1].map(() => ({ width: W, height: H, data: new Uint8Array(W * H) }));
      const same = await g.generate(segment(fs, empty));
      assert.deepEqual(same[1].data, fs[1].data);
    } finally {
      await g.close();
    }
  });
});
