import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { isImagePath, readImageFrame, readPoseTrack, writePoseTrack, type PoseTrack } from '../src/pose/index.js';
import { isReshootError } from '../src/util/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reshoot-pose-io-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const track: PoseTrack = {
  schema: 'reshoot.poses/1',
  source: { path: 'x.mp4', width: 10, height: 8, fps: { num: 25, den: 1 }, frameCount: 1 },
  model: { id: 'movenet-thunder', inputSize: 256, provider: 'cpu' },
  minScore: 0.3,
  smoothing: null,
  frames: [{ index: 0, found: false, box: null, score: 0.1, keypoints: Array.from({ length: 17 }, () => ({ x: 1, y: 2, score: 0.1, valid: false })) }],
};

test('pose track JSON round trip; no silent overwrite; malformed files are refused with a clear error', async () => {
  const p = join(dir, 'poses.json');
  await writePoseTrack(p, track);
  assert.deepEqual(await readPoseTrack(p), track);
  await assert.rejects(writePoseTrack(p, track), (e) => isReshootError(e) && /already exists/.test((e as Error).message));
  await writePoseTrack(p, { ...track, minScore: 0.5 }, { overwrite: true });
  assert.equal((await readPoseTrack(p)).minScore, 0.5);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...track, frames: [{ ...track.frames[0], keypoints: [] }] }));
  await assert.rejects(readPoseTrack(bad), (e) => isReshootError(e) && /17 keypoints/.test((e as Error).message));
  await writeFile(bad, '{"schema": "something/else"}');
  await assert.rejects(readPoseTrack(bad), (e) => isReshootError(e) && /reshoot.poses\/1/.test((e as Error).message));
  await writeFile(bad, 'not json');
  await assert.rejects(readPoseTrack(bad), (e) => isReshootError(e) && /not valid JSON/.test((e as Error).message));
});

test('images: RGBA drops alpha, gray+alpha expands to RGB, a corrupt file is a user error', async () => {
  assert.ok(isImagePath('a/B.JPG') && isImagePath('x.png') && !isImagePath('v.mp4'));
  const rgba = join(dir, 'rgba.png');
  await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(rgba);
  assert.deepEqual([...(await readImageFrame(rgba)).data], [10, 20, 30, 40, 50, 60]);
  const ga = join(dir, 'ga.png');
  await sharp(Buffer.from([7, 255, 9, 128]), { raw: { width: 2, height: 1, channels: 2 } }).png().toFile(ga);
  assert.deepEqual([...(await readImageFrame(ga)).data], [7, 7, 7, 9, 9, 9]);
  const corrupt = join(dir, 'corrupt.png');
  await writeFile(corrupt, Buffer.from('\x89PNG\r\n\x1a\n garbage'));
  await assert.rejects(readImageFrame(corrupt), (e) => isReshootError(e) && /cannot read image/.test((e as Error).message));
  await assert.rejects(readImageFrame(join(dir, 'missing.png')), (e) => isReshootError(e) && /not found/.test((e as Error).message));
});

test('concurrent estimate() and mask() calls give the same answers as one at a time (shared buffers are serialised)', async () => {
  const { createPoseEstimator } = await import('../src/pose/index.js');
  const { createPersonMasker } = await import('../src/person-mask/index.js');
  const { setTimeout: sleep } = await import('node:timers/promises');
  // Fake models that read their input only after a random delay (as onnxruntime reads the tensor asynchronously)
  // and, like the real mask runner, answer in one reused buffer.
  const meanOf = (rgb: Uint8Array) => rgb.reduce((s, v) => s + v, 0) / rgb.length / 255;
  const est = await createPoseEstimator({
    runner: {
      id: 'fake', inputSize: 8, provider: 'cpu', release: async () => undefined,
      async run(rgb) {
        await sleep(Math.random() * 5);
        const m = meanOf(rgb);
        return Float32Array.from({ length: 51 }, (_, i) => (i % 3 === 2 ? 0.9 : m));
      },
    },
  });
  const shared = new Float32Array(16);
  const masker = await createPersonMasker({
    feather: 0,
    runner: {
      id: 'fake', inputSize: 8, outputSize: 4, provider: 'cpu', release: async () => undefined,
      async run(rgb) {
        await sleep(Math.random() * 5);
        return shared.fill(meanOf(rgb));
      },
    },
  });
  const frames = [10, 60, 120, 200, 250].map((v) => ({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(v) }));
  const one: number[] = [];
  for (const f of frames) one.push((await est.estimate(f, { region: { x: 0, y: 0, size: 16 } })).keypoints[0].x);
  const all = await Promise.all(frames.map((f) => est.estimate(f, { region: { x: 0, y: 0, size: 16 } })));
  assert.deepEqual(all.map((p) => p.keypoints[0].x), one);
  const pose = all[0];
  const seq: Uint8Array[] = [];
  for (const f of frames) seq.push((await masker.mask(f, pose)).alpha.data);
  const masks = await Promise.all(frames.map((f) => masker.mask(f, pose)));
  masks.forEach((m, i) => assert.deepEqual(m.alpha.data, seq[i], `frame ${i}`));
  // And the answers differ between frames (so a mix-up would show).
  assert.notDeepEqual(seq[0], seq[4]);
});
