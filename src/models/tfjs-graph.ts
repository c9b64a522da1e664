/**
 * Reads a TensorFlow.js graph model (model.json + weight shards) from disk into
 * plain typed arrays: the converter's input. No TensorFlow.js needed at run time.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ReshootError } from '../util/errors.js';

export interface TfAttrValue {
  s?: string; // base64
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; type?: string[] };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size: string | number }[] } };
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttrValue>;
}

export interface TfSignatureEntry {
  name: string;
  dtype?: string;
  tensorShape?: { dim?: { size: string | number }[] };
}

export interface TfModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: { inputs?: Record<string, TfSignatureEntry>; outputs?: Record<string, TfSignatureEntry> };
  modelTopology: { node: TfNode[]; library?: { function?: unknown[] } };
  weightsManifest: { paths: string[]; weights: TfWeightSpec[] }[];
}

export interface TfWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number; original_dtype?: string };
}

/** A constant of the graph, decoded to float32 / int32. */
export interface TfConst {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface TfGraph {
  json: TfModelJson;
  nodes: TfNode[];
  consts: Map<string, TfConst>;
}

/** Converts an IEEE 754 half float to a JS number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal (and zero)
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

let halfTable: Float32Array | undefined;
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** Decodes the concatenated weight bytes by the weights manifest (float16 and affine-quantized weights become float32). */
export function decodeWeights(specs: TfWeightSpec[], bytes: Uint8Array): Map<string, TfConst> {
  const out = new Map<string, TfConst>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    let data: Float32Array | Int32Array;
    let dtype: 'float32' | 'int32';
    const need = (bytesPer: number): void => {
      if (offset + n * bytesPer > bytes.byteLength) {
        throw new ReshootError(`model weights are truncated: ${spec.name} needs ${n * bytesPer} bytes at offset ${offset}, the shards hold ${bytes.byteLength}`);
      }
    };
    if (q) {
      if (q.dtype === 'float16') {
        need(2);
        const table = halfLookup();
        const f = new Float32Array(n);
        // Little-endian hosts (all reshoot targets) can read the halves in place; DataView otherwise.
        const aligned = (bytes.byteOffset + offset) % 2 === 0 && LITTLE_ENDIAN;
        if (aligned) {
          const h = new Uint16Array(bytes.buffer, bytes.byteOffset + offset, n);
          for (let k = 0; k < n; k++) f[k] = table[h[k]];
        } else {
          for (let k = 0; k < n; k++) f[k] = table[view.getUint16(offset + 2 * k, true)];
        }
        offset += 2 * n;
        data = f;
      } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
        const bpe = q.dtype === 'uint8' ? 1 : 2;
        need(bpe);
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        const f = new Float32Array(n);
        for (let k = 0; k < n; k++) f[k] = (bpe === 1 ? bytes[offset + k] : view.getUint16(offset + 2 * k, true)) * scale + min;
        offset += bpe * n;
        data = f;
      } else {
        throw new ReshootError(`unsupported weight quantization ${q.dtype} for ${spec.name}`);
      }
      dtype = spec.dtype === 'int32' ? 'int32' : 'float32';
      if (dtype === 'int32') data = Int32Array.from(data, Math.round);
    } else if (spec.dtype === 'float32') {
      need(4);
      const f = new Float32Array(n);
      for (let k = 0; k < n; k++) f[k] = view.getFloat32(offset + 4 * k, true);
      offset += 4 * n;
      data = f;
      dtype = 'float32';
    } else if (spec.dtype === 'int32') {
      need(4);
      const a = new Int32Array(n);
      for (let k = 0; k < n; k++) a[k] = view.getInt32(offset + 4 * k, true);
      offset += 4 * n;
      data = a;
      dtype = 'int32';
    } else {
      throw new ReshootError(`unsupported weight dtype ${spec.dtype} for ${spec.name}`);
    }
    out.set(spec.name, { name: spec.name, dtype, shape: spec.shape, data });
  }
  if (offset !== bytes.byteLength) {
    throw new ReshootError(`model weights do not match the manifest: read ${offset} bytes, the shards hold ${bytes.byteLength}`);
  }
  return out;
}

/** Parses model.json text and its weight bytes (the shards concatenated in manifest order). */
export function parseTfGraph(jsonText: string, weightBytes: Uint8Array): TfGraph {
  let json: TfModelJson;
  try {
    json = JSON.parse(jsonText) as TfModelJson;
  } catch (err) {
    throw new ReshootError(`model graph is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!json.modelTopology?.node || !json.weightsManifest) throw new ReshootError('model graph is not a TensorFlow.js graph model (no modelTopology.node / weightsManifest)');
  if (json.modelTopology.library?.function?.length) throw new ReshootError('model graph uses control-flow functions, which the converter does not support');
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return { json, nodes: json.modelTopology.node, consts: decodeWeights(specs, weightBytes) };
}

/** Reads model.json and its shards (paths relative to model.json) from disk. */
export async function readTfGraph(graphPath: string): Promise<{ graph: TfGraph; jsonBytes: Uint8Array; weightBytes: Uint8Array }> {
  const jsonBytes = await readFile(graphPath);
  const json = JSON.parse(jsonBytes.toString('utf8')) as TfModelJson;
  const shards = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(graphPath), p))));
  const weightBytes = Buffer.concat(shards);
  return { graph: parseTfGraph(jsonBytes.toString('utf8'), weightBytes), jsonBytes, weightBytes };
}
