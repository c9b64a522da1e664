/**
 * TensorFlow.js graph model -> ONNX (opset 17), written with onnx-proto.
 *
 * Why this shape: the graph stays NHWC (as in TensorFlow), and only the ops
 * that ONNX defines on NCHW (Conv, ConvTranspose, pools, Resize) are wrapped
 * in Transpose pairs; onnxruntime's transpose optimizer cancels the pairs
 * between neighbouring convolutions, so the wrapping costs next to nothing.
 * Weights are folded into ONNX layout (HWIO -> OIHW) at conversion time.
 * Every op the models use is listed in SUPPORTED_OPS; anything else fails with
 * a clear error naming the op and node (no silent approximations).
 */
import onnxProto from 'onnx-proto';
import { ReshootError } from '../util/errors.js';
import type { TfConst, TfGraph, TfNode } from './tfjs-graph.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IAttr = onnxProto.onnx.IAttributeProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;

/** Bump when the converter's output changes: it is part of the cache key. */
export const CONVERTER_VERSION = 3;
export const OPSET = 17;

/** TensorFlow ops the converter handles (Const and Placeholder included). */
export const SUPPORTED_OPS: readonly string[] = [
  'Const', 'Placeholder', 'Identity', 'Cast', 'Unpack', 'ExpandDims', 'Squeeze', 'Reshape', 'Pack', 'ConcatV2', 'Pad',
  'Add', 'AddV2', 'AddN', 'Sub', 'Mul', 'RealDiv', 'FloorDiv', 'SquaredDifference', 'Sqrt', 'Sigmoid', 'Relu', 'Relu6',
  'Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', 'Conv2DBackpropInput',
  'MaxPool', 'AvgPool', 'ResizeBilinear', 'ArgMax', 'GatherNd',
  // nanodet (a COCO detector converted to TF by onnx-tf: NCHW with explicit Transposes).
  'Transpose', 'LeakyRelu', 'PadV2', 'SplitV', 'SparseToDense',
];

const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

function tfDtypeToOnnx(t: string | undefined): number {
  switch (t) {
    case 'DT_FLOAT': return DT.FLOAT;
    case 'DT_INT32': return DT.INT32;
    case 'DT_INT64': return DT.INT64;
    case 'DT_BOOL': return DT.BOOL;
    case 'DT_DOUBLE': return DT.DOUBLE;
    default: throw new ReshootError(`unsupported TensorFlow dtype ${t ?? '(none)'}`);
  }
}

function attrInts(name: string, v: number[]): IAttr { return { name, type: AT.INTS, ints: v }; }
function attrInt(name: string, v: number): IAttr { return { name, type: AT.INT, i: v }; }
function attrFloat(name: string, v: number): IAttr { return { name, type: AT.FLOAT, f: v }; }
function attrStr(name: string, v: string): IAttr { return { name, type: AT.STRING, s: new TextEncoder().encode(v) }; }

function b64(s: string | undefined): string {
  return s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8');
}

export interface ConvertOptions {
  /** Used in error messages. */
  modelName?: string;
  /** ONNX names for the outputs, in the order of the model's signature outputs (default: the signature keys). */
  outputNames?: string[];
  /** ONNX name of the input (default: the placeholder's name). */
  inputName?: string;
  /** Written into the model's metadata. */
  metadata?: Record<string, string>;
}

export interface ConvertResult {
  bytes: Uint8Array;
  inputNames: string[];
  outputNames: string[];
  /** TensorFlow op types of the nodes that were converted (the reachable subgraph). */
  opTypes: string[];
}

/** Distinct op types of a TFJS graph. */
export function graphOpTypes(nodes: TfNode[]): string[] {
  return [...new Set(nodes.map((n) => n.op))].sort();
}

/** Fails with one clear error listing every op the converter does not handle. */
export function assertSupported(nodes: TfNode[], modelName = 'model'): void {
  const unsupported = new Map<string, string>();
  for (const n of nodes) if (!SUPPORTED_OPS.includes(n.op) && !unsupported.has(n.op)) unsupported.set(n.op, n.name);
  if (unsupported.size > 0) {
    const list = [...unsupported].map(([op, node]) => `${op} (node ${node})`).join(', ');
    throw new ReshootError(`cannot convert ${modelName}: unsupported TensorFlow op${unsupported.size > 1 ? 's' : ''} ${list}`);
  }
}

/** Splits a TF input reference "node:1" / "node" / "^node" into node name and output index. */
function parseRef(ref: string): { node: string; index: number; control: boolean } {
  const control = ref.startsWith('^');
  const r = control ? ref.slice(1) : ref;
  const m = /^(.*):(\d+)$/.exec(r);
  return m ? { node: m[1], index: Number(m[2]), control } : { node: r, index: 0, control };
}

/**
 * ONNX name of a TF node's output. Name spaces never collide: "tf/" for node
 * outputs (and "tf/...__N" for helper values), "c/" for constants, and the
 * manifest's names for the graph input and outputs.
 */
function tensorName(node: string, index: number): string {
  return index === 0 ? `tf/${node}` : `tf/${node}:${index}`;
}

/** The TF dtype a node outputs, from its attributes (for graph outputs when the model has no signature). */
function outputDtype(n: TfNode): string {
  const a = n.attr ?? {};
  return a.output_type?.type ?? a.DstT?.type ?? a.T?.type ?? a.Tparams?.type ?? a.dtype?.type ?? 'DT_FLOAT';
}

/** Converts a parsed TFJS graph model to ONNX bytes. */
export function convertTfGraph(graph: TfGraph, opts: ConvertOptions = {}): ConvertResult {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const sig = graph.json.signature;
  const placeholders = graph.nodes.filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1) throw new ReshootError(`expected one input placeholder, found ${placeholders.length}`);
  const placeholder = placeholders[0];

  // Outputs in the order of the signature (what TensorFlow.js's model.outputs lists), else the sink nodes.
  let outputRefs: string[];
  let outputKeys: string[];
  if (sig?.outputs && Object.keys(sig.outputs).length > 0) {
    outputKeys = Object.keys(sig.outputs);
    outputRefs = outputKeys.map((k) => sig.outputs![k].name);
  } else {
    const consumed = new Set(graph.nodes.flatMap((n) => (n.input ?? []).map((r) => parseRef(r).node)));
    outputRefs = graph.nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const').map((n) => n.name);
    outputKeys = outputRefs;
  }
  const outputNames = opts.outputNames ?? outputKeys.map((k) => k.replace(/:0$/, ''));
  if (outputNames.length !== outputRefs.length) {
    throw new ReshootError(`the manifest names ${outputNames.length} outputs but the model has ${outputRefs.length} (${outputKeys.join(', ')})`);
  }

  // The subgraph the outputs need.
  const needed = new Set<string>();
  const stack = outputRefs.map((r) => parseRef(r).node);
  while (stack.length) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    const n = byName.get(name);
    if (!n) throw new ReshootError(`graph references a missing node ${name}`);
    needed.add(name);
    for (const r of n.input ?? []) {
      const p = parseRef(r);
      if (!p.control) stack.push(p.node);
    }
  }
  const order = graph.nodes.filter((n) => needed.has(n.name));
  assertSupported(order, opts.modelName);

  const nodes: INode[] = [];
  const initializers: ITensor[] = [];
  const initNames = new Set<string>();
  let uid = 0;
  const fresh = (base: string): string => `${base}__${uid++}`;
  const emitted = new Set<string>();

  const constOf = (ref: string): TfConst | undefined => {
    const p = parseRef(ref);
    const n = byName.get(p.node);
    if (!n) return undefined;
    if (n.op === 'Const') {
      const c = graph.consts.get(n.name);
      if (!c) throw new ReshootError(`constant ${n.name} has no weights in the shards`);
      return c;
    }
    if (n.op === 'Identity' && n.input?.length) return constOf(n.input[0]);
    return folded(n);
  };
  /**
   * Integer shape arithmetic on constants, evaluated here (onnx-tf writes Reshape shapes as
   * SparseToDense(...) + const): SparseToDense and Add/AddV2 of integer constants.
   */
  const foldCache = new Map<string, TfConst | undefined>();
  const folded = (n: TfNode): TfConst | undefined => {
    if (foldCache.has(n.name)) return foldCache.get(n.name);
    let c: TfConst | undefined;
    const ins = (n.input ?? []).filter((r) => !r.startsWith('^'));
    if (n.op === 'SparseToDense') {
      const [idx, shape, values, dflt] = ins.map((r) => constOf(r));
      if (idx && shape && values && dflt && shape.data.length === 1) {
        const data = new Int32Array(Math.round(shape.data[0])).fill(Math.round(dflt.data[0] ?? 0));
        for (let k = 0; k < idx.data.length; k++) data[Math.round(idx.data[k])] = Math.round(values.data.length === 1 ? values.data[0] : values.data[k]);
        c = { name: `${n.name}/folded`, dtype: 'int32', shape: [data.length], data };
      }
    } else if ((n.op === 'Add' || n.op === 'AddV2') && ins.length === 2) {
      const [x, y] = ins.map((r) => constOf(r));
      if (x && y && x.dtype === 'int32' && y.dtype === 'int32' && (x.data.length === y.data.length || x.data.length === 1 || y.data.length === 1)) {
        const len = Math.max(x.data.length, y.data.length);
        const data = Int32Array.from({ length: len }, (_, k) => x.data[x.data.length === 1 ? 0 : k] + y.data[y.data.length === 1 ? 0 : k]);
        c = { name: `${n.name}/folded`, dtype: 'int32', shape: x.data.length >= y.data.length ? x.shape : y.shape, data };
      }
    }
    foldCache.set(n.name, c);
    return c;
  };
  const constInts = (ref: string, what: string, node: TfNode): number[] => {
    const c = constOf(ref);
    if (!c) throw new ReshootError(`cannot convert ${node.op} node ${node.name}: its ${what} must be a constant`);
    return Array.from(c.data, (v) => Math.round(v));
  };

  const addInit = (name: string, dtype: number, dims: number[], data: Float32Array | Int32Array | BigInt64Array | Float64Array): string => {
    if (initNames.has(name)) return name;
    initNames.add(name);
    // A view, not a copy: nothing mutates the arrays after this (ONNX raw data is little-endian, as the host).
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    initializers.push({ name, dataType: dtype, dims, rawData: raw });
    return name;
  };
  const int64Init = (base: string, values: number[]): string =>
    addInit(fresh(base), DT.INT64, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  const floatScalar = (value: number): string => addInit(`c/f32_${value}`, DT.FLOAT, [], Float32Array.of(value));

  /** The ONNX value for a TF input reference; constants become initializers on first use. */
  const valueOf = (ref: string): string => {
    const p = parseRef(ref);
    const n = byName.get(p.node)!;
    if (n.op === 'Const' || (n.op !== 'Identity' && folded(n))) {
      const c = constOf(ref)!;
      return addInit(`c/${c.name}`, c.dtype === 'float32' ? DT.FLOAT : DT.INT32, c.shape, c.data);
    }
    return tensorName(p.node, p.index);
  };

  const node = (opType: string, inputs: string[], outputs: string[], attribute: IAttr[] = [], name?: string): void => {
    nodes.push({ opType, input: inputs, output: outputs, attribute, name: name ?? fresh(opType) });
  };
  const toNchw = (x: string): string => {
    const y = fresh(`${x}/nchw`);
    node('Transpose', [x], [y], [attrInts('perm', [0, 3, 1, 2])]);
    return y;
  };
  const toNhwc = (x: string, out: string): void => node('Transpose', [x], [out], [attrInts('perm', [0, 2, 3, 1])]);

  const attrList = (n: TfNode, key: string): number[] | undefined => n.attr?.[key]?.list?.i?.map(Number);
  const checkNhwc = (n: TfNode): void => {
    const df = b64(n.attr?.data_format?.s);
    if (df && df !== 'NHWC') throw new ReshootError(`cannot convert ${n.op} node ${n.name}: data_format ${df} (only NHWC)`);
  };
  /**
   * Padding attributes for a 2-D window op on NCHW. TF SAME == ONNX SAME_UPPER
   * (the odd pixel at the end); with stride 1 the pads do not depend on the
   * input size, so they are written out (onnxruntime rejects SAME_UPPER with
   * dilation, and TF allows dilation only with stride 1).
   */
  const padAttrs = (n: TfNode, kernel?: [number, number]): IAttr[] => {
    const padding = b64(n.attr?.padding?.s);
    if (padding === 'SAME') {
      const st = spatial(attrList(n, 'strides'), n, 'strides');
      const dl = spatial(attrList(n, 'dilations'), n, 'dilations');
      if (kernel && st[0] === 1 && st[1] === 1) {
        const total = kernel.map((k, a) => (k - 1) * dl[a]);
        return [attrInts('pads', [Math.floor(total[0] / 2), Math.floor(total[1] / 2), total[0] - Math.floor(total[0] / 2), total[1] - Math.floor(total[1] / 2)])];
      }
      if (dl[0] !== 1 || dl[1] !== 1) throw new ReshootError(`cannot convert ${n.op} node ${n.name}: SAME padding with both stride and dilation > 1`);
      return [attrStr('auto_pad', 'SAME_UPPER')];
    }
    if (padding === 'VALID') return [attrInts('pads', [0, 0, 0, 0])];
    if (padding === 'EXPLICIT') {
      const e = attrList(n, 'explicit_paddings') ?? [];
      if (e.length !== 8) throw new ReshootError(`cannot convert ${n.op} node ${n.name}: explicit_paddings must have 8 values`);
      if (e[0] || e[1] || e[6] || e[7]) throw new ReshootError(`cannot convert ${n.op} node ${n.name}: padding on batch or channels`);
      return [attrInts('pads', [e[2], e[4], e[3], e[5]])];
    }
    throw new ReshootError(`cannot convert ${n.op} node ${n.name}: padding "${padding}"`);
  };
  const spatial = (v: number[] | undefined, n: TfNode, what: string): number[] => {
    if (!v) return [1, 1];
    if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) throw new ReshootError(`cannot convert ${n.op} node ${n.name}: ${what} ${v.join(',')} on batch or channels`);
    return [v[1], v[2]];
  };
  /** Applies the fused ops after a conv (BiasAdd is the conv's bias input); returns the last NCHW value. */
  const activation = (kind: string, x: string, n: TfNode): string => {
    const y = fresh(`${n.name}/${kind}`);
    if (kind === 'Relu') node('Relu', [x], [y]);
    else if (kind === 'Relu6') node('Clip', [x, floatScalar(0), floatScalar(6)], [y]);
    else throw new ReshootError(`cannot convert ${n.op} node ${n.name}: fused op ${kind}`);
    return y;
  };

  /** Conv weights HWIO -> OIHW; depthwise [H,W,C,M] -> [C*M,1,H,W]. */
  const convWeight = (ref: string, n: TfNode, depthwise: boolean): { name: string; outC: number; inC: number; kh: number; kw: number } => {
    const c = constOf(ref);
    if (!c || c.dtype !== 'float32' || c.shape.length !== 4) throw new ReshootError(`cannot convert ${n.op} node ${n.name}: the filter must be a 4-D float constant`);
    const [kh, kw, ci, co] = c.shape;
    const src = c.data as Float32Array;
    const dst = new Float32Array(src.length);
    const outC = depthwise ? ci * co : co;
    // depthwise: out channel = c*M + m, one input channel per group; else out = o, in = i.
    for (let h = 0; h < kh; h++)
      for (let w = 0; w < kw; w++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) {
            const v = src[((h * kw + w) * ci + i) * co + o];
            if (depthwise) dst[((i * co + o) * kh + h) * kw + w] = v;
            else dst[((o * ci + i) * kh + h) * kw + w] = v;
          }
    const name = addInit(`c/${c.name}/onnx_${depthwise ? 'dw' : 'oihw'}`, DT.FLOAT, depthwise ? [outC, 1, kh, kw] : [co, ci, kh, kw], dst);
    return { name, outC, inC: ci, kh, kw };
  };

  const convert = (n: TfNode): void => {
    const ins = (n.input ?? []).filter((r) => !r.startsWith('^'));
    const out = tensorName(n.name, 0);
    const a = n.attr ?? {};
    switch (n.op) {
      case 'Const':
      case 'Placeholder':
        return;
      case 'Identity':
        node('Identity', [valueOf(ins[0])], [out]);
        return;
      case 'Cast':
        node('Cast', [valueOf(ins[0])], [out], [attrInt('to', tfDtypeToOnnx(a.DstT?.type))]);
        return;
      case 'Add':
      case 'AddV2':
        if (folded(n)) return; // integer constants: used through valueOf/constOf
        node('Add', [valueOf(ins[0]), valueOf(ins[1])], [out]);
        return;
      case 'SparseToDense':
        if (folded(n)) return;
        throw new ReshootError(`cannot convert SparseToDense node ${n.name}: only constant inputs are supported`);
      case 'Transpose':
        node('Transpose', [valueOf(ins[0])], [out], [attrInts('perm', constInts(ins[1], 'perm', n))]);
        return;
      case 'LeakyRelu':
        node('LeakyRelu', [valueOf(ins[0])], [out], [attrFloat('alpha', a.alpha?.f ?? 0.2)]);
        return;
      case 'SplitV': {
        const sizes = constInts(ins[1], 'size_splits', n);
        const axis = constInts(ins[2], 'split_dim', n)[0];
        if (sizes.some((v) => v < 0)) throw new ReshootError(`cannot convert SplitV node ${n.name}: an inferred (-1) split size`);
        const outs = sizes.map((_, k) => tensorName(n.name, k));
        node('Split', [valueOf(ins[0]), int64Init(`${out}/split`, sizes)], outs, [attrInt('axis', axis)]);
        return;
      }
      case 'AddN':
        if (ins.length === 1) node('Identity', [valueOf(ins[0])], [out]);
        else node('Sum', ins.map(valueOf), [out]);
        return;
      case 'Sub':
        node('Sub', [valueOf(ins[0]), valueOf(ins[1])], [out]);
        return;
      case 'Mul':
        node('Mul', [valueOf(ins[0]), valueOf(ins[1])], [out]);
        return;
      case 'RealDiv':
        node('Div', [valueOf(ins[0]), valueOf(ins[1])], [out]);
        return;
      case 'FloorDiv': {
        const t = a.T?.type ?? 'DT_FLOAT';
        if (t === 'DT_FLOAT' || t === 'DT_DOUBLE') {
          const q = fresh(`${out}/div`);
          node('Div', [valueOf(ins[0]), valueOf(ins[1])], [q]);
          node('Floor', [q], [out]);
        } else {
          // ONNX integer Div truncates toward zero; TF floors. Exact for int32 through float64.
          const x = fresh(`${out}/x64`);
          const y = fresh(`${out}/y64`);
          const q = fresh(`${out}/q`);
          const f = fresh(`${out}/floor`);
          node('Cast', [valueOf(ins[0])], [x], [attrInt('to', DT.DOUBLE)]);
          node('Cast', [valueOf(ins[1])], [y], [attrInt('to', DT.DOUBLE)]);
          node('Div', [x, y], [q]);
          node('Floor', [q], [f]);
          node('Cast', [f], [out], [attrInt('to', tfDtypeToOnnx(t))]);
        }
        return;
      }
      case 'SquaredDifference': {
        const d = fresh(`${out}/diff`);
        node('Sub', [valueOf(ins[0]), valueOf(ins[1])], [d]);
        node('Mul', [d, d], [out]);
        return;
      }
      case 'Sqrt':
      case 'Sigmoid':
      case 'Relu':
        node(n.op, [valueOf(ins[0])], [out]);
        return;
      case 'Relu6':
        node('Clip', [valueOf(ins[0]), floatScalar(0), floatScalar(6)], [out]);
        return;
      case 'ExpandDims': {
        const axis = constInts(ins[1], 'axis', n);
        node('Unsqueeze', [valueOf(ins[0]), int64Init(`${out}/axes`, axis)], [out]);
        return;
      }
      case 'Squeeze': {
        const dims = attrList(n, 'squeeze_dims') ?? attrList(n, 'axis') ?? [];
        node('Squeeze', dims.length ? [valueOf(ins[0]), int64Init(`${out}/axes`, dims)] : [valueOf(ins[0])], [out]);
        return;
      }
      case 'Reshape': {
        const shape = constOf(ins[1]);
        if (shape) {
          const s = Array.from(shape.data, Number);
          if (s.includes(0)) throw new ReshootError(`cannot convert Reshape node ${n.name}: zero-sized dimension`);
          node('Reshape', [valueOf(ins[0]), int64Init(`${out}/shape`, s)], [out]);
        } else {
          const s = fresh(`${out}/shape64`);
          node('Cast', [valueOf(ins[1])], [s], [attrInt('to', DT.INT64)]);
          node('Reshape', [valueOf(ins[0]), s], [out]);
        }
        return;
      }
      case 'Pack': {
        const axis = Number(a.axis?.i ?? 0);
        const parts = ins.map((r) => {
          const u = fresh(`${out}/unsq`);
          node('Unsqueeze', [valueOf(r), int64Init(`${out}/axes`, [axis])], [u]);
          return u;
        });
        if (parts.length === 1) node('Identity', parts, [out]);
        else node('Concat', parts, [out], [attrInt('axis', axis)]);
        return;
      }
      case 'Unpack': {
        const axis = Number(a.axis?.i ?? 0);
        const num = Number(a.num?.i ?? 1);
        const outs = Array.from({ length: num }, (_, k) => tensorName(n.name, k));
        if (num === 1) {
          node('Squeeze', [valueOf(ins[0]), int64Init(`${out}/axes`, [axis])], [outs[0]]);
        } else {
          const parts = outs.map((o) => `${o}/part`);
          node('Split', [valueOf(ins[0])], parts, [attrInt('axis', axis)]);
          parts.forEach((p, k) => node('Squeeze', [p, int64Init(`${out}/axes`, [axis])], [outs[k]]));
        }
        return;
      }
      case 'ConcatV2': {
        const axis = constInts(ins[ins.length - 1], 'axis', n)[0];
        node('Concat', ins.slice(0, -1).map(valueOf), [out], [attrInt('axis', axis)]);
        return;
      }
      case 'Pad':
      case 'PadV2': {
        const p = constInts(ins[1], 'paddings', n);
        const rank = p.length / 2;
        const pads = [...Array.from({ length: rank }, (_, k) => p[2 * k]), ...Array.from({ length: rank }, (_, k) => p[2 * k + 1])];
        const padIns = [valueOf(ins[0]), int64Init(`${out}/pads`, pads)];
        if (n.op === 'PadV2') {
          const v = constOf(ins[2]);
          if (!v || v.data.length !== 1) throw new ReshootError(`cannot convert PadV2 node ${n.name}: constant_values must be a scalar constant`);
          padIns.push(floatScalar(v.data[0]));
        }
        node('Pad', padIns, [out], [attrStr('mode', 'constant')]);
        return;
      }
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        checkNhwc(n);
        const depthwise = n.op.includes('Depthwise');
        const w = convWeight(ins[1], n, depthwise);
        const fused = (a.fused_ops?.list?.s ?? []).map(b64);
        const convIns = [toNchw(valueOf(ins[0])), w.name];
        let rest = fused;
        if (fused[0] === 'BiasAdd') {
          const bias = constOf(ins[2]);
          if (!bias || bias.dtype !== 'float32' || bias.data.length !== w.outC) throw new ReshootError(`cannot convert ${n.op} node ${n.name}: bias must be a float constant of ${w.outC} values`);
          convIns.push(valueOf(ins[2]));
          rest = fused.slice(1);
        } else if (fused.length > 0) {
          throw new ReshootError(`cannot convert ${n.op} node ${n.name}: fused ops ${fused.join('+')}`);
        }
        const [sh, sw] = spatial(attrList(n, 'strides'), n, 'strides');
        const [dh, dw] = spatial(attrList(n, 'dilations'), n, 'dilations');
        let y = fresh(`${out}/conv`);
        node('Conv', convIns, [y], [
          attrInts('kernel_shape', [w.kh, w.kw]),
          attrInts('strides', [sh, sw]),
          attrInts('dilations', [dh, dw]),
          attrInt('group', depthwise ? w.inC : 1),
          ...padAttrs(n, [w.kh, w.kw]),
        ]);
        for (const f of rest) y = activation(f, y, n);
        toNhwc(y, out);
        return;
      }
      case 'Conv2DBackpropInput': {
        checkNhwc(n);
        // inputs: output size (NHWC), filter [H,W,outC,inC], x. ONNX ConvTranspose weight: [inC, outC, H, W].
        const size = constInts(ins[0], 'input_sizes', n);
        const f = constOf(ins[1]);
        if (!f || f.shape.length !== 4) throw new ReshootError(`cannot convert ${n.op} node ${n.name}: the filter must be a 4-D constant`);
        const [kh, kw, co, ci] = f.shape;
        const src = f.data as Float32Array;
        const dst = new Float32Array(src.length);
        for (let h = 0; h < kh; h++)
          for (let w = 0; w < kw; w++)
            for (let o = 0; o < co; o++)
              for (let i = 0; i < ci; i++) dst[((i * co + o) * kh + h) * kw + w] = src[((h * kw + w) * co + o) * ci + i];
        const wName = addInit(`c/${f.name}/onnx_iohw`, DT.FLOAT, [ci, co, kh, kw], dst);
        const [sh, sw] = spatial(attrList(n, 'strides'), n, 'strides');
        const [dh, dw] = spatial(attrList(n, 'dilations'), n, 'dilations');
        const padding = b64(a.padding?.s);
        // The forward conv this is the gradient of: output size O (given), input size I; TF pads SAME with the extra pixel at the end.
        const dims = [size[1], size[2]].map((O, k) => {
          const s = k === 0 ? sh : sw;
          const kEff = ((k === 0 ? kh : kw) - 1) * (k === 0 ? dh : dw) + 1;
          if (padding === 'SAME') {
            const I = Math.ceil(O / s);
            const total = Math.max((I - 1) * s + kEff - O, 0);
            return { I, begin: Math.floor(total / 2), end: total - Math.floor(total / 2), O, s, kEff };
          }
          if (padding === 'VALID') return { I: Math.floor((O - kEff) / s) + 1, begin: 0, end: 0, O, s, kEff };
          throw new ReshootError(`cannot convert ${n.op} node ${n.name}: padding "${padding}"`);
        });
        const outputPadding = dims.map((d) => d.O - ((d.I - 1) * d.s + d.kEff - d.begin - d.end));
        const y = fresh(`${out}/convT`);
        node('ConvTranspose', [toNchw(valueOf(ins[2])), wName], [y], [
          attrInts('kernel_shape', [kh, kw]),
          attrInts('strides', [sh, sw]),
          attrInts('dilations', [dh, dw]),
          attrInts('pads', [dims[0].begin, dims[1].begin, dims[0].end, dims[1].end]),
          attrInts('output_padding', outputPadding),
        ]);
        toNhwc(y, out);
        return;
      }
      case 'MaxPool':
      case 'AvgPool': {
        checkNhwc(n);
        const [kh, kw] = spatial(attrList(n, 'ksize'), n, 'ksize');
        const [sh, sw] = spatial(attrList(n, 'strides'), n, 'strides');
        const y = fresh(`${out}/pool`);
        // TF AvgPool averages over valid pixels only, as ONNX count_include_pad=0 (the default).
        node(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [toNchw(valueOf(ins[0]))], [y], [
          attrInts('kernel_shape', [kh, kw]),
          attrInts('strides', [sh, sw]),
          ...padAttrs(n, [kh, kw]),
        ]);
        toNhwc(y, out);
        return;
      }
      case 'ResizeBilinear': {
        const size = constInts(ins[1], 'size', n);
        const alignCorners = a.align_corners?.b === true;
        const halfPixel = a.half_pixel_centers?.b === true;
        const mode = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
        const x = toNchw(valueOf(ins[0]));
        // sizes = [N, C] of the input (dynamic batch) followed by the constant [H, W].
        const shape = fresh(`${out}/shape`);
        const sizes = fresh(`${out}/sizes`);
        node('Shape', [x], [shape], [attrInt('start', 0), attrInt('end', 2)]);
        node('Concat', [shape, int64Init(`${out}/hw`, size)], [sizes], [attrInt('axis', 0)]);
        const y = fresh(`${out}/resize`);
        node('Resize', [x, '', '', sizes], [y], [attrStr('mode', 'linear'), attrStr('coordinate_transformation_mode', mode)]);
        toNhwc(y, out);
        return;
      }
      case 'ArgMax': {
        const axis = constInts(ins[1], 'dimension', n)[0];
        const outType = a.output_type?.type ?? 'DT_INT64';
        if (outType === 'DT_INT64') node('ArgMax', [valueOf(ins[0])], [out], [attrInt('axis', axis), attrInt('keepdims', 0)]);
        else {
          const y = fresh(`${out}/i64`);
          node('ArgMax', [valueOf(ins[0])], [y], [attrInt('axis', axis), attrInt('keepdims', 0)]);
          node('Cast', [y], [out], [attrInt('to', tfDtypeToOnnx(outType))]);
        }
        return;
      }
      case 'GatherNd': {
        const idx = fresh(`${out}/idx64`);
        node('Cast', [valueOf(ins[1])], [idx], [attrInt('to', DT.INT64)]);
        node('GatherND', [valueOf(ins[0]), idx], [out]);
        return;
      }
      default:
        throw new ReshootError(`cannot convert node ${n.name}: unsupported TensorFlow op ${n.op}`);
    }
  };

  // Emit in dependency order (the JSON is usually sorted, but do not rely on it).
  const visit = (name: string, path: Set<string>): void => {
    if (emitted.has(name)) return;
    if (path.has(name)) throw new ReshootError(`graph has a cycle through ${name}`);
    path.add(name);
    const n = byName.get(name)!;
    for (const r of n.input ?? []) {
      const p = parseRef(r);
      if (!p.control) visit(p.node, path);
    }
    path.delete(name);
    emitted.add(name);
    convert(n);
  };
  for (const n of order) visit(n.name, new Set());

  // Graph input.
  const inputName = opts.inputName ?? placeholder.name;
  const phShape = (placeholder.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
  const phType = tfDtypeToOnnx(placeholder.attr?.dtype?.type);
  nodes.unshift({ opType: 'Identity', input: [inputName], output: [tensorName(placeholder.name, 0)], name: 'input' });
  const valueInfo = (name: string, elemType: number, shape?: number[]): IValueInfo => ({
    name,
    type: {
      tensorType: {
        elemType,
        ...(shape && { shape: { dim: shape.map((d) => (d >= 0 ? { dimValue: d } : { dimParam: 'N' })) } }),
      },
    },
  });

  const outputs: IValueInfo[] = [];
  outputRefs.forEach((ref, k) => {
    const p = parseRef(ref);
    const src = tensorName(p.node, p.index);
    node('Identity', [src], [outputNames[k]], [], `output_${outputNames[k]}`);
    const entry = sig?.outputs?.[outputKeys[k]];
    const shape = entry?.tensorShape?.dim?.map((d) => Number(d.size));
    outputs.push(valueInfo(outputNames[k], tfDtypeToOnnx(entry?.dtype ?? outputDtype(byName.get(p.node)!)), shape));
  });

  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'reshoot-tfjs-to-onnx',
    producerVersion: String(CONVERTER_VERSION),
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'reshoot',
      node: nodes,
      initializer: initializers,
      input: [valueInfo(inputName, phType, phShape)],
      output: outputs,
    },
  };
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  return { bytes, inputNames: [inputName], outputNames, opTypes: graphOpTypes(order) };
}

