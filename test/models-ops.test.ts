/**
 * Op-level converter check on small synthetic TensorFlow.js graphs: each op is
 * run by TensorFlow.js (tfjs-backend-cpu, the reference) and by onnxruntime on
 * the converted ONNX, on seeded random inputs. The cases pick the parameters
 * where a conversion goes wrong most easily and which the six real models do
 * not all exercise: SAME padding with stride 2 on ODD sizes (asymmetric pads),
 * even kernels, dilation, explicit padding, depthwise channel multiplier 2,
 * transposed convolution with non-zero SAME padding, SAME pooling (average over
 * valid pixels only), bilinear resize in all three coordinate modes (up and
 * down), floor division of negative integers, negative axes.
 * Tolerance: max |diff| <= 1e-4 (float32 on tiny graphs; measured <= 2e-6).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { convertTfGraph, parseTfGraph, type TfNode } from '../src/models/index.js';
import { mulberry32 } from '../src/util/rng.js';

type Attr = NonNullable<TfNode['attr']>[string];
const s = (v: string): Attr => ({ s: Buffer.from(v).toString('base64') });
const i = (v: number): Attr => ({ i: String(v) });
const b = (v: boolean): Attr => ({ b: v });
const ints = (v: number[]): Attr => ({ list: { i: v.map(String) } });
const strs = (v: string[]): Attr => ({ list: { s: v.map((x) => Buffer.from(x).toString('base64')) } });
const dtype = (t: 'DT_FLOAT' | 'DT_INT32'): Attr => ({ type: t });

/** A tiny TFJS graph model: one float or int input, constants in one float32/int32 shard. */
class GraphBuilder {
  nodes: TfNode[] = [];
  specs: { name: string; shape: number[]; dtype: string }[] = [];
  chunks: Buffer[] = [];
  constructor(readonly inputShape: number[], readonly inputType: 'DT_FLOAT' | 'DT_INT32' = 'DT_FLOAT') {
    this.nodes.push({ name: 'x', op: 'Placeholder', attr: { dtype: dtype(inputType), shape: { shape: { dim: inputShape.map((d) => ({ size: String(d) })) } } } });
  }
  constant(name: string, data: number[], shape: number[], type: 'float32' | 'int32' = 'float32'): string {
    this.nodes.push({ name, op: 'Const', attr: { dtype: dtype(type === 'float32' ? 'DT_FLOAT' : 'DT_INT32'), value: { tensor: { dtype: type === 'float32' ? 'DT_FLOAT' : 'DT_INT32' } } } });
    this.specs.push({ name, shape, dtype: type });
    this.chunks.push(Buffer.from(type === 'float32' ? Float32Array.from(data).buffer : Int32Array.from(data).buffer));
    return name;
  }
  op(name: string, op: string, input: string[], attr: Record<string, Attr> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: dtype('DT_FLOAT'), ...attr } });
    return name;
  }
  build(): { jsonText: string; weights: Buffer; json: object } {
    const json = {
      format: 'graph-model',
      modelTopology: { node: this.nodes, library: {}, versions: {} },
      weightsManifest: [{ paths: ['w.bin'], weights: this.specs }],
    };
    return { jsonText: JSON.stringify(json), weights: Buffer.concat(this.chunks), json };
  }
}

const rng = mulberry32(1234);
const rand = (n: number, lo = -1, hi = 1): number[] => Array.from({ length: n }, () => lo + (hi - lo) * rng());
const size = (shape: number[]): number => shape.reduce((a, c) => a * c, 1);

/** Runs TFJS and ONNX on the same input; returns the max |diff| of every output (and asserts shapes match). */
async function check(g: GraphBuilder, outputs: string[], inputData?: number[]): Promise<number> {
  await tf.setBackend('cpu');
  const { jsonText, weights, json } = g.build();
  const data = inputData ?? (g.inputType === 'DT_INT32' ? rand(size(g.inputShape), -20, 20).map(Math.round) : rand(size(g.inputShape)));
  const j = json as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const model = await loadGraphModel(
    tf.io.fromMemory({ modelTopology: j.modelTopology, weightSpecs: j.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer, format: 'graph-model' }),
  );
  const x = tf.tensor(data, g.inputShape, g.inputType === 'DT_INT32' ? 'int32' : 'float32');
  const ref = model.execute(x, outputs) as tf.Tensor | tf.Tensor[];
  const refs = Array.isArray(ref) ? ref : [ref];
  const onnxBytes = convertTfGraph(parseTfGraph(jsonText, weights)).bytes;
  const session = await ort.InferenceSession.create(onnxBytes, { intraOpNumThreads: 1 });
  const feed = g.inputType === 'DT_INT32' ? new ort.Tensor('int32', Int32Array.from(data), g.inputShape) : new ort.Tensor('float32', Float32Array.from(data), g.inputShape);
  const out = await session.run({ x: feed });
  // Sink-node outputs, in the graph's node order (= `outputs` order in every case below).
  assert.equal(session.outputNames.length, refs.length, 'output count');
  let worst = 0;
  for (const [k, name] of session.outputNames.entries()) {
    const o = out[name];
    assert.deepEqual([...o.dims], refs[k].shape, `${outputs[k]} shape`);
    const a = Array.from(o.data as ArrayLike<number | bigint>, Number);
    const r = Array.from(refs[k].dataSync());
    for (let t = 0; t < a.length; t++) worst = Math.max(worst, Math.abs(a[t] - r[t]));
  }
  if (process.env.RESHOOT_TEST_VERBOSE) process.stderr.write(`# ${outputs.join(', ')}: max diff ${worst.toExponential(2)}\n`);
  tf.dispose([x, ...refs]);
  model.dispose();
  await session.release();
  return worst;
}

const TOL = 1e-4;
const conv = (g: GraphBuilder, name: string, k: [number, number, number, number], attrs: Record<string, Attr>, op = 'Conv2D', extra: string[] = []): string => {
  const w = g.constant(`${name}/w`, rand(size(k)), k);
  return g.op(name, op, ['x', w, ...extra], { data_format: s('NHWC'), dilations: ints([1, 1, 1, 1]), ...attrs });
};

test('Conv2D: SAME stride 2 on odd and even sizes, even kernel, dilation 2, EXPLICIT and VALID padding', async () => {
  const cases: [number[], [number, number, number, number], Record<string, Attr>][] = [
    [[1, 7, 9, 3], [3, 3, 3, 4], { strides: ints([1, 2, 2, 1]), padding: s('SAME') }],
    [[1, 8, 8, 3], [4, 4, 3, 2], { strides: ints([1, 2, 2, 1]), padding: s('SAME') }],
    [[1, 9, 7, 2], [3, 3, 2, 3], { strides: ints([1, 1, 1, 1]), padding: s('SAME'), dilations: ints([1, 2, 2, 1]) }],
    [[1, 6, 6, 2], [3, 3, 2, 2], { strides: ints([1, 1, 1, 1]), padding: s('EXPLICIT'), explicit_paddings: ints([0, 0, 2, 1, 0, 3, 0, 0]) }],
    [[1, 9, 9, 3], [3, 3, 3, 2], { strides: ints([1, 2, 2, 1]), padding: s('VALID') }],
  ];
  for (const [shape, k, attrs] of cases) {
    const g = new GraphBuilder(shape);
    conv(g, 'y', k, attrs);
    const d = await check(g, ['y']);
    assert.ok(d <= TOL, `Conv2D ${JSON.stringify({ shape, k })}: max diff ${d}`);
  }
});

test('_FusedConv2D with BiasAdd+Relu6 / BiasAdd+Relu and depthwise convolutions (multiplier 2, stride 2 SAME on odd size)', async () => {
  for (const act of ['Relu6', 'Relu']) {
    const g = new GraphBuilder([1, 7, 7, 3]);
    const bias = g.constant('bias', rand(4, -2, 2), [4]);
    const w = g.constant('w', rand(3 * 3 * 3 * 4, -3, 3), [3, 3, 3, 4]);
    g.op('y', '_FusedConv2D', ['x', w, bias], {
      data_format: s('NHWC'), strides: ints([1, 2, 2, 1]), padding: s('SAME'), dilations: ints([1, 1, 1, 1]), fused_ops: strs(['BiasAdd', act]), num_args: i(1), epsilon: { f: 0 },
    });
    const d = await check(g, ['y'], rand(7 * 7 * 3, -3, 3));
    assert.ok(d <= TOL, `_FusedConv2D ${act}: ${d}`);
  }
  const g = new GraphBuilder([1, 7, 9, 3]);
  conv(g, 'dw', [3, 3, 3, 2], { strides: ints([1, 2, 2, 1]), padding: s('SAME') }, 'DepthwiseConv2dNative');
  assert.ok((await check(g, ['dw'])) <= TOL, 'DepthwiseConv2dNative multiplier 2');
  const g2 = new GraphBuilder([1, 8, 6, 4]);
  const bias = g2.constant('bias', rand(4, -1, 1), [4]);
  const w = g2.constant('w', rand(3 * 3 * 4, -2, 2), [3, 3, 4, 1]);
  g2.op('fdw', 'FusedDepthwiseConv2dNative', ['x', w, bias], {
    data_format: s('NHWC'), strides: ints([1, 1, 1, 1]), padding: s('SAME'), dilations: ints([1, 1, 1, 1]), fused_ops: strs(['BiasAdd', 'Relu6']), num_args: i(1),
  });
  assert.ok((await check(g2, ['fdw'], rand(8 * 6 * 4, -4, 4))) <= TOL, 'FusedDepthwiseConv2dNative');
});

test('Conv2DBackpropInput (transposed conv): SAME with non-zero padding on odd output, and VALID', async () => {
  const cases: [number[], number[], [number, number, number, number], string][] = [
    // x [1,4,4,3] -> out [1,7,7,2], kernel 3, stride 2: SAME pads 1 px in total per axis.
    [[1, 4, 4, 3], [1, 7, 7, 2], [3, 3, 2, 3], 'SAME'],
    [[1, 4, 4, 3], [1, 8, 8, 2], [3, 3, 2, 3], 'SAME'],
    [[1, 3, 3, 2], [1, 7, 7, 1], [3, 3, 1, 2], 'VALID'],
  ];
  for (const [xs, os, k, pad] of cases) {
    const g = new GraphBuilder(xs);
    const sizes = g.constant('sizes', os, [4], 'int32');
    const w = g.constant('w', rand(size(k)), k);
    g.op('y', 'Conv2DBackpropInput', [sizes, w, 'x'], { data_format: s('NHWC'), strides: ints([1, 2, 2, 1]), padding: s(pad), dilations: ints([1, 1, 1, 1]) });
    const d = await check(g, ['y']);
    assert.ok(d <= TOL, `Conv2DBackpropInput ${JSON.stringify({ xs, os, pad })}: ${d}`);
  }
});

test('MaxPool and AvgPool: SAME stride 2 on odd sizes (average over valid pixels only), VALID', async () => {
  for (const op of ['MaxPool', 'AvgPool']) {
    for (const pad of ['SAME', 'VALID']) {
      const g = new GraphBuilder([1, 7, 9, 2]);
      g.op('y', op, ['x'], { data_format: s('NHWC'), ksize: ints([1, 3, 3, 1]), strides: ints([1, 2, 2, 1]), padding: s(pad) });
      const d = await check(g, ['y']);
      assert.ok(d <= TOL, `${op} ${pad}: ${d}`);
    }
  }
});

test('ResizeBilinear: half-pixel centres, align corners and asymmetric, up- and downsampling', async () => {
  for (const [hpc, ac] of [[true, false], [false, true], [false, false]] as const) {
    for (const [from, to] of [[[5, 6], [8, 11]], [[8, 11], [5, 6]]] as const) {
      const g = new GraphBuilder([1, from[0], from[1], 3]);
      const sz = g.constant('size', [...to], [2], 'int32');
      g.op('y', 'ResizeBilinear', ['x', sz], { half_pixel_centers: b(hpc), align_corners: b(ac) });
      const d = await check(g, ['y']);
      assert.ok(d <= TOL, `ResizeBilinear hpc=${hpc} ac=${ac} ${from}->${to}: ${d}`);
    }
  }
});

test('elementwise and shape ops: Pad, AddN, SquaredDifference, RealDiv, Sqrt, Sigmoid, Relu, Relu6, Reshape, Pack/Unpack/ConcatV2 with negative axes, ExpandDims, Squeeze', async () => {
  const g = new GraphBuilder([1, 3, 4, 2]);
  const paddings = g.constant('paddings', [0, 0, 1, 2, 0, 3, 0, 0], [4, 2], 'int32');
  g.op('pad', 'Pad', ['x', paddings]);
  const c = g.constant('c', rand(2, 0.5, 2), [2]);
  g.op('relu', 'Relu', ['x']);
  g.op('addn', 'AddN', ['x', 'x', 'relu'], { N: i(3) });
  g.op('sqd', 'SquaredDifference', ['x', c]);
  g.op('div', 'RealDiv', ['x', c]);
  g.op('sq', 'Sqrt', ['sqd']);
  g.op('sig', 'Sigmoid', ['x']);
  const big = g.constant('big', [8], [], 'float32');
  g.op('scaled', 'Mul', ['x', big]);
  g.op('relu6', 'Relu6', ['scaled']);
  const shape = g.constant('shape', [-1, 4], [2], 'int32');
  g.op('reshape', 'Reshape', ['x', shape], { Tshape: dtype('DT_INT32') });
  g.op('unpack', 'Unpack', ['x'], { axis: i(-1), num: i(2) });
  g.op('pack', 'Pack', ['unpack', 'unpack:1', 'unpack'], { axis: i(1), N: i(3) });
  const axis = g.constant('axis', [-1], [], 'int32');
  g.op('concat', 'ConcatV2', ['unpack:1', 'unpack', axis], { N: i(2), Tidx: dtype('DT_INT32') });
  const dim = g.constant('dim', [-1], [], 'int32');
  g.op('expand', 'ExpandDims', ['concat', dim], { Tdim: dtype('DT_INT32') });
  g.op('squeeze', 'Squeeze', ['expand'], { squeeze_dims: ints([0]) });
  const outs = ['pad', 'addn', 'div', 'sq', 'sig', 'relu6', 'reshape', 'pack', 'squeeze'];
  const d = await check(g, outs, rand(24, -2, 2));
  assert.ok(d <= TOL, `elementwise/shape ops: ${d}`);
});

test('integer ops: Cast, FloorDiv of negative numbers (floors, unlike ONNX Div), ArgMax, GatherNd', async () => {
  const g = new GraphBuilder([2, 6], 'DT_INT32');
  const seven = g.constant('seven', [7], [], 'int32');
  g.nodes.push({ name: 'fdiv', op: 'FloorDiv', input: ['x', seven], attr: { T: dtype('DT_INT32') } });
  g.nodes.push({ name: 'xf', op: 'Cast', input: ['x'], attr: { SrcT: dtype('DT_INT32'), DstT: dtype('DT_FLOAT'), Truncate: b(false) } });
  const sevenf = g.constant('sevenf', [7], [], 'float32');
  g.op('fdivf', 'FloorDiv', ['xf', sevenf]);
  const ax = g.constant('ax', [1], [], 'int32');
  g.nodes.push({ name: 'amax', op: 'ArgMax', input: ['xf', ax], attr: { T: dtype('DT_FLOAT'), Tidx: dtype('DT_INT32'), output_type: dtype('DT_INT32') } });
  const idx = g.constant('idx', [1, 5, 0, 2, 1, 0], [3, 2], 'int32');
  g.nodes.push({ name: 'gnd', op: 'GatherNd', input: ['xf', idx], attr: { Tparams: dtype('DT_FLOAT'), Tindices: dtype('DT_INT32') } });
  // Values chosen so truncation and floor differ: -20 // 7 = -3 (truncation gives -2).
  const data = [-20, -14, -13, -1, 0, 6, 13, 14, 20, -7, -8, 9];
  const d = await check(g, ['fdiv', 'fdivf', 'amax', 'gnd'], data);
  assert.equal(d, 0, `integer ops must match exactly: ${d}`);
});
