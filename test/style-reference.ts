/**
 * Independent reference forward pass of the fast style transfer network,
 * written with TensorFlow.js ops (tfjs-core + tfjs-backend-cpu, dev
 * dependencies) straight from the weights folder's README: it reads the
 * manifest and the raw float32 files itself and shares no code with
 * src/generate/style/ (not the reader, not the layer table).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

let ready: Promise<boolean> | undefined;
async function cpuBackend(): Promise<void> {
  ready ??= tf.setBackend('cpu');
  await ready;
  await tf.ready();
}

/** Variables 0..47 of a style folder, by name "Variable" / "Variable_N", as tfjs tensors with the manifest's shapes. */
export async function loadReferenceVariables(folder: string): Promise<tf.Tensor[]> {
  await cpuBackend();
  const manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as Record<string, { filename: string; shape: number[] }>;
  const out: tf.Tensor[] = [];
  for (let i = 0; i < 48; i++) {
    const e = manifest[i === 0 ? 'Variable' : `Variable_${i}`];
    const buf = await readFile(join(folder, e.filename));
    const values = new Float32Array(buf.byteLength / 4);
    for (let k = 0; k < values.length; k++) values[k] = buf.readFloatLE(4 * k);
    out.push(tf.tensor(values, e.shape, 'float32'));
  }
  return out;
}

/**
 * Runs the network on one RGB image (0..255, H and W multiples of 4) and
 * returns the float output (0..255, not rounded), NHWC [H, W, 3] flattened.
 */
export async function referenceStylize(vars: tf.Tensor[], rgb: Uint8Array | Float32Array, width: number, height: number): Promise<Float32Array> {
  await cpuBackend();
  const result = tf.tidy(() => {
    // README: scale * (x - mean) / sqrt(var + 1e-3) + shift; variable i+1 is the shift, i+2 the scale.
    const norm = (x: tf.Tensor4D, i: number): tf.Tensor4D => {
      const { mean, variance } = tf.moments(x, [1, 2], true);
      return tf.add(tf.mul(vars[i + 2], tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3)))), vars[i + 1]) as tf.Tensor4D;
    };
    const conv = (x: tf.Tensor4D, i: number, stride: number, relu: boolean): tf.Tensor4D => {
      const y = norm(tf.conv2d(x, vars[i] as tf.Tensor4D, stride, 'same'), i);
      return relu ? tf.relu(y) : y;
    };
    const convT = (x: tf.Tensor4D, i: number): tf.Tensor4D => {
      const [, h, w] = x.shape;
      const outChannels = vars[i].shape[2] as number;
      const y = norm(tf.conv2dTranspose(x, vars[i] as tf.Tensor4D, [1, h * 2, w * 2, outChannels], 2, 'same'), i);
      return tf.relu(y);
    };
    let x = tf.tensor4d(Float32Array.from(rgb), [1, height, width, 3]);
    x = conv(x, 0, 1, true);
    x = conv(x, 3, 2, true);
    x = conv(x, 6, 2, true);
    for (const b of [9, 15, 21, 27, 33]) x = tf.add(x, conv(conv(x, b, 1, true), b + 3, 1, false));
    x = convT(x, 39);
    x = convT(x, 42);
    x = conv(x, 45, 1, false);
    return tf.clipByValue(tf.add(tf.mul(tf.tanh(x), 150), 127.5), 0, 255);
  });
  const data = (await result.data()) as Float32Array;
  result.dispose();
  return Float32Array.from(data);
}
