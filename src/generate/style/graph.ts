/**
 * The style transfer network as an ONNX graph (opset 17), built directly from
 * the checkpoint variables with onnx-proto (the writer src/models/convert.ts
 * uses). NHWC in and out like TensorFlow (so a frame packs without
 * reordering), NCHW inside, where ONNX defines Conv and InstanceNormalization.
 */
import onnxProto from 'onnx-proto';
import { ReshootError } from '../../util/errors.js';
import { STYLE_LAYERS, STYLE_VARIABLE_COUNT, type StyleWeights } from './weights.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IAttr = onnxProto.onnx.IAttributeProto;

/** Bump when the built graph changes: it is part of the cache key. */
export const STYLE_GRAPH_VERSION = 1;
export const STYLE_INPUT = 'image';
export const STYLE_OUTPUT = 'stylized';
/** Instance norm epsilon of the original training code. */
export const STYLE_NORM_EPSILON = 1e-3;

const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]): IAttr => ({ name, type: AT.INTS, ints: v });
const float = (name: string, v: number): IAttr => ({ name, type: AT.FLOAT, f: v });

/** HWIO -> OIHW (Conv). */
function hwioToOihw(src: Float32Array, k: number, ci: number, co: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let h = 0; h < k; h++)
    for (let w = 0; w < k; w++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) dst[((o * ci + i) * k + h) * k + w] = src[((h * k + w) * ci + i) * co + o];
  return dst;
}

/** [h, w, out, in] (tf.nn.conv2d_transpose) -> [in, out, h, w] (ONNX ConvTranspose). */
function hwoiToIohw(src: Float32Array, k: number, co: number, ci: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let h = 0; h < k; h++)
    for (let w = 0; w < k; w++)
      for (let o = 0; o < co; o++)
        for (let i = 0; i < ci; i++) dst[((i * co + o) * k + h) * k + w] = src[((h * k + w) * co + o) * ci + i];
  return dst;
}

/** Builds the ONNX model bytes. Input `image` [1,H,W,3] RGB 0..255; output `stylized` [1,H,W,3] 0..255 (H, W multiples of 4). */
export function buildStyleOnnx(weights: StyleWeights): Uint8Array {
  if (weights.variables.length !== STYLE_VARIABLE_COUNT) throw new ReshootError(`style ${weights.name}: ${weights.variables.length} variables, expected ${STYLE_VARIABLE_COUNT}`);
  const nodes: INode[] = [];
  const inits: ITensor[] = [];
  let uid = 0;
  const fresh = (base: string) => `${base}_${uid++}`;
  const init = (name: string, dims: number[], data: Float32Array): string => {
    inits.push({ name, dataType: DT.FLOAT, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const node = (opType: string, input: string[], attribute: IAttr[] = []): string => {
    const out = fresh(opType.toLowerCase());
    nodes.push({ opType, input, output: [out], attribute, name: out });
    return out;
  };

  /** Conv or ConvTranspose (no bias), instance norm, optional ReLU: one layer as in the training code. */
  const layer = (x: string, li: number): string => {
    const l = STYLE_LAYERS[li];
    const v = weights.variables;
    const k = l.kernel;
    let y: string;
    if (l.kind === 'conv') {
      const w = init(`w${l.index}`, [l.outChannels, l.inChannels, k, k], hwioToOihw(v[l.index], k, l.inChannels, l.outChannels));
      // TF SAME: stride 1 pads (k-1)/2 each side; stride 2 puts the odd pixel at the end (= ONNX SAME_UPPER).
      const pad = l.stride === 1 ? [ints('pads', [(k - 1) / 2, (k - 1) / 2, (k - 1) / 2, (k - 1) / 2])] : [{ name: 'auto_pad', type: AT.STRING, s: new TextEncoder().encode('SAME_UPPER') }];
      y = node('Conv', [x, w], [ints('kernel_shape', [k, k]), ints('strides', [l.stride, l.stride]), ...pad]);
    } else {
      const w = init(`w${l.index}`, [l.inChannels, l.outChannels, k, k], hwoiToIohw(v[l.index], k, l.outChannels, l.inChannels));
      // conv2d_transpose to 2x the input with SAME: the forward conv's padding is 0 before, 1 after (k 3, s 2, even size),
      // so the transposed conv crops 0 at the start and 1 at the end: (I-1)*2 + 3 - 0 - 1 = 2I, no output_padding.
      y = node('ConvTranspose', [x, w], [ints('kernel_shape', [k, k]), ints('strides', [2, 2]), ints('pads', [0, 0, 1, 1])]);
    }
    const shift = init(`shift${l.index + 1}`, [l.outChannels], v[l.index + 1]);
    const scale = init(`scale${l.index + 2}`, [l.outChannels], v[l.index + 2]);
    y = node('InstanceNormalization', [y, scale, shift], [float('epsilon', STYLE_NORM_EPSILON)]);
    return l.relu ? node('Relu', [y]) : y;
  };

  let x = node('Transpose', [STYLE_INPUT], [ints('perm', [0, 3, 1, 2])]);
  let li = 0;
  for (; li < 3; li++) x = layer(x, li);
  for (let b = 0; b < 5; b++, li += 2) x = node('Add', [x, layer(layer(x, li), li + 1)]);
  for (; li < STYLE_LAYERS.length; li++) x = layer(x, li);
  const c = (name: string, value: number) => init(name, [], Float32Array.of(value));
  x = node('Tanh', [x]);
  x = node('Mul', [x, c('k150', 150)]);
  x = node('Add', [x, c('k127_5', 127.5)]);
  x = node('Clip', [x, c('k0', 0), c('k255', 255)]);
  nodes.push({ opType: 'Transpose', input: [x], output: [STYLE_OUTPUT], attribute: [ints('perm', [0, 2, 3, 1])], name: 'to_nhwc' });

  const io = (name: string) => ({
    name,
    type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimParam: 'height' }, { dimParam: 'width' }, { dimValue: 3 }] } } },
  });
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'reshoot-style-transfer',
    producerVersion: String(STYLE_GRAPH_VERSION),
    opsetImport: [{ domain: '', version: 17 }],
    metadataProps: [
      { key: 'reshoot_model', value: `style:${weights.name}` },
      { key: 'weights_sha256', value: weights.sha256 },
      { key: 'graph_version', value: String(STYLE_GRAPH_VERSION) },
    ],
    graph: { name: `style_${weights.name}`, node: nodes, initializer: inits, input: [io(STYLE_INPUT)], output: [io(STYLE_OUTPUT)] },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
