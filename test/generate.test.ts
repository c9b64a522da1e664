import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  createGenerator, parseGeneratorSpec, GeneratorCommandError, fillPlaceholders, shellQuote, renderPoseMap, POSE_MAP_COLORS,
  createSyntheticPerturbation, validateGeneratedFrames, type SegmentInput,
} from '../src/generate/index.js';
import { COCO17, COCO17_EDGES, type PoseFrame } from '../src/pose/types.js';
import { ReshootError } from '../src/util/errors.js';
import type { Frame, GrayFrame } from '../src/video/types.js';

const W = 8, H = 6;
const frame = (seed: number): Frame => {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + seed * 31) % 256;
  return { width: W, height: H, data };
};
const mask = (t: number): GrayFrame => {
  const data = new Uint8Array(W * H);
  for (let p = 0; p < W * H; p++) data[p] = p % W === t ? 255 : 0;
  return { width: W, height: H, data };
};
const plate: Frame = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(42) };

function pose(index: number, found = true): PoseFrame {
  return {
    index,
    found,
    keypoints: COCO17.map((_, k) => ({ x: 2 + (k % 4), y: 1 + (k % 3), score: 0.9, valid: found })),
    box: found ? { x: 2, y: 1, width: 3, height: 2 } : null,
    score: found ? 0.9 : 0,
  };
}

function segment(workDir: string, extra: Partial<SegmentInput> = {}): SegmentInput {
  return {
    segmentIndex: 1,
    label: 'hold',
    start: 10,
    frames: [frame(0), frame(1), frame(2)],
    masks: [mask(0), mask(1), mask(2)],
    poses: [pose(10), pose(11), pose(12, false)],
    plate,
    reference: frame(9),
    fps: { num: 30000, den: 1001 },
    workDir,
    ...extra,
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'reshoot-gen-'));
const fixture = `${shellQuote(process.execPath)} test/fixtures/generator.mjs`;

test('parseGeneratorSpec knows the four kinds and rejects others', () => {
  assert.deepEqual(parseGeneratorSpec('passthrough'), { kind: 'passthrough' });
  assert.deepEqual(parseGeneratorSpec('synthetic'), { kind: 'synthetic' });
  assert.deepEqual(parseGeneratorSpec('cmd:python gen.py {in} {out}'), { kind: 'cmd', command: 'python gen.py {in} {out}' });
  assert.deepEqual(parseGeneratorSpec('onnx:models/x.onnx'), { kind: 'onnx', model: 'models/x.onnx' });
  assert.throws(() => parseGeneratorSpec('diffusion'), /unknown generator "diffusion"/);
  assert.throws(() => parseGeneratorSpec('cmd:'), /needs a command/);
  assert.throws(() => parseGeneratorSpec('onnx:  '), /needs a model path/);
});

test('placeholders: only known names are replaced; paths are shell-quoted', () => {
  assert.equal(fillPlaceholders('gen {in} {out} {other} ${HOME}', { in: 'a', out: 'b' }), 'gen a b {other} ${HOME}');
  assert.equal(shellQuote('/tmp/x y/it\'s'), `'/tmp/x y/it'\\''s'`);
  assert.equal(shellQuote('/tmp/plain-path_1.png'), '/tmp/plain-path_1.png');
});

test('passthrough returns copies of the input frames; synthetic wraps the seeded perturbation with video frame indices', async () => {
  const dir = tmp();
  try {
    const input = segment(dir);
    const pass = await createGenerator('passthrough');
    assert.equal(pass.isModel, false);
    const out = await pass.generate(input);
    assert.deepEqual(out.map((f) => [...f.data]), input.frames.map((f) => [...f.data]));
    assert.notEqual(out[0].data, input.frames[0].data, 'a copy, not the same buffer');

    const syn = await createGenerator('synthetic', { synthetic: { seed: 5 } });
    assert.equal(syn.isModel, false);
    assert.match(syn.describe(), /not a model/);
    const got = await syn.generate(input);
    // Reference: H3's perturbation called directly, frame k of segment 1 is video frame start + k.
    const p = createSyntheticPerturbation({ seed: 5 });
    input.frames.forEach((f, k) => assert.deepEqual([...got[k].data], [...p.perturbFrame(f, 10 + k, 1).data]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validation: inputs with mismatched counts or sizes and outputs of the wrong count or size are refused', async () => {
  const dir = tmp();
  try {
    const pass = await createGenerator('passthrough');
    await assert.rejects(pass.generate(segment(dir, { masks: [mask(0)] })), /3 frames but 1 masks/);
    await assert.rejects(pass.generate(segment(dir, { reference: { width: 4, height: 4, data: new Uint8Array(48) } })), /reference is 4x4/);
    await assert.rejects(pass.generate(segment(dir, { frames: [] })), /no frames/);
    const input = segment(dir);
    assert.throws(() => validateGeneratedFrames([frame(0)], input, 'x'), /returned 1 frames, expected 3/);
    assert.throws(() => validateGeneratedFrames([frame(0), frame(1), { width: 4, height: 6, data: new Uint8Array(72) }], input, 'x'), /frame 2 is 4x6/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pose maps: valid skeleton edges drawn in their colour, nothing for a pose that was not found', async () => {
  const w = 64, h = 48;
  const kp = COCO17.map(() => ({ x: 0, y: 0, score: 0.1, valid: false }));
  // Only the shoulders (5, 6) are valid: the edge [5, 6] is drawn, nothing else.
  kp[5] = { x: 10, y: 20, score: 0.9, valid: true };
  kp[6] = { x: 50, y: 20, score: 0.9, valid: true };
  const p: PoseFrame = { index: 0, found: true, keypoints: kp, box: null, score: 0.5 };
  const map = await renderPoseMap(p, w, h);
  const edge = COCO17_EDGES.findIndex(([a, b]) => a === 5 && b === 6);
  const at = (x: number, y: number) => [...map.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
  assert.deepEqual(at(30, 20), [...POSE_MAP_COLORS[edge]], 'middle of the shoulder line');
  assert.deepEqual(at(30, 40), [0, 0, 0], 'background');
  assert.deepEqual(at(10, 20), [255, 255, 255], 'keypoint dot');
  const none = await renderPoseMap({ ...p, found: false }, w, h);
  assert.ok(none.data.every((v) => v === 0));
});

test('cmd: writes the documented folder, runs the command with placeholders and env, reads the frames back', async () => {
  const dir = join(tmp(), 'seg 1'); // a space in the path: placeholders must be quoted
  try {
    const input = segment(dir);
    const gen = await createGenerator(`cmd:${fixture} invert {in} {out}`);
    assert.equal(gen.kind, 'cmd');
    const out = await gen.generate(input);
    assert.equal(out.length, 3);
    out.forEach((f, k) => assert.deepEqual([...f.data], [...input.frames[k].data].map((v) => 255 - v)));
    // The layout of src/generate/README.md.
    for (const f of ['in/manifest.json', 'in/frames/000000.png', 'in/frames/000002.png', 'in/masks/000002.png', 'in/poses.json',
      'in/poses/000002.png', 'in/plate.png', 'in/reference.png', 'out/000002.png', 'stderr.log', 'stdout.log']) {
      assert.ok(existsSync(join(dir, f)), f);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'in', 'manifest.json'), 'utf8'));
    assert.equal(manifest.schema, 'reshoot.segment/1');
    assert.deepEqual(manifest.segment, { index: 1, label: 'hold', start: 10, count: 3 });
    assert.deepEqual([manifest.width, manifest.height], [W, H]);
    assert.deepEqual(manifest.fps, { num: 30000, den: 1001 });
    const poses = JSON.parse(readFileSync(join(dir, 'in', 'poses.json'), 'utf8'));
    assert.equal(poses.frames.length, 3);
    assert.equal(poses.frames[2].found, false);
    // Mask PNGs are one gray channel with the exact values.
    const maskPng = join(dir, 'in', 'masks', '000001.png');
    assert.equal((await sharp(maskPng).metadata()).channels, 1);
    assert.deepEqual([...(await sharp(maskPng).extractChannel(0).raw().toBuffer())], [...mask(1).data]);

    // env mode checks RESHOOT_* against the manifest (exit 4 on a mismatch), then copies.
    const envGen = await createGenerator(`cmd:${fixture} env "$RESHOOT_IN" "$RESHOOT_OUT"`);
    const copied = await envGen.generate(input);
    copied.forEach((f, k) => assert.deepEqual([...f.data], [...input.frames[k].data]));

    // masks and plate reach the command: plate colour exactly where the mask is on.
    const pm = await (await createGenerator(`cmd:${fixture} plate-where-masked {in} {out}`)).generate(input);
    pm.forEach((f, t) => {
      for (let p = 0; p < W * H; p++) {
        const want = p % W === t ? [42, 42, 42] : [...input.frames[t].data.subarray(p * 3, p * 3 + 3)];
        assert.deepEqual([...f.data.subarray(p * 3, p * 3 + 3)], want);
      }
    });
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('cmd: a failing command raises its exit code and stderr tail; wrong count, wrong size and timeouts are clear errors', async () => {
  const dir = tmp();
  try {
    const input = segment(dir);
    await assert.rejects((await createGenerator(`cmd:${fixture} fail {in} {out}`)).generate(input), (err: unknown) => {
      assert.ok(err instanceof GeneratorCommandError && err instanceof ReshootError);
      assert.equal(err.commandExitCode, 3);
      assert.match(err.message, /failed on segment 1 \(exit code 3\)/);
      assert.match(err.message, /CUDA out of memory/);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    });
    await assert.rejects((await createGenerator(`cmd:${fixture} wrong-count {in} {out}`)).generate(input), /wrote 2 frames .* expected 3/);
    await assert.rejects((await createGenerator(`cmd:${fixture} wrong-size {in} {out}`)).generate(input), /frame 0 is 6x6, expected 8x6/);
    const t0 = Date.now();
    await assert.rejects(
      (await createGenerator(`cmd:${fixture} sleep {in} {out}`, { cmd: { timeoutMs: 1500 } })).generate(input),
      /timed out after 1.5 s on segment 1/,
    );
    assert.ok(Date.now() - t0 < 20_000);
    await assert.rejects((await createGenerator('cmd:exit 0')).generate(input), /wrote 0 frames/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
