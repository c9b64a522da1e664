/**
 * Converter correctness (issue 4, item 2): every converted model gives the
 * same outputs as TensorFlow.js running the original graph (tfjs-backend-cpu)
 * on real images. Tolerance per output, with scale = max |TFJS output|:
 *   max |onnx - tfjs| <= 3e-3 * max(1, scale)   and   mean |onnx - tfjs| <= 1e-4 * max(1, scale)
 * Measured (float32 sums in another order): max 1.5e-6 (MoveNet) .. 9.5e-4
 * (BlazePose mask, a few pixels), 5e-3 on BlazePose landmarks in pixels
 * (scale ~150-220, i.e. 3.6e-5 relative); means 5e-8..9e-4 (<= 6e-6 relative).
 * A wrongly converted op gives max 0.19-0.41, mean 0.026-0.15 on MoveNet's
 * 0-1 keypoints: 60x over the max limit and 260x over the mean limit. The mutation tests
 * at the end prove the comparison catches a wrongly converted op: the same
 * graph converted with a wrong resize mode, wrong SAME padding or a dropped
 * Relu6 clip must FAIL the same check.
 * BlazePose lite/full/heavy are in models-convert-blazepose.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { convertTfGraph, getModelSpec, parseTfGraph, readModelSource } from '../src/models/index.js';
import { mediaFile } from './helpers.js';
import { assertMatchesTfjs, compareWithReference, modelInputFromImage, modelInputFromRgb, report, runTfjs, vtestFrame40, type Input } from './models-reference.js';

test('movenet-lightning matches TensorFlow.js on basketball1.png and a vtest.avi frame', async () => {
  await assertMatchesTfjs('movenet-lightning', await modelInputFromImage('movenet-lightning', mediaFile('basketball1.png')), 'basketball1.png');
  await assertMatchesTfjs('movenet-lightning', await modelInputFromRgb('movenet-lightning', await vtestFrame40()), 'vtest.avi#40');
});

test('movenet-thunder matches TensorFlow.js on basketball1.png', async () => {
  await assertMatchesTfjs('movenet-thunder', await modelInputFromImage('movenet-thunder', mediaFile('basketball1.png')), 'basketball1.png');
});

test('selfie matches TensorFlow.js on basketball1.png and a vtest.avi frame', async () => {
  await assertMatchesTfjs('selfie', await modelInputFromImage('selfie', mediaFile('basketball1.png')), 'basketball1.png');
  await assertMatchesTfjs('selfie', await modelInputFromRgb('selfie', await vtestFrame40()), 'vtest.avi#40');
});

// ---- The check fails when an op is converted wrongly. ----

const { onnx } = onnxProto;

async function lightningCase(): Promise<{ input: Input; ref: { data: Float32Array; shape: number[] }[]; jsonText: string; weights: Uint8Array }> {
  const spec = getModelSpec('movenet-lightning');
  const input = await modelInputFromImage('movenet-lightning', mediaFile('basketball1.png'));
  const ref = await runTfjs('movenet-lightning', input);
  const src = await readModelSource(spec);
  return { input, ref, jsonText: src.jsonText, weights: src.weightBytes };
}

async function sessionOf(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
}

function convertJson(jsonText: string, weights: Uint8Array): Uint8Array {
  return convertTfGraph(parseTfGraph(jsonText, weights)).bytes;
}

test('the comparison catches wrong conversions (resize mode, SAME padding, dropped Relu6 clip)', async () => {
  const c = await lightningCase();

  // Control: the unmodified conversion passes the same check.
  const good = await sessionOf(convertJson(c.jsonText, c.weights));
  assert.ok((await compareWithReference(good, c.input, c.ref)).every((d) => d.ok), 'unmodified conversion passes');
  await good.release();

  // 1. Resize with align-corners-free "asymmetric" sampling instead of TF's half-pixel centres:
  //    every upsampled feature map shifts by half a source pixel.
  const json1 = JSON.parse(c.jsonText);
  let resized = 0;
  for (const n of json1.modelTopology.node) {
    if (n.op === 'ResizeBilinear') {
      n.attr.half_pixel_centers = { b: false };
      resized++;
    }
  }
  assert.ok(resized > 0);
  const s1 = await sessionOf(convertJson(JSON.stringify(json1), c.weights));
  const d1 = await compareWithReference(s1, c.input, c.ref);
  report('movenet-lightning [wrong resize mode]', 'basketball1.png', d1);
  assert.ok(d1.some((d) => !d.ok), 'a wrong resize mode must fail the check');
  await s1.release();

  // 2. TF "SAME" puts the odd padding pixel at the END (SAME_UPPER); SAME_LOWER puts it first,
  //    shifting every stride-2 convolution by one pixel.
  const model = onnx.ModelProto.decode(convertJson(c.jsonText, c.weights));
  let flipped = 0;
  for (const n of model.graph!.node!) {
    for (const at of n.attribute ?? []) {
      if (at.name === 'auto_pad' && new TextDecoder().decode(at.s!) === 'SAME_UPPER') {
        const strides = n.attribute!.find((x) => x.name === 'strides')?.ints?.map(Number) ?? [1, 1];
        if (strides.some((s) => s > 1)) {
          at.s = new TextEncoder().encode('SAME_LOWER');
          flipped++;
        }
      }
    }
  }
  assert.ok(flipped > 0);
  const s2 = await sessionOf(onnx.ModelProto.encode(model).finish());
  const d2 = await compareWithReference(s2, c.input, c.ref);
  report('movenet-lightning [SAME_LOWER padding]', 'basketball1.png', d2);
  assert.ok(d2.some((d) => !d.ok), 'wrong SAME padding must fail the check');
  await s2.release();

  // 3. A fused BiasAdd+Relu6 converted as BiasAdd+Relu (no clip at 6).
  const json3 = JSON.parse(c.jsonText);
  const relu6 = Buffer.from('Relu6').toString('base64');
  const relu = Buffer.from('Relu').toString('base64');
  let changed = 0;
  for (const n of json3.modelTopology.node) {
    const s: string[] | undefined = n.attr?.fused_ops?.list?.s;
    if (s && s.includes(relu6)) {
      n.attr.fused_ops.list.s = s.map((v: string) => (v === relu6 ? relu : v));
      changed++;
    }
  }
  assert.ok(changed > 0);
  const s3 = await sessionOf(convertJson(JSON.stringify(json3), c.weights));
  const d3 = await compareWithReference(s3, c.input, c.ref);
  report('movenet-lightning [Relu instead of Relu6]', 'basketball1.png', d3);
  assert.ok(d3.some((d) => !d.ok), 'a missing Relu6 clip must fail the check');
  await s3.release();
});
