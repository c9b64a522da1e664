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
  assert.equal(back.version, 2);
  assert.deepEqual(back.shots, [{ start: 0, end: 4 }]);
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
  await expectBad(JSON.stringify({ ...data, version: 4 }), /version 4 is not supported \(this reshoot reads versions 1, 2 and 3\)/);
  await expectBad(JSON.stringify({ ...data, shots: [{ start: 0, end: 2 }] }), /shots cover frames \[0, 2\) but the clip has 4 frames/);
  await expectBad(JSON.stringify({ ...data, shots: [{ start: 0, end: 2 }, { start: 3, end: 4 }] }), /shots\[1\] is \[3, 4\); expected a non-empty shot starting at frame 2/);
  await expectBad(JSON.stringify({ ...data, notes: [1] }), /notes is not an array of strings/);
  // A version-1 file (no shots, no notes) still loads: one shot, no notes.
  const { shots: _s, notes: _n, ...v1 } = JSON.parse(text);
  await writeFile(bad, JSON.stringify({ ...v1, version: 1 }));
  const old = await loadTransforms(bad);
  assert.equal(old.version, 2);
  assert.deepEqual(old.shots, [{ start: 0, end: 4 }]);
  assert.deepEqual(old.notes, []);
  assert.deepEqual(old.frames, back.frames);
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

test('per-shot planning: the trajectory restarts at each cut and no smoothing window reaches across it', () => {
  // Shot A (frames 0-19): steady pan of +2 px/frame in x. Shot B (20-39): still, with a jump
  // of +100 px at its first frame (what a cut looks like to a motion estimator), then static.
  const n = 40;
  const motions = Array.from({ length: n }, (_, t) => (t === 0 ? translation(0, 0) : t < 20 ? translation(2, 0) : t === 20 ? translation(100, 0) : translation(0, 0)));
  const shots = [{ start: 0, end: 20 }, { start: 20, end: 40 }];
  for (const smoother of ['moving-average', 'gaussian', 'constrained', 'l1'] as const) {
    const { trajectory, smoothed, plan } = planStabilization(motions, { width: 320, height: 240, smoother, window: 9, sigma: 3, shots });
    // Restart: frame 20 is the reference of shot B, whatever the motion across the cut said.
    assert.equal(trajectory[20].x, 0, smoother);
    assert.equal(trajectory[19].x, 38, smoother);
    // Shot B is perfectly still: every smoother must leave it exactly still (no pull from shot A's pan).
    for (let t = 20; t < n; t++) assert.ok(Math.abs(smoothed[t].x) < 1e-6, `${smoother} frame ${t}: ${smoothed[t].x}`);
    // Shot A is a pure pan, which every smoother keeps (point-reflection padding / piecewise linear).
    for (let t = 0; t < 20; t++) assert.ok(Math.abs(smoothed[t].x - 2 * t) < 1e-3, `${smoother} frame ${t}: ${smoothed[t].x}`);
    assert.ok(plan.corrections.every((c) => Math.abs(c[2]) < 1e-3), smoother);
  }
  // Without the shots the same motions smear the cut into both shots.
  const whole = planStabilization(motions, { width: 320, height: 240, smoother: 'moving-average', window: 9 });
  assert.ok(Math.abs(whole.smoothed[18].x - whole.trajectory[18].x) > 10);
  assert.throws(() => planStabilization(motions, { width: 320, height: 240, shots: [{ start: 0, end: 30 }] }), /shots cover frames \[0, 30\) but the clip has 40 frames/);
});
