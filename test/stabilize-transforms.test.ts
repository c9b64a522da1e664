import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTransforms, loadTransforms, planStabilization, saveTransforms, translation, type TransformsData } from '../src/stabilize/index.js';
import { ReshootError } from '../src/util/errors.js';

function sample(): TransformsData {
  const motions = [[1, 0, 0, 0, 1, 0], translation(2, 1), translation(-1.5, 0.25), translation(0.5, -2)];
  const { trajectory, smoothed, plan } = planStabilization(motions, { width: 768, height: 576, smoother: 'moving-average', window: 3 });
  return buildTransforms({
    source: { path: 'in.mp4', width: 768, height: 576, fps: { num: 25, den: 1 }, frameCount: 4 },
    params: { smoother: 'moving-average', window: 3, border: 'zoom' },
    createdBy: 'reshoot test',
    motions: motions.map((matrix, i) => ({ matrix, inliers: i ? 120 : 0, fallback: i === 3 ? 'too-few-points' : undefined })),
    trajectory, smoothed, plan,
  });
}

test('transforms.json: round trip, overwrite refusal, mismatch and corruption refusals', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-transforms-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'transforms.json');
  const data = sample();
  await saveTransforms(file, data);
  const back = await loadTransforms(file, { width: 768, height: 576, frameCount: 4 });
  assert.deepEqual(back, JSON.parse(JSON.stringify(data)));
  assert.equal(back.frames[3].fallback, 'too-few-points');
  assert.equal(back.frames[1].trajectory.x, 2);
  await assert.rejects(saveTransforms(file, data), (e: Error) => e instanceof ReshootError && /already exists/.test(e.message));
  await saveTransforms(file, data, { overwrite: true });

  await assert.rejects(loadTransforms(file, { width: 640, height: 480, frameCount: 120 }), (e: Error) =>
    e instanceof ReshootError && e.message === `${file} is for 768x576, 4 frames; video is 640x480, 120 frames`);
  await assert.rejects(loadTransforms(file, { frameCount: 5 }), /is for 768x576, 4 frames; video is 5 frames/);

  const text = await readFile(file, 'utf8');
  const bad = join(dir, 'bad.json');
  const expectBad = async (contents: string, pattern: RegExp) => {
    await writeFile(bad, contents);
    await assert.rejects(loadTransforms(bad), (e: Error) => e instanceof ReshootError && pattern.test(e.message), pattern.source);
  };
  await expectBad(text.slice(0, text.length / 2), /not valid JSON/);
  await expectBad(JSON.stringify({ ...data, version: 2 }), /version 2 is not supported/);
  await expectBad(JSON.stringify({ ...data, schema: 'other' }), /schema is "other"/);
  await expectBad(JSON.stringify({ ...data, frames: data.frames.slice(1) }), /frames has 3 entries but source.frameCount is 4/);
  const nan = JSON.parse(text);
  nan.frames[2].correction[2] = null; // what JSON.stringify makes of NaN
  await expectBad(JSON.stringify(nan), /frames\[2\]\.correction is not 6 finite numbers/);
  const short = JSON.parse(text);
  short.frames[1].interframe = [1, 0, 0];
  await expectBad(JSON.stringify(short), /frames\[1\]\.interframe/);
  await assert.rejects(loadTransforms(join(dir, 'missing.json')), /does not exist/);
  // saving refuses invalid data too
  const broken = sample();
  broken.frames[0].correction = [0, 0, 0, 0, 0, 0];
  await assert.rejects(saveTransforms(join(dir, 'x.json'), broken), /singular/);
});
