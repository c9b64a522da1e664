import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeFrames, probeVideo } from '../src/video/index.js';
import type { PoseTrack } from '../src/pose/index.js';
import { mediaFile, runCli } from './helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reshoot-cli-pose-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const json = async <T>(p: string): Promise<T> => JSON.parse(await readFile(p, 'utf8')) as T;

test('pose on an image writes a one-frame reshoot.poses/1 track in original pixels', async () => {
  const out = join(dir, 'bb.json');
  const r = await runCli(['pose', mediaFile('basketball1.png'), '-o', out, '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /found in 1\/1 frame/);
  const t = await json<PoseTrack>(out);
  assert.equal(t.schema, 'reshoot.poses/1');
  assert.deepEqual([t.source.width, t.source.height, t.source.frameCount], [640, 480, 1]);
  assert.equal(t.model.id, 'movenet-thunder');
  assert.equal(t.minScore, 0.3);
  assert.equal(t.smoothing, null);
  assert.equal(t.frames[0].keypoints.length, 17);
  for (const k of t.frames[0].keypoints) assert.ok(k.x > -1 && k.x < 640 && k.y > -1 && k.y < 480);
  // Without --overwrite an existing output is refused.
  const again = await runCli(['pose', mediaFile('basketball1.png'), '-o', out]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
});

test('pose on an image without a person says so and marks everything invalid', async () => {
  const out = join(dir, 'graf.json');
  const r = await runCli(['pose', mediaFile('graf1.png'), '-o', out, '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /NO PERSON FOUND/);
  const t = await json<PoseTrack>(out);
  assert.equal(t.frames[0].found, false);
  assert.ok(t.frames[0].keypoints.every((k) => !k.valid));
});

test('pose on a video with --overlay and --smooth: same frame count, smoothing recorded, skeleton drawn', async () => {
  const out = join(dir, 'vt.json');
  const overlay = join(dir, 'vt.mp4');
  const r = await runCli(['pose', mediaFile('vtest.avi'), '-o', out, '--overlay', overlay, '--frames', '12', '--smooth', '--beta', '0.1', '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  const t = await json<PoseTrack>(out);
  assert.equal(t.frames.length, 12);
  assert.deepEqual(t.smoothing, { kind: 'one-euro', minCutoff: 1, beta: 0.1, dCutoff: 1 });
  const info = await probeVideo(overlay);
  assert.deepEqual([info.width, info.height, info.frameCount], [768, 576, 12]);
  // The overlay differs from the source only near the tracked person: magenta ankle discs at the left ankle.
  const src = (await decodeFrames(mediaFile('vtest.avi'), { count: 1 }).next()).value!;
  const drawn = (await decodeFrames(overlay, { count: 1 }).next()).value!;
  const a = t.frames[0].keypoints[15];
  assert.ok(a.valid);
  const o = (Math.round(a.y) * 768 + Math.round(a.x)) * 3;
  assert.ok(drawn.data[o] > 180 && drawn.data[o + 1] < 90 && drawn.data[o + 2] > 180, `ankle pixel ${[...drawn.data.subarray(o, o + 3)]}`);
  const far = (20 * 768 + 20) * 3; // top-left corner: nobody there
  assert.ok(Math.abs(drawn.data[far] - src.data[far]) < 25);
});

test('masks on a video: gray mp4 of the same size and length plus a sidecar with per-frame found flags', async () => {
  const out = join(dir, 'm.mp4');
  const r = await runCli(['masks', mediaFile('vtest.avi'), '-o', out, '--frames', '6', '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  const side = await json<{ schema: string; frames: { index: number; found: boolean; coverage: number }[]; storage: string }>(join(dir, 'm.json'));
  assert.equal(side.schema, 'reshoot.masks/1');
  assert.equal(side.storage, 'mp4');
  assert.equal(side.frames.length, 6);
  assert.ok(side.frames.every((f) => f.found && f.coverage > 0.001 && f.coverage < 0.05), JSON.stringify(side.frames));
  const info = await probeVideo(out);
  assert.deepEqual([info.width, info.height, info.frameCount], [768, 576, 6]);
});

test('masks with --poses reuses a pose track; raw storage is width*height bytes per frame', async () => {
  const poses = join(dir, 'p6.json');
  assert.equal((await runCli(['pose', mediaFile('vtest.avi'), '-o', poses, '--frames', '4', '--threads', '2'])).code, 0);
  const out = join(dir, 'mr.raw');
  const r = await runCli(['masks', mediaFile('vtest.avi'), '-o', out, '--poses', poses, '--frames', '4', '--model', 'selfie', '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  const raw = await readFile(out);
  assert.equal(raw.length, 768 * 576 * 4);
  const side = await json<{ pose: { from: string }; frames: { found: boolean }[] }>(join(dir, 'mr.json'));
  assert.equal(side.pose.from, 'pose track');
});

test('masks on an image without a person: empty PNG mask and found = false', async () => {
  const out = join(dir, 'graf-mask.png');
  const r = await runCli(['masks', mediaFile('graf1.png'), '-o', out, '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /NO PERSON FOUND/);
  const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 800);
  assert.ok(data.every((v) => v === 0));
  const side = await json<{ frames: { found: boolean }[] }>(join(dir, 'graf-mask.json'));
  assert.equal(side.frames[0].found, false);
});

test('bad options and inputs fail with one clear line', async () => {
  const r = await runCli(['pose', mediaFile('graf1.png'), '-o', join(dir, 'x.json'), '--model', 'heavy']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--model must be one of thunder, lightning/);
  const m = await runCli(['masks', join(dir, 'missing.mp4'), '-o', join(dir, 'y.mp4')]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /not found/);
  const bad = await runCli(['masks', mediaFile('vtest.avi'), '-o', join(dir, 'y.avi')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /\.mp4/);
  assert.ok(!existsSync(join(dir, 'x.json')));
});

test('pose tracks every person: tracks with ids and the subject in poses.json; --subject pointing at nobody lists the tracks', async () => {
  const out = join(dir, 'people.json');
  const r = await runCli(['pose', mediaFile('vtest.avi'), '-o', out, '--frames', '6', '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /people +\d+ track\(s\): #1/);
  const t = await json<PoseTrack>(out);
  // vtest.avi's first frames show at least three walkers (looked at by eye: left, middle, right).
  assert.ok(t.tracks!.length >= 3, `${t.tracks!.length} tracks`);
  assert.deepEqual(new Set(t.tracks!.map((x) => x.id)).size, t.tracks!.length);
  assert.equal(t.subject!.rule, 'auto');
  const sub = t.tracks!.find((x) => x.id === t.subject!.id)!;
  // The subject's frames are its track's frames, with found=false elsewhere; 6 frames in all.
  assert.equal(t.frames.length, 6);
  for (const f of sub.frames) assert.deepEqual(t.frames[f.index].keypoints, f.keypoints);
  const bad = await runCli(['pose', mediaFile('vtest.avi'), '-o', join(dir, 'nobody.json'), '--frames', '3', '--subject', '99', '--threads', '2']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--subject 99: no track has that id; tracks found: #1 from frame 0 box x=\d+ y=\d+ \d+x\d+/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  // masks --subject re-selects from the tracks of --poses, with the same error for nobody.
  const m = await runCli(['masks', mediaFile('vtest.avi'), '-o', join(dir, 'mnobody.mp4'), '--poses', out, '--subject', '99']);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /--subject 99: no track has that id; tracks found: #1 from frame 0/);
});

test('a pan over building.jpg (no person): no track, a note, nothing found (MoveNet saw people in windows before)', async () => {
  // 60 frames of a 768x576 window panning across the 868x600 photo, as in the reliability issue's case.
  const { encodeFrames } = await import('../src/video/index.js');
  const img = await sharp(mediaFile('building.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const W = img.info.width, w = 768, h = 576;
  function* pan() {
    for (let i = 0; i < 60; i++) {
      const ox = Math.round(((W - w) * i) / 59), oy = Math.round(((img.info.height - h) * i * 0.3) / 59);
      const data = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) data.set(img.data.subarray(((y + oy) * W + ox) * 3, ((y + oy) * W + ox + w) * 3), y * w * 3);
      yield { width: w, height: h, data };
    }
  }
  const clip = join(dir, 'pan.mp4');
  await encodeFrames(pan(), clip, { fps: { num: 10, den: 1 }, crf: 12 });
  const out = join(dir, 'pan.json');
  const r = await runCli(['pose', clip, '-o', out, '--threads', '2']);
  assert.equal(r.code, 0, r.stderr);
  const t = await json<PoseTrack>(out);
  assert.match(r.stdout, /NO PERSON FOUND/);
  assert.deepEqual(t.tracks, []);
  assert.equal(t.subject!.id, -1);
  assert.match(t.notes!.join(' '), /no person found/);
  assert.equal(t.frames.length, 60);
  assert.equal(t.frames.filter((f) => f.found).length, 0);
});
