/**
 * The NanoDet person detector's conversion (transposes, LeakyRelu, PadV2, SplitV and the constant-folded
 * SparseToDense shapes of an onnx-tf graph) gives TensorFlow.js's outputs on a real frame, within the
 * converter's tolerances (models-convert.test.ts). A wrong LeakyRelu slope must fail the same check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { convertTfGraph, getModelSpec, parseTfGraph, readModelSource } from '../src/models/index.js';
import { detectorInput, DETECTOR_INPUT } from '../src/pose/detector.js';
import { assertMatchesTfjs, compareWithReference, report, runTfjs, vtestFrame40 } from './models-reference.js';

async function input() {
  const { data } = await detectorInput(await vtestFrame40());
  return { data, shape: [1, 3, DETECTOR_INPUT, DETECTOR_INPUT] };
}

test('nanodet matches TensorFlow.js on a vtest.avi frame (letterboxed, as the detector feeds it)', async () => {
  await assertMatchesTfjs('nanodet', await input(), 'vtest.avi#40');
});

test('the comparison catches a wrongly converted LeakyRelu slope', async () => {
  const x = await input();
  const ref = await runTfjs('nanodet', x);
  const src = await readModelSource(getModelSpec('nanodet'));
  const json = JSON.parse(src.jsonText);
  let changed = 0;
  for (const n of json.modelTopology.node) {
    if (n.op === 'LeakyRelu') {
      assert.equal(n.attr.alpha.f, 0.1, 'NanoDet uses slope 0.1');
      n.attr.alpha = { f: 0.2 };
      changed++;
    }
  }
  assert.ok(changed > 0);
  const session = await ort.InferenceSession.create(convertTfGraph(parseTfGraph(JSON.stringify(json), src.weightBytes)).bytes, { intraOpNumThreads: 2 });
  const diffs = await compareWithReference(session, x, ref);
  report('nanodet [LeakyRelu 0.2]', 'vtest.avi#40', diffs);
  assert.ok(diffs.some((d) => !d.ok), 'a wrong slope must fail the check');
  await session.release();
});
