/**
 * Converter correctness for BlazePose lite/full/heavy (all five outputs,
 * including the person mask `activation_segmentation`) against TensorFlow.js
 * on real images; tolerance and method as in models-convert.test.ts.
 * Heavy runs on one image only: tfjs-backend-cpu needs ~10 s for it.
 */
import { test } from 'node:test';
import { mediaFile } from './helpers.js';
import { assertMatchesTfjs, modelInputFromImage, modelInputFromRgb, vtestFrame40 } from './models-reference.js';

test('blazepose-lite matches TensorFlow.js on basketball1.png and a vtest.avi frame', async () => {
  await assertMatchesTfjs('blazepose-lite', await modelInputFromImage('blazepose-lite', mediaFile('basketball1.png')), 'basketball1.png');
  await assertMatchesTfjs('blazepose-lite', await modelInputFromRgb('blazepose-lite', await vtestFrame40()), 'vtest.avi#40');
});

test('blazepose-full matches TensorFlow.js on basketball1.png and a vtest.avi frame', async () => {
  await assertMatchesTfjs('blazepose-full', await modelInputFromImage('blazepose-full', mediaFile('basketball1.png')), 'basketball1.png');
  await assertMatchesTfjs('blazepose-full', await modelInputFromRgb('blazepose-full', await vtestFrame40()), 'vtest.avi#40');
});

test('blazepose-heavy matches TensorFlow.js on basketball1.png', async () => {
  await assertMatchesTfjs('blazepose-heavy', await modelInputFromImage('blazepose-heavy', mediaFile('basketball1.png')), 'basketball1.png');
});
