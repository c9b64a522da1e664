/**
 * Reference outputs for the converter test: the same TFJS graph model run by
 * TensorFlow.js itself (tfjs-core + tfjs-converter + tfjs-backend-cpu, dev
 * dependencies), loaded from the package files with tf.io.fromMemory. And the
 * real inputs both runs get: a photo resized with sharp to the model input.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { getModelSpec, loadModel, modelPackageDir, type ModelId, type TfModelJson } from '../src/models/index.js';
import { decodeFrames } from '../src/video/index.js';
import { mediaFile } from './helpers.js';

let backendReady: Promise<boolean> | undefined;

async function cpuBackend(): Promise<void> {
  backendReady ??= tf.setBackend('cpu');
  await backendReady;
  await tf.ready();
}

/** Loads the model's TFJS graph from its npm package folder (no network, no file:// handler). */
export async function loadTfjsModel(id: ModelId): Promise<{ model: GraphModel; json: TfModelJson }> {
  await cpuBackend();
  const spec = getModelSpec(id);
  const graphPath = join(modelPackageDir(spec), spec.files.graph);
  const json = JSON.parse(await readFile(graphPath, 'utf8')) as TfModelJson;
  const shards = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(graphPath), p))));
  const weights = Buffer.concat(shards);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology as unknown as object,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature as object,
  });
  return { model: await loadGraphModel(handler), json };
}

/** TFJS outputs in the signature's order (= the ONNX output order), as flat float arrays with shapes. */
export async function runTfjs(id: ModelId, input: { data: Int32Array | Float32Array; shape: number[] }): Promise<{ data: Float32Array; shape: number[] }[]> {
  const { model, json } = await loadTfjsModel(id);
  const names = Object.values(json.signature?.outputs ?? {}).map((o) => o.name);
  const x = tf.tensor(input.data, input.shape, input.data instanceof Int32Array ? 'int32' : 'float32');
  try {
    const out = model.execute(x, names);
    const list = Array.isArray(out) ? out : [out];
    const result = await Promise.all(list.map(async (t) => ({ data: Float32Array.from(await t.data()), shape: t.shape })));
    tf.dispose(list);
    return result;
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** A photo resized (stretched) to the model's square input, in its dtype and range. */
export async function modelInputFromImage(id: ModelId, file: string): Promise<{ data: Int32Array | Float32Array; shape: number[] }> {
  const spec = getModelSpec(id);
  const [, h, w] = spec.input.shape;
  const rgb = await sharp(file).removeAlpha().toColourspace('srgb').resize(w, h, { fit: 'fill' }).raw().toBuffer();
  const shape = [1, h, w, 3];
  if (rgb.length !== h * w * 3) throw new Error(`unexpected raw size ${rgb.length}`);
  return spec.input.dtype === 'int32' ? { data: Int32Array.from(rgb), shape } : { data: Float32Array.from(rgb, (v) => v / 255), shape };
}

/** Largest |a - b| over two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Largest |a| (the scale tolerances are relative to). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** An RGB24 frame (e.g. from decodeFrames) resized (stretched) to the model's square input. */
export async function modelInputFromRgb(id: ModelId, frame: { width: number; height: number; data: Uint8Array }): Promise<{ data: Int32Array | Float32Array; shape: number[] }> {
  const png = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).png().toBuffer();
  return modelInputFromBuffer(id, png);
}

async function modelInputFromBuffer(id: ModelId, image: Buffer): Promise<{ data: Int32Array | Float32Array; shape: number[] }> {
  const spec = getModelSpec(id);
  const [, h, w] = spec.input.shape;
  const rgb = await sharp(image).removeAlpha().toColourspace('srgb').resize(w, h, { fit: 'fill' }).raw().toBuffer();
  const shape = [1, h, w, 3];
  return spec.input.dtype === 'int32' ? { data: Int32Array.from(rgb), shape } : { data: Float32Array.from(rgb, (v) => v / 255), shape };
}

export interface OutputDiff {
  name: string;
  maxDiff: number;
  meanDiff: number;
  scale: number;
  ok: boolean;
}

export type Input = { data: Int32Array | Float32Array; shape: number[] };

/** Runs ONNX (a session) and compares every output with the TFJS reference outputs. */
export async function compareWithReference(session: ort.InferenceSession, input: Input, ref: { data: Float32Array; shape: number[] }[]): Promise<OutputDiff[]> {
  const x = new ort.Tensor(input.data instanceof Int32Array ? 'int32' : 'float32', input.data, input.shape);
  const out = await session.run({ [session.inputNames[0]]: x });
  assert.equal(session.outputNames.length, ref.length, 'ONNX and TFJS have the same number of outputs');
  return session.outputNames.map((name, k) => {
    const o = out[name];
    assert.deepEqual([...o.dims], ref[k].shape, `${name}: shape matches TFJS output ${k}`);
    const a = o.data as Float32Array;
    const b = ref[k].data;
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
    const maxDiff = maxAbsDiff(a, b);
    const meanDiff = sum / a.length;
    const scale = maxAbs(b);
    const unit = Math.max(1, scale);
    return { name, maxDiff, meanDiff, scale, ok: maxDiff <= 3e-3 * unit && meanDiff <= 1e-4 * unit };
  });
}

export function report(id: string, image: string, diffs: OutputDiff[]): string {
  const line = diffs.map((d) => `${d.name} max ${d.maxDiff.toExponential(1)} mean ${d.meanDiff.toExponential(1)} (scale ${d.scale.toFixed(2)})`).join('; ');
  process.stderr.write(`# ${id} on ${image}: ${line}\n`);
  return line;
}

/** Loads the cached/converted model and checks it against TFJS on the given input. */
export async function assertMatchesTfjs(id: ModelId, input: Input, label: string): Promise<void> {
  const ref = await runTfjs(id, input);
  const model = await loadModel(id, { provider: 'cpu', threads: 2 });
  try {
    const diffs = await compareWithReference(model.session, input, ref);
    const line = report(id, label, diffs);
    for (const d of diffs) assert.ok(d.ok, `${id} ${d.name} differs from TFJS: ${line}`);
    // The outputs are named and ordered as the manifest says.
    assert.deepEqual([...model.outputNames], getModelSpec(id).outputs.map((o) => o.name));
  } finally {
    await model.release();
  }
}

let vtestFrame: Promise<{ width: number; height: number; data: Uint8Array }> | undefined;
/** Frame 40 of vtest.avi (people walking, 768x576). */
export function vtestFrame40(): Promise<{ width: number; height: number; data: Uint8Array }> {
  vtestFrame ??= (async () => {
    for await (const f of decodeFrames(mediaFile('vtest.avi'), { start: 40, count: 1 })) return f;
    throw new Error('vtest.avi gave no frame 40');
  })();
  return vtestFrame;
}

