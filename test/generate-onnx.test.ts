import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { createGenerator, parseOnnxSidecar, type SegmentInput } from '../src/generate/index.js';
import type { Frame, GrayFrame } from '../src/video/types.js';

// onnx-proto is CommonJS: default import, then the namespace.
const { onnx } = onnxProto;
type Dim = number | string;
const FLOAT = 1;

function valueInfo(name: string, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}
const scalar = (name: string, v: number): onnxProto.onnx.ITensorProto => ({ name, dataType: FLOAT, dims: [1], floatData: [v] });

/** A graph of elementwise nodes, serialized with onnx-proto (opset 17). */
function buildModel(nodes: onnxProto.onnx.INodeProto[], inputs: onnxProto.onnx.IValueInfoProto[], outputs: onnxProto.onnx.IValueInfoProto[], inits: onnxProto.onnx.ITensorProto[]): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'reshoot-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'g', node: nodes, input: inputs, output: outputs, initializer: inits },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** out = 0.5 * frame + 0.25 * mask  (NCHW, any size). */
const mixModel = () =>
  buildModel(
    [
      { opType: 'Mul', input: ['frame', 'half'], output: ['a'] },
      { opType: 'Mul', input: ['mask', 'quarter'], output: ['b'] },
      { opType: 'Add', input: ['a', 'b'], output: ['out'] },
    ],
    [valueInfo('frame', [1, 3, 'H', 'W']), valueInfo('mask', [1, 1, 'H', 'W'])],
    [valueInfo('out', [1, 3, 'H', 'W'])],
    [scalar('half', 0.5), scalar('quarter', 0.25)],
  );

/** y = -x on a fixed 4x4 NHWC image. */
const negModel = () =>
  buildModel([{ opType: 'Neg', input: ['x'], output: ['y'] }], [valueInfo('x', [1, 4, 4, 3])], [valueInfo('y', [1, 4, 4, 3])], []);

const W = 8, H = 6;
const frame = (f: (i: number) => number): Frame => ({ width: W, height: H, data: Uint8Array.from({ length: W * H * 3 }, (_, i) => f(i)) });
const mask = (t: number): GrayFrame => ({ width: W, height: H, data: Uint8Array.from({ length: W * H }, (_, p) => (p + t) % 3 === 0 ? 200 : 0) });

function segment(dir: string, extra: Partial<SegmentInput> = {}): SegmentInput {
  const frames = [0, 1].map((t) => frame((i) => (i * 5 + t * 17) % 256));
  return { segmentIndex: 0, label: 'approach', frames, masks: [mask(0), mask(1)], plate: null, reference: frames[0], fps: { num: 25, den: 1 }, workDir: dir, ...extra };
}

function setup(): { dir: string; mix: string; neg: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-onnx-'));
  const mix = join(dir, 'mix.onnx');
  const neg = join(dir, 'neg.onnx');
  writeFileSync(mix, mixModel());
  writeFileSync(neg, negModel());
  writeFileSync(`${mix}.json`, JSON.stringify({
    schema: 'reshoot.onnx-generator/1',
    inputs: [{ name: 'frame', source: 'frame' }, { name: 'mask', source: 'mask', range: [0, 1] }],
    output: { name: 'out' },
  }));
  writeFileSync(`${neg}.json`, JSON.stringify({
    schema: 'reshoot.onnx-generator/1',
    inputs: [{ name: 'x', source: 'frame', layout: 'NHWC', range: [-1, 1] }],
    output: { name: 'y', layout: 'NHWC', range: [-1, 1] },
  }));
  return { dir, mix, neg };
}

test('onnx: a model built here runs per frame with the conditioning its sidecar declares (hand-computed output)', async () => {
  const { dir, mix } = setup();
  try {
    const gen = await createGenerator(`onnx:${mix}`, { onnx: { releaseBetweenSegments: true } });
    assert.equal(gen.kind, 'onnx');
    assert.equal(gen.isModel, false, 'sidecar did not declare a generative model');
    assert.match(gen.describe(), /on cpu/);
    const input = segment(dir);
    for (let round = 0; round < 2; round++) {
      // released after each segment; the second call reloads the session
      const out = await gen.generate(input);
      assert.equal(out.length, 2);
      out.forEach((f, t) => {
        for (let i = 0; i < f.data.length; i++) {
          // 255 * (0.5 * v/255 + 0.25 * m/255) = 0.5 v + 0.25 m, rounded
          const exact = 0.5 * input.frames[t].data[i] + 0.25 * input.masks![t].data[Math.floor(i / 3)];
          // float32 arithmetic may land an exact .5 tie on either side
          const ok = exact % 1 === 0.5 ? Math.abs(f.data[i] - exact) === 0.5 : f.data[i] === Math.round(exact);
          assert.ok(ok, `frame ${t} value ${i}: ${f.data[i]} vs ${exact}`);
        }
      });
    }
    await gen.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('onnx: NHWC layout, [-1, 1] range and a fixed model size (resized in and out)', async () => {
  const { dir, neg } = setup();
  try {
    const gen = await createGenerator(`onnx:${neg}`);
    assert.match(gen.describe(), /at 4x4/);
    // Uniform frames survive resizing exactly: x = v/255*2-1, y = -x, back: (y+1)/2*255 = 255 - v.
    const flat = frame(() => 40);
    const out = await gen.generate(segment(dir, { frames: [flat], masks: undefined, reference: flat }));
    assert.ok(out[0].data.every((v) => v === 215), `got ${out[0].data.slice(0, 6)}`);
    assert.equal(out[0].width, W);
    await gen.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('onnx: bad sidecars and mismatched models fail before any frame is processed', async () => {
  const { dir, mix, neg } = setup();
  const side = (name: string, obj: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj));
    return p;
  };
  const base = { schema: 'reshoot.onnx-generator/1', inputs: [{ name: 'frame', source: 'frame' }, { name: 'mask', source: 'mask' }], output: { name: 'out' } };
  try {
    await assert.rejects(createGenerator(`onnx:${join(dir, 'none.onnx')}`), /ONNX model .*none.onnx not found/);
    await assert.rejects(createGenerator(`onnx:${mix}`, { onnx: { sidecar: join(dir, 'missing.json') } }), /sidecar .*missing.json not found/);
    await assert.rejects(createGenerator(`onnx:${mix}`, { onnx: { sidecar: side('a.json', '{oops') } }), /not valid JSON/);
    await assert.rejects(
      createGenerator(`onnx:${mix}`, { onnx: { sidecar: side('b.json', { ...base, inputs: [{ name: 'frame', source: 'frame', layout: 'NCWH' }] }) } }),
      /bad ONNX sidecar .*inputs\.0\.layout/,
    );
    assert.throws(() => parseOnnxSidecar({ ...base, output: { name: 'out', range: [1, 0] } }), /output\.range: range must be \[low, high\]/);
    assert.throws(() => parseOnnxSidecar({ ...base, extra: 1 }), /bad ONNX sidecar/);
    await assert.rejects(
      createGenerator(`onnx:${mix}`, { onnx: { sidecar: side('c.json', { ...base, inputs: [...base.inputs, { name: 'pose', source: 'pose' }] }) } }),
      /has no input "pose" \(it has: frame, mask\)/,
    );
    await assert.rejects(
      createGenerator(`onnx:${mix}`, { onnx: { sidecar: side('d.json', { ...base, inputs: [base.inputs[0]] }) } }),
      /has input "mask" that the sidecar does not declare/,
    );
    await assert.rejects(
      createGenerator(`onnx:${mix}`, { onnx: { sidecar: side('e.json', { ...base, inputs: [{ name: 'frame', source: 'mask' }, { name: 'mask', source: 'mask' }] }) } }),
      /input "frame" has 3 channels .* needs 1/,
    );
    await assert.rejects(
      createGenerator(`onnx:${neg}`, { onnx: { sidecar: side('f.json', { schema: 'reshoot.onnx-generator/1', size: { width: 16, height: 16 }, inputs: [{ name: 'x', source: 'frame', layout: 'NHWC' }], output: { name: 'y', layout: 'NHWC' } }) } }),
      /input "x" is 4x4 .* the sidecar says 16x16/,
    );
    await assert.rejects(
      createGenerator(`onnx:${neg}`, { onnx: { sidecar: side('g.json', { schema: 'reshoot.onnx-generator/1', inputs: [{ name: 'x', source: 'frame' }], output: { name: 'y', layout: 'NHWC' } }) } }),
      /input "x" has 4 channels in NCHW/,
    );
    writeFileSync(join(dir, 'junk.onnx'), 'not a model');
    writeFileSync(join(dir, 'junk.onnx.json'), JSON.stringify(base));
    await assert.rejects(createGenerator(`onnx:${join(dir, 'junk.onnx')}`), /cannot be loaded/);
    // Conditioning the segment lacks: refused before any frame runs.
    const gen = await createGenerator(`onnx:${mix}`);
    let progressed = 0;
    await assert.rejects(gen.generate(segment(dir, { masks: undefined, onProgress: () => progressed++ })), /takes masks, but segment 0 has no masks/);
    assert.equal(progressed, 0);
    await gen.close();
    await assert.rejects(createGenerator(`onnx:${mix}`, { onnx: { provider: 'gpu' as never } }), /provider must be auto, cpu or cuda/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
