/**
 * Pose and masks with the real models (MoveNet, BlazePose-full, selfie via
 * src/models) on real images and video: geometry that must hold for a
 * full-body person, the bad inputs (no person, tiny person, grayscale), and
 * the ankle-score target on vtest.avi.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createPersonMasker, type PersonMasker } from '../src/person-mask/index.js';
import {
  createPoseEstimator,
  cropRegionFromPose,
  PoseTracker,
  readImageFrame,
  trackPoses,
  LEFT_ANKLE,
  RIGHT_ANKLE,
  type PoseEstimator,
  type PoseFrame,
} from '../src/pose/index.js';
import type { Frame } from '../src/video/types.js';
import { mediaFile } from './helpers.js';

let est: PoseEstimator;
let masker: PersonMasker;
before(async () => {
  est = await createPoseEstimator({ model: 'thunder', threads: 2 });
  masker = await createPersonMasker({ model: 'full', threads: 2 });
});
after(async () => {
  await est?.release();
  await masker?.release();
});

async function trackImage(frame: Frame): Promise<PoseFrame> {
  return new PoseTracker(est, { fps: 1 }).next(frame);
}

test('grayscale PNG is read as RGB with three equal channels', async () => {
  const f = await readImageFrame(mediaFile('basketball1.png')); // 8-bit grayscale
  const meta = await sharp(mediaFile('basketball1.png')).metadata();
  assert.equal(meta.channels, 1);
  assert.equal(f.data.length, f.width * f.height * 3);
  for (let i = 0; i < f.data.length; i += 3 * 997) assert.ok(f.data[i] === f.data[i + 1] && f.data[i] === f.data[i + 2]);
});

test('basketball1: ankles below knees below hips, all six inside the BlazePose-full mask', async () => {
  const f = await readImageFrame(mediaFile('basketball1.png'));
  const p = await trackImage(f);
  assert.equal(p.found, true);
  const k = p.keypoints;
  for (const i of [11, 12, 13, 14, 15, 16]) assert.ok(k[i].valid, `keypoint ${i} score ${k[i].score}`);
  assert.ok(k[15].y > k[13].y && k[16].y > k[14].y, 'ankles below knees');
  assert.ok(k[13].y > k[11].y && k[14].y > k[12].y, 'knees below hips');
  // The player stands at the left, feet near the bottom edge (visible in the image: x < 200, feet at y > 420).
  assert.ok(k[15].x < 200 && k[16].x < 200 && k[15].y > 420 && k[16].y > 420, `ankles at (${k[15].x}, ${k[15].y}), (${k[16].x}, ${k[16].y})`);
  const m = await masker.mask(f, p);
  assert.equal(m.found, true);
  for (const i of [11, 12, 13, 14, 15, 16]) {
    const a = m.alpha.data[Math.round(k[i].y) * f.width + Math.round(k[i].x)];
    assert.ok(a >= 128, `keypoint ${i} alpha ${a}`);
  }
  // The other man (right half, x > 450) is not in this mask; the wall between them (x 250-400, y 100-300) neither.
  let right = 0;
  let wall = 0;
  for (let y = 100; y < 300; y++) {
    for (let x = 460; x < 640; x++) right += m.alpha.data[y * f.width + x] >= 128 ? 1 : 0;
    for (let x = 250; x < 400; x++) wall += m.alpha.data[y * f.width + x] >= 128 ? 1 : 0;
  }
  assert.equal(right, 0);
  assert.equal(wall, 0);
});

test('keypoints from the letterboxed frame and from a crop agree (the two mappings are consistent)', async () => {
  const f = await readImageFrame(mediaFile('basketball1.png'));
  const full = await est.estimate(f);
  const crop = cropRegionFromPose(full, f.width, f.height)!;
  const close = await est.estimate(f, { region: crop });
  const d = full.keypoints
    .map((k, i) => (k.valid && close.keypoints[i].valid ? Math.hypot(k.x - close.keypoints[i].x, k.y - close.keypoints[i].y) : NaN))
    .filter((v) => !Number.isNaN(v))
    .sort((a, b) => a - b);
  assert.ok(d.length >= 10);
  // One model pixel at letterbox scale is 2.5 image pixels; a wrong mapping (swapped x/y, missing offset) is off by tens.
  assert.ok(d[Math.floor(d.length / 2)] < 6, `median distance ${d[Math.floor(d.length / 2)]}`);
});

test('no person: found = false, no box, every keypoint invalid, empty mask', async () => {
  for (const name of ['graf1.png', 'building.jpg']) {
    const f = await readImageFrame(mediaFile(name));
    const p = await trackImage(f);
    assert.equal(p.found, false, name);
    assert.equal(p.box, null);
    assert.ok(p.keypoints.every((k) => !k.valid));
    const m = await masker.mask(f, p);
    assert.equal(m.found, false);
    assert.ok(m.alpha.data.every((v) => v === 0));
  }
});

async function pastedPlayer(height: number): Promise<{ frame: Frame; top: number; left: number; width: number }> {
  // The full-body player of basketball1 (x 20-180, y 70-480), scaled to `height` px, on a 1280x720 gray canvas.
  const player = await sharp(mediaFile('basketball1.png')).extract({ left: 20, top: 70, width: 160, height: 410 }).resize({ height }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const left = 700;
  const top = 400;
  const data = await sharp({ create: { width: 1280, height: 720, channels: 3, background: { r: 120, g: 120, b: 120 } } })
    .composite([{ input: player.data, raw: { width: player.info.width, height: player.info.height, channels: 3 }, left, top }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return { frame: { width: 1280, height: 720, data: new Uint8Array(data) }, top, left, width: player.info.width };
}

test('tiny person: 120 px tall in 1280x720 is found by the tile search with ankles at the feet; 50 px is reported not found', async () => {
  const big = await pastedPlayer(120);
  const p = await trackImage(big.frame);
  assert.equal(p.found, true);
  const k = p.keypoints;
  // Feet are at the bottom of the pasted 120 px player (y 400..520), ankles a few px above.
  for (const i of [LEFT_ANKLE, RIGHT_ANKLE]) {
    assert.ok(k[i].valid && k[i].y > 495 && k[i].y < 525, `ankle ${i} at y ${k[i].y}`);
    assert.ok(k[i].x > big.left - 5 && k[i].x < big.left + big.width + 5);
  }
  assert.ok(k[13].y < k[15].y && k[11].y < k[13].y);
  const small = await pastedPlayer(50);
  const q = await trackImage(small.frame);
  assert.equal(q.found, false);
  assert.ok(q.keypoints.every((kp) => !kp.valid));
});

test('vtest.avi: the tracked walker has both ankle scores > 0.3 in most frames with the feet in the picture', async () => {
  const r = await trackPoses(mediaFile('vtest.avi'), { estimator: est, count: 120 });
  const { width: W, height: H } = r.track.source;
  const inFrame = (kp: { x: number; y: number }) => kp.x >= 4 && kp.x <= W - 5 && kp.y >= 4 && kp.y <= H - 5;
  const visible = r.track.frames.filter((f) => f.found && inFrame(f.keypoints[LEFT_ANKLE]) && inFrame(f.keypoints[RIGHT_ANKLE]));
  const good = visible.filter((f) => f.keypoints[LEFT_ANKLE].score > 0.3 && f.keypoints[RIGHT_ANKLE].score > 0.3);
  assert.ok(visible.length >= 100, `feet in the picture in ${visible.length}/120 frames`);
  assert.ok(good.length / visible.length > 0.5, `${good.length}/${visible.length}`);
  // Tracking mostly follows the crop (one acquisition, few fallbacks).
  assert.ok(r.stats.crop >= 100, JSON.stringify(r.stats));
  assert.equal(r.track.frames.length, 120);
  assert.deepEqual(r.track.frames.map((f) => f.index), Array.from({ length: 120 }, (_, i) => i));
});

test('selfie masks the basketball player too (coarser), and a pose with no person gives an empty mask', async () => {
  const f = await readImageFrame(mediaFile('basketball1.png'));
  const p = await trackImage(f);
  const selfie = await createPersonMasker({ model: 'selfie', threads: 2, feather: 0 });
  try {
    const m = await selfie.mask(f, p);
    const hip = m.alpha.data[Math.round(p.keypoints[11].y) * f.width + Math.round(p.keypoints[11].x)];
    assert.ok(hip >= 128, `hip alpha ${hip}`);
    const none = await selfie.mask(f, null);
    assert.equal(none.found, false);
    assert.ok(none.alpha.data.every((v) => v === 0));
  } finally {
    await selfie.release();
  }
});
