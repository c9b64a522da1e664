/**
 * `reshoot export --format wan-animate` against Wan2.2-Animate's own conventions. The expected numbers
 * are copied from the model's source (Wan-Video/Wan2.2, paths given at each) or worked out by hand from it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  cocoToOpenPose,
  drawOpenPose,
  OPENPOSE_COLORS,
  OPENPOSE_LIMBS,
  roundHalfEven,
  wanAnimateSize,
  wanClipPlan,
  wanFaceBox,
  wanFrameIndices,
  wanLetterbox,
  wanMask,
} from '../src/generate/wan-animate/index.js';
import { loadOpenCV } from '../src/cv/opencv.js';
import type { PoseFrame } from '../src/pose/types.js';
import { decodeAll, probeVideo, resolveFfmpeg } from '../src/video/index.js';
import { mediaFile, runCli } from './helpers.js';

// wan/modules/animate/preprocess/human_visualization.py, draw_aapose_new: `limbSeq` (1-based) and `colors`.
const WAN_LIMB_SEQ = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13], [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [14, 19], [11, 20]];
const WAN_COLORS = [
  [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255],
  [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85], [200, 200, 0], [100, 100, 0],
];

test('limb order and colours are the ones in Wan\'s human_visualization.py', () => {
  assert.deepEqual(OPENPOSE_LIMBS.map(([a, b]) => [a + 1, b + 1]), WAN_LIMB_SEQ);
  assert.deepEqual(OPENPOSE_COLORS.map((c) => [...c]), WAN_COLORS);
});

function pose(points: Record<number, [number, number]>): PoseFrame {
  const keypoints = Array.from({ length: 17 }, (_, i) => (points[i] ? { x: points[i][0], y: points[i][1], score: 0.9, valid: true } : { x: 0, y: 0, score: 0.1, valid: false }));
  return { index: 0, found: true, keypoints, score: 0.9 } as unknown as PoseFrame;
}

test('pose image: limb pixels are 0.6 x the limb colour, joints their own colour, neck between the shoulders', async () => {
  const cv = await loadOpenCV();
  // COCO 5 = left shoulder, 6 = right shoulder, 8 = right elbow.
  const p = pose({ 5: [160, 100], 6: [100, 100], 8: [100, 170] });
  const op = cocoToOpenPose(p);
  assert.deepEqual([op[1].x, op[1].y], [130, 100], 'Neck = mid-shoulders');
  assert.equal(op[18].p, 0, 'no toes in COCO-17');
  const img = drawOpenPose(cv, op, 400, 300);
  const px = (x: number, y: number) => [...img.data.subarray((y * 400 + x) * 3, (y * 400 + x) * 3 + 3)];
  // Limb RShoulder-RElbow is limbSeq [3, 4] = colour index 2, [255, 170, 0]: filled as int(c * 0.6) = [153, 102, 0].
  assert.deepEqual(px(100, 135), [153, 102, 0]);
  // Limb Neck-RShoulder ([2, 3], colour 0 [255, 0, 0]) -> [153, 0, 0] at (115, 100).
  assert.deepEqual(px(115, 100), [153, 0, 0]);
  // Joint RElbow (index 3) is a disc of colour 3 [255, 255, 0]; Neck (index 1) of colour 1 [255, 85, 0].
  assert.deepEqual(px(100, 170), [255, 255, 0]);
  assert.deepEqual(px(130, 100), [255, 85, 0]);
  // Stick width max(int(min(H, W) / 200) - 1, 1) = 1 at 400x300: 4 px beside the limb is black.
  assert.deepEqual(px(104, 135), [0, 0, 0]);
});

test('size rule, letterbox and fps resampling as Wan computes them', () => {
  // resize_by_area's except branch: h = sqrt(921600 / (4/3)) = 831.4 -> 816, w = 921600 / 831.4 = 1108.5 -> 1104.
  assert.deepEqual(wanAnimateSize(768, 576), { width: 1104, height: 816 });
  assert.deepEqual(wanAnimateSize(1920, 1080), { width: 1280, height: 720 });
  assert.deepEqual(wanAnimateSize(322, 242, 320 * 240), { width: 304, height: 240 });
  for (const [w, h] of [[768, 576], [1920, 1080], [1080, 1920], [640, 360]]) {
    const s = wanAnimateSize(w, h);
    assert.equal(s.width % 16, 0);
    assert.equal(s.height % 16, 0);
    assert.ok(s.width * s.height <= 1280 * 720);
  }
  // padding_resize(768x576 into 1104x816): 576/768 = 0.75 > 816/1104 = 0.739, so new_width = int(816/576*768) = 1088, padding int(16/2) = 8.
  assert.deepEqual(wanLetterbox(768, 576, 1104, 816), { width: 1104, height: 816, x: 8, y: 0, innerWidth: 1088, innerHeight: 816 });
  // 10 fps -> 30: target_num = int(20 / 10 * 30) = 60; index round(k / 30 * 10).
  const idx = wanFrameIndices(20, 10, 30);
  assert.equal(idx.length, 60);
  assert.deepEqual(idx.slice(0, 8), [0, 0, 1, 1, 1, 2, 2, 2]);
  assert.equal(idx[59], 19);
  // np.round is half-to-even: 25 -> 30 fps, k = 3 gives 2.5 -> 2, k = 9 gives 7.5 -> 8.
  assert.deepEqual([roundHalfEven(2.5), roundHalfEven(7.5), roundHalfEven(2.4)], [2, 8, 2]);
  assert.equal(wanFrameIndices(100, 25, 30)[3], 2);
  assert.equal(wanFrameIndices(100, 25, 30)[9], 8);
});

test('clip plan: 4n+1 clips stepping by clip_len - refert_num, padded as get_valid_len', () => {
  // 150 frames, refert 5: step 72, (150 - 5) % 72 = 1, extra 71 -> 221; clips at 0, 72, 144.
  const p = wanClipPlan(150, 5, 77);
  assert.equal(p.targetLength, 221);
  assert.deepEqual(p.clips.map((c) => [c.start, c.end, c.guide]), [[0, 77, 0], [72, 149, 5], [144, 221, 5]]);
  for (const c of p.clips) assert.equal((c.end - c.start - 1) % 4, 0, '4n+1');
  const q = wanClipPlan(60, 1, 77);
  assert.equal(q.targetLength, 77);
  assert.equal(q.clips.length, 1);
  assert.throws(() => wanClipPlan(60, 77, 77), /--refert-num must be 1 or 5/);
  assert.throws(() => wanClipPlan(60, 1, 78), /--clip-len must be 4n\+1/);
});

test('face box: area x 1.3, width grown evenly, 3/4 of the height growth above (get_face_bboxes)', () => {
  // 40 x 40 box: area 1600 * 1.3 = 2080, side sqrt(2080) = 45.61; dw = 2.80, dh = 1.40 -> y1 = 100 - 4.21.
  assert.deepEqual(wanFaceBox({ minX: 100, minY: 100, maxX: 140, maxY: 140 }, 1.3, 1000, 1000), [97, 142, 95, 141]);
});

test('mask: person = 255, dilated and filled to its bounding box', async () => {
  const cv = await loadOpenCV();
  const a = { width: 60, height: 60, data: new Uint8Array(3600) };
  a.data[30 * 60 + 30] = 255; // one person pixel
  a.data[40 * 60 + 20] = 255;
  const m = wanMask(cv, a);
  // Dilated 3 times with 7x7: +-9 px; box [11, 39] x [21, 49], filled on [x_min, x_max) x [y_min, y_max).
  assert.equal(m.data[30 * 60 + 30], 255);
  assert.equal(m.data[45 * 60 + 35], 255, 'inside the box, outside either dilated square (x 21..39 y 21..39; x 11..29 y 31..49)');
  assert.equal(m.data[5 * 60 + 5], 0);
  assert.equal(m.data[30 * 60 + 45], 0, 'right of the box');
});

const dir = mkdtempSync(join(tmpdir(), 'wan-export-'));
const clip = join(dir, 'clip.mp4');
before(() => {
  // 20 frames of the real vtest.avi walkers at 320x240, 10 fps.
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', mediaFile('vtest.avi'), '-frames:v', '20', '-vf', 'scale=320:240', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', clip]);
});

test('export writes the five files at 30 fps, the Wan size, mask polarity that matches the background and the pose', async () => {
  const out = join(dir, 'exp');
  const r = await runCli(['export', clip, '--format', 'wan-animate', '-o', out, '--refert-num', '5', '--area', '320x240', '--preset', 'fast', '--segments', '2'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(readFileSync(join(out, 'reshoot-export.json'), 'utf8'));
  // The canvas (stabilized, a little larger than 320x240) under the 320*240 area: 16-multiples, aspect kept.
  const { width: W, height: H } = m.wan;
  assert.equal(W % 16, 0);
  assert.equal(H % 16, 0);
  assert.ok(W * H <= 320 * 240);
  assert.ok(Math.abs(m.wan.letterbox.innerWidth / m.wan.letterbox.innerHeight - m.canvas.width / m.canvas.height) < 0.02);
  assert.equal(m.wan.frames, 60, '20 frames at 10 fps = 2 s = 60 frames at 30 fps');
  assert.equal(m.clipPlan.refertNum, 5);
  for (const c of m.clipPlan.clips) assert.equal((c.end - c.start - 1) % 4, 0);
  for (const [name, w, h] of [['src_pose.mp4', W, H], ['src_bg.mp4', W, H], ['src_mask.mp4', W, H], ['src_face.mp4', 512, 512]] as const) {
    const info = await probeVideo(join(out, name));
    assert.deepEqual([info.width, info.height], [w, h], name);
    assert.equal(info.fps.num / info.fps.den, 30, `${name} fps`);
    assert.equal(info.frameCount, 60, `${name} frames`);
  }
  const k = 30;
  const [mask] = await decodeAll(join(out, 'src_mask.mp4'), { start: k, count: 1 });
  const [bg] = await decodeAll(join(out, 'src_bg.mp4'), { start: k, count: 1 });
  const [poseImg] = await decodeAll(join(out, 'src_pose.mp4'), { start: k, count: 1 });
  let white = 0;
  let bgDarkInWhite = 0;
  let poseInWhite = 0;
  let posePixels = 0;
  let x0 = W, x1 = 0, y0 = H, y1 = 0;
  for (let i = 0; i < W * H; i++) {
    const isWhite = mask.data[3 * i] > 200;
    if (isWhite) {
      white++;
      if (bg.data[3 * i] + bg.data[3 * i + 1] + bg.data[3 * i + 2] < 60) bgDarkInWhite++;
      x0 = Math.min(x0, i % W); x1 = Math.max(x1, i % W); y0 = Math.min(y0, Math.floor(i / W)); y1 = Math.max(y1, Math.floor(i / W));
    }
    if (Math.max(poseImg.data[3 * i], poseImg.data[3 * i + 1], poseImg.data[3 * i + 2]) > 80) {
      posePixels++;
      if (isWhite) poseInWhite++;
    }
  }
  assert.ok(white > 50 && white < 0.3 * W * H, `the person is a small white region (${white} px of ${W * H})`);
  assert.ok(bgDarkInWhite / white > 0.95, `background is black where the mask is white (${bgDarkInWhite}/${white})`);
  assert.ok(posePixels > 10, 'a skeleton is drawn');
  assert.ok(poseInWhite / posePixels > 0.9, `the skeleton (pose model) lies inside the white mask (segmentation): ${poseInWhite}/${posePixels}`);
  // The white region is one filled box (get_aug_mask with w_len = h_len = 1).
  assert.ok(white >= 0.9 * (x1 - x0 + 1) * (y1 - y0 + 1), 'box-filled');
});

test('export refuses a missing --refert-num, a bad one, segments that do not fit, and a non-empty folder, each in one line', async () => {
  const out = join(dir, 'exp2');
  let r = await runCli(['export', clip, '--format', 'wan-animate', '-o', out]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--refert-num 1\|5 is required/);
  r = await runCli(['export', clip, '--format', 'wan-animate', '-o', out, '--refert-num', '77']);
  assert.match(r.stderr, /--refert-num must be 1 or 5/);
  // process's own checks run first: 20 frames do not fit the default 3 segments (finish would fail later).
  r = await runCli(['export', clip, '--format', 'wan-animate', '-o', out, '--refert-num', '1']);
  assert.match(r.stderr, /20 frames are too few for 3 segments/);
  r = await runCli(['export', clip, '--format', 'other', '-o', out, '--refert-num', '1']);
  assert.match(r.stderr, /--format must be one of wan-animate/);
  r = await runCli(['export', clip, '--format', 'wan-animate', '-o', join(dir, 'exp'), '--refert-num', '1']);
  assert.match(r.stderr, /is not empty \(pass --overwrite/);
  for (const s of [r.stderr]) assert.equal(s.trim().split('\n').length, 1);
});
