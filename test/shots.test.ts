import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { detectShots, ShotDetector, shotsFromCuts, validateShots, shotIndexAt } from '../src/shots/index.js';
import { fetchDatasets, getSynthPreset, synthesizeClip } from '../src/datasets/index.js';
import { decodeFrames, encodeFrames, type Frame } from '../src/video/index.js';
import { isReshootError } from '../src/util/errors.js';
import { mediaFile } from './helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reshoot-shots-'));
});
after(() => rm(dir, { recursive: true, force: true }));

// Megamind.avi: frame 0 is black, frame 1 is the first picture (fade-free start), and the
// hard cuts were found by looking at frames 95-101, 151-157, 197-203 side by side (decoded at
// 240x176, tiled into one strip): 97 -> 98 (the woman -> the man), 153 -> 154 (the man -> the
// woman) and 199 -> 200 (the woman -> the man, close-up). So the new shots start at 1, 98, 154, 200.
const MEGAMIND_CUTS = [1, 98, 154, 200];

test('Megamind.avi: the hard cuts found by eye, from full-size RGB frames and from 320 px gray frames', async () => {
  const file = mediaFile('Megamind.avi');
  const r = await detectShots(file);
  assert.deepEqual(r.cuts, MEGAMIND_CUTS);
  assert.equal(r.shots.length, 5);
  assert.deepEqual(r.shots[2], { start: 98, end: 154 });
  assert.equal(r.shots[4].end, r.scores.length);
  const rgb = new ShotDetector();
  const gray = new ShotDetector();
  for await (const f of decodeFrames(file)) rgb.push(f);
  for await (const f of decodeFrames(file, { gray: true, scale: { width: 320, height: 235 } })) gray.push(f);
  assert.deepEqual(rgb.result().cuts, MEGAMIND_CUTS);
  assert.deepEqual(gray.result().cuts, MEGAMIND_CUTS);
});

test('vtest.avi (static camera, pedestrians): one shot', async () => {
  const r = await detectShots(mediaFile('vtest.avi'));
  assert.deepEqual(r.cuts, []);
  assert.deepEqual(r.shots, [{ start: 0, end: 795 }]);
});

test('synthetic shaky clips (handheld shake, pan, dolly): no cut', async () => {
  for (const name of ['photo-strong-shake', 'vtest-pan-shake', 'photo-dolly-shake']) {
    const spec = getSynthPreset(name, { frames: 40 });
    await fetchDatasets({ ids: [spec.source] });
    const clip = join(dir, `${name}.mp4`);
    await synthesizeClip(spec, clip);
    const r = await detectShots(clip);
    assert.deepEqual(r.cuts, [], `${name}: cuts ${r.cuts}`);
  }
});

test('a montage where every frame is another picture gives one shot per frame', async () => {
  const names = ['building.jpg', 'graf1.png', 'leuvenA.jpg', 'rubberwhale1.png', 'basketball1.png'];
  const pics: Frame[] = [];
  for (const n of names) {
    const { data, info } = await sharp(mediaFile(n)).resize(320, 240, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    pics.push({ width: info.width, height: info.height, data: new Uint8Array(data) });
  }
  // 5 pictures, then the same 5 mirrored: 10 frames, no two neighbours alike.
  const mirrored = pics.map((p) => {
    const d = new Uint8Array(p.data.length);
    for (let y = 0; y < p.height; y++) for (let x = 0; x < p.width; x++) for (let c = 0; c < 3; c++) d[(y * p.width + x) * 3 + c] = p.data[(y * p.width + p.width - 1 - x) * 3 + c];
    return { ...p, data: d };
  });
  const frames = [...pics, ...mirrored.slice(1), mirrored[0]];
  const det = new ShotDetector();
  for (const f of frames) det.push(f);
  const r = det.result();
  assert.equal(r.shots.length, frames.length);
  assert.deepEqual(r.cuts, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // And through a video file (lossy encode, decoded at thumbnail size).
  const clip = join(dir, 'montage.mp4');
  await encodeFrames((async function* () { yield* frames; })(), clip, { fps: { num: 10, den: 1 } });
  assert.equal((await detectShots(clip)).shots.length, frames.length);
});

test('a still frame repeated, then a cut to another still: exactly one cut, at the right frame', () => {
  const a: Frame = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(40) };
  const b: Frame = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(200) };
  const det = new ShotDetector();
  for (let t = 0; t < 12; t++) det.push(t < 7 ? a : b);
  assert.deepEqual(det.result().cuts, [7]);
  assert.deepEqual(det.result().shots, [{ start: 0, end: 7 }, { start: 7, end: 12 }]);
});

test('helpers: shotsFromCuts, validateShots, shotIndexAt; bad input is a ReshootError', () => {
  assert.deepEqual(shotsFromCuts([5, 2, 9], 12), [{ start: 0, end: 2 }, { start: 2, end: 5 }, { start: 5, end: 9 }, { start: 9, end: 12 }]);
  assert.deepEqual(shotsFromCuts([], 3), [{ start: 0, end: 3 }]);
  assert.equal(shotIndexAt(shotsFromCuts([5, 2, 9], 12), 0), 0);
  assert.equal(shotIndexAt(shotsFromCuts([5, 2, 9], 12), 5), 2);
  assert.equal(shotIndexAt(shotsFromCuts([5, 2, 9], 12), 11), 3);
  validateShots([{ start: 0, end: 4 }, { start: 4, end: 6 }], 6);
  assert.throws(() => validateShots([{ start: 0, end: 4 }, { start: 5, end: 6 }], 6), (e) => isReshootError(e) && /expected a non-empty shot starting at frame 4/.test(e.message));
  assert.throws(() => validateShots([{ start: 0, end: 4 }], 6), (e) => isReshootError(e) && /cover frames \[0, 4\) but the clip has 6/.test(e.message));
  const det = new ShotDetector();
  det.push({ width: 4, height: 4, data: new Uint8Array(16) });
  assert.throws(() => det.push({ width: 4, height: 4, data: new Uint8Array(48) }), (e) => isReshootError(e) && /earlier frames were 4x4x1/.test(e.message));
  assert.throws(() => det.push({ width: 4, height: 4, data: new Uint8Array(7) }), (e) => isReshootError(e) && /expected 4x4 gray or RGB/.test(e.message));
  assert.throws(() => new ShotDetector({ ratio: 0.5 }), (e) => isReshootError(e) && /ratio must be a number >= 1/.test(e.message));
});
