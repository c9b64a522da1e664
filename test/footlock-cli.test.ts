import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCli } from './helpers.js';
import { generateGait, locateMarker, renderGaitFrame, type GaitTrack } from '../src/datasets/index.js';
import { decodeAll, encodeFrames, probeVideo } from '../src/video/index.js';
import { footSliding } from '../src/metrics/index.js';
import type { PoseTrack } from '../src/pose/types.js';

const W = 320, H = 240, N = 60, BODY = 150;
let dir = '';
let g: GaitTrack;
// Generator-drift stand-in: the person layer of the "generated" clip drifts 0.35 px/frame right and wobbles.
const drift = Array.from({ length: N }, (_, t) => ({ x: 0.35 * t, y: 1.5 * Math.sin(t / 10) }));

const shifted = (tr: PoseTrack): PoseTrack => ({
  ...tr,
  frames: tr.frames.map((f, t) => ({ ...f, keypoints: f.keypoints.map((k) => ({ ...k, x: k.x + drift[t].x, y: k.y + drift[t].y })) })),
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reshoot-footlock-cli-'));
  g = generateGait({ seed: 8, width: W, height: H, bodyHeight: BODY, frames: N, speed: 0.6, noise: 0.004, shake: { rms: 0, cutoffHz: 1 } });
  const fps = { num: 30, den: 1 };
  const orig = [], drifted = [], masks = [];
  for (let t = 0; t < N; t++) {
    orig.push(renderGaitFrame(g, t).frame);
    const r = renderGaitFrame(g, t, drift[t]);
    drifted.push(r.frame);
    masks.push({ width: W, height: H, data: Uint8Array.from({ length: W * H * 3 }, (_, i) => r.mask.data[(i / 3) | 0]) });
  }
  await encodeFrames(orig, join(dir, 'original.mp4'), { fps, crf: 10 });
  await encodeFrames(drifted, join(dir, 'drifted.mp4'), { fps, crf: 10 });
  await encodeFrames(masks, join(dir, 'masks.mp4'), { fps, crf: 10 });
  const plate = renderGaitFrame(g, 0, undefined, false).frame;
  await sharp(plate.data, { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(dir, 'plate.png'));
  await writeFile(join(dir, 'poses.json'), JSON.stringify(g.track));
  // What re-detection on the drifted clip would report: the same estimator-like track, drifted.
  await writeFile(join(dir, 'drifted.poses.json'), JSON.stringify(shifted(g.track)));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function markerSliding(file: string, withDrift: boolean) {
  const frames = await decodeAll(file);
  const feet = (['left', 'right'] as const).map((foot, i) => ({
    position: frames.map((f, t) => {
      const p = g.truth[foot][t];
      return locateMarker(f, foot, { x: p.x + (withDrift ? drift[t].x : 0), y: p.y + (withDrift ? drift[t].y : 0) }, 0.12 * BODY);
    }),
    contact: [g.contacts.left, g.contacts.right][i],
  }));
  return footSliding(feet, { fps: 30, bodyHeight: BODY });
}

test('cli contacts: writes contacts.json with one decision per foot and frame, refuses to overwrite', async () => {
  const out = join(dir, 'contacts.json');
  const r = await runCli(['contacts', join(dir, 'poses.json'), '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /left\s+\d+ contacts/);
  const c = JSON.parse(await readFile(out, 'utf8'));
  assert.equal(c.schema, 'reshoot.contacts/1');
  assert.equal(c.feet.left.contact.length, N);
  assert.ok(c.feet.right.spans.length >= 2);
  const again = await runCli(['contacts', join(dir, 'poses.json'), '-o', out]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already exists/);
  const bad = await runCli(['contacts', join(dir, 'plate.png'), '-o', join(dir, 'x.json')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^reshoot: .*(JSON|pose track)/);
});

test('cli footlock (end-to-end on a rendered synthetic clip): a known slow drift of the person layer is locked back close to the original sliding', async () => {
  const out = join(dir, 'locked.mp4');
  const plan = join(dir, 'plan.json');
  const r = await runCli([
    'footlock', join(dir, 'drifted.mp4'), '--poses', join(dir, 'poses.json'), '--mask', join(dir, 'masks.mp4'), '--plate', join(dir, 'plate.png'),
    '--ankles', 'redetect', '--redetected', join(dir, 'drifted.poses.json'), '--plan', plan, '-o', out,
  ], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await probeVideo(out)).frameCount, N);
  const p = JSON.parse(await readFile(plan, 'utf8'));
  assert.equal(p.frames.length, N);
  const original = await markerSliding(join(dir, 'original.mp4'), false);
  const drifted = await markerSliding(join(dir, 'drifted.mp4'), true);
  const locked = await markerSliding(out, true);
  // The drift is 0.35 px/frame; strength 0.7 leaves 30 % of it (~0.1 px/frame) plus the lock's own error.
  assert.ok(drifted.meanPx > 0.3, `drifted ${drifted.meanPx}`);
  assert.ok(original.meanPx < 0.1, `original ${original.meanPx}`);
  assert.ok(locked.meanPx < 0.55 * drifted.meanPx, `locked ${locked.meanPx} vs drifted ${drifted.meanPx}`);
  assert.ok(locked.meanPx - original.meanPx < 0.15, `locked ${locked.meanPx} vs original ${original.meanPx}`);
  assert.ok(locked.p95Px <= 0.5, `p95 ${locked.p95Px}`);
});

test('cli footlock: bad arguments are one-line errors', async () => {
  const base = ['footlock', join(dir, 'drifted.mp4'), '--poses', join(dir, 'poses.json'), '-o', join(dir, 'never.mp4')];
  for (const [extra, msg] of [
    [['--strength', '2'], /--strength must be between 0 and 1/],
    [['--ankles', 'psychic'], /--ankles must be driving or redetect/],
    [['--plate', join(dir, 'plate.png')], /--plate needs --mask/],
    [['--redetected', join(dir, 'poses.json')], /--redetected is the pose track/],
  ] as const) {
    const r = await runCli([...base, ...extra]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  assert.ok(!existsSync(join(dir, 'never.mp4')));
});
