/**
 * Pose and person-mask speed (tinybench) and quality on real footage.
 *
 * Speed, per frame, model time plus pre/post-processing (what a pipeline pays):
 *   - MoveNet thunder / lightning on a vtest.avi frame (768x576): letterboxed
 *     whole frame, and the tracking crop around the previous pose;
 *   - BlazePose-full and selfie masks: crop around the pose, model, paste back, feather;
 *   - the pieces alone (resample, paste, feather, model only) to show where time goes.
 * Targets (issue 4): thunder <= 20 ms, BlazePose-full mask <= 25 ms on the 2-core machine.
 *
 * Quality:
 *   - basketball1.png: ankles below knees below hips, all inside the person mask;
 *   - vtest.avi: the tracked walker's ankle scores > 0.3 over the frames where the
 *     feet are in the picture (both predicted ankle points at least 4 px inside the frame).
 *
 *   node --import tsx bench/pose.ts [--threads 2] [--time 3000] [--quality-frames 795] [--skip-quality] [--skip-speed]
 * Writes results/pose-speed.csv and results/pose-quality.json.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { stringify } from 'csv-stringify/sync';
import { Bench } from 'tinybench';
import { loadModel } from '../src/models/index.js';
import { createPersonMasker, featherMask, maskRegionForPose, pasteMask } from '../src/person-mask/index.js';
import {
  createPoseEstimator,
  cropRegionFromPose,
  letterboxRegion,
  readImageFrame,
  resampleRegion,
  trackPoses,
  LEFT_ANKLE,
  RIGHT_ANKLE,
  type PoseFrame,
} from '../src/pose/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.js';
import { packageRoot } from '../src/util/paths.js';
import { decodeFrames } from '../src/video/index.js';
import type { Frame } from '../src/video/types.js';
import { mediaFile } from '../test/helpers.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    time: { type: 'string', default: '3000' },
    'quality-frames': { type: 'string' },
    'skip-quality': { type: 'boolean', default: false },
    'skip-speed': { type: 'boolean', default: false },
  },
});
const threads = Number(values.threads);
const timeMs = Number(values.time);

async function vtestFrame(index: number): Promise<Frame> {
  for await (const f of decodeFrames(mediaFile('vtest.avi'), { start: index, count: 1 })) return f;
  throw new Error('no frame');
}

interface Row { case: string; input: string; mean_ms: number; p50_ms: number; min_ms: number; p99_ms: number; sd_ms: number; samples: number; provider: string; threads: number }

async function timeIt(name: string, input: string, provider: string, fn: () => unknown): Promise<Row> {
  const bench = new Bench({ time: timeMs, warmupTime: 300, throws: true });
  bench.add(name, fn);
  await bench.run();
  const lat = (bench.tasks[0].result as unknown as { latency: { mean: number; p50: number; p99: number; min: number; sd: number; samplesCount: number } }).latency;
  const r = (v: number) => Math.round(v * 100) / 100;
  const row = { case: name, input, mean_ms: r(lat.mean), p50_ms: r(lat.p50), min_ms: r(lat.min), p99_ms: r(lat.p99), sd_ms: r(lat.sd), samples: lat.samplesCount, provider, threads };
  console.log(`${name.padEnd(52)} ${String(row.mean_ms).padStart(8)} ms  (p50 ${row.p50_ms}, min ${row.min_ms}, p99 ${row.p99_ms}, ${row.samples} samples)`);
  return row;
}

async function speed(): Promise<void> {
  const frame = await vtestFrame(100);
  const rows: Row[] = [];
  const input = `vtest.avi frame 100, ${frame.width}x${frame.height}`;
  let pose: PoseFrame | undefined;
  for (const model of ['thunder', 'lightning'] as const) {
    const est = await createPoseEstimator({ model, threads });
    const p = await est.estimate(frame);
    pose ??= p;
    const crop = cropRegionFromPose(p, frame.width, frame.height) ?? letterboxRegion(frame.width, frame.height);
    rows.push(await timeIt(`MoveNet ${model}: letterboxed frame`, input, est.provider, () => est.estimate(frame)));
    rows.push(await timeIt(`MoveNet ${model}: tracking crop`, input, est.provider, () => est.estimate(frame, { region: crop })));
    await est.release();
  }
  // Model alone, for the breakdown.
  const thunder = await loadModel('movenet-thunder', { threads });
  const tin = new ort.Tensor('int32', new Int32Array(256 * 256 * 3), [1, 256, 256, 3]);
  rows.push(await timeIt('  thunder session.run only', '256x256 int32', thunder.provider, () => thunder.session.run({ [thunder.inputNames[0]]: tin })));
  await thunder.release();
  // Pre/post-processing alone: the same estimator and masker code around a model that answers instantly.
  // The fakes do the runners' own input conversion (int32 copy / float scaling), so only session.run is missing.
  const fixedPose = new Float32Array(51);
  const i32 = new Int32Array(256 * 256 * 3);
  const f32 = new Float32Array(256 * 256 * 3);
  const noModel = await createPoseEstimator({
    runner: { id: 'none', inputSize: 256, provider: 'none', run: async (x) => { for (let i = 0; i < i32.length; i++) i32[i] = x[i]; return fixedPose; }, release: async () => undefined },
  });
  rows.push(await timeIt('  thunder pre/post only (no model)', input, 'js', () => noModel.estimate(frame)));
  const region = letterboxRegion(frame.width, frame.height);
  const rgb = new Uint8Array(256 * 256 * 3);
  rows.push(await timeIt('  resample 768x576 -> 256 (letterbox)', input, 'js', () => resampleRegion(frame, region, 256, rgb)));

  for (const model of ['full', 'selfie'] as const) {
    const masker = await createPersonMasker({ model, threads });
    rows.push(await timeIt(`mask ${model}: crop + model + paste + feather`, `${input} + its pose`, masker.provider, () => masker.mask(frame, pose!)));
    await masker.release();
  }
  const fixedMask = new Float32Array(256 * 256).fill(0.7);
  const noMaskModel = await createPersonMasker({ runner: { id: 'none', inputSize: 256, outputSize: 256, provider: 'none', run: async (x) => { for (let i = 0; i < f32.length; i++) f32[i] = x[i] / 255; return fixedMask; }, release: async () => undefined } });
  rows.push(await timeIt('  mask pre/post only (no model: crop, paste, feather)', `${input} + its pose`, 'js', () => noMaskModel.mask(frame, pose!)));
  const bp = await loadModel('blazepose-full', { threads });
  const fin = new ort.Tensor('float32', new Float32Array(256 * 256 * 3), [1, 256, 256, 3]);
  rows.push(await timeIt('  blazepose-full session.run only', '256x256 float', bp.provider, () => bp.session.run({ [bp.inputNames[0]]: fin })));
  await bp.release();
  const mregion = maskRegionForPose(pose!)!;
  const probs = new Float32Array(256 * 256).fill(0.7);
  const pasted = pasteMask(probs, 256, mregion, frame.width, frame.height);
  rows.push(await timeIt('  paste 256x256 mask at frame size', input, 'js', () => pasteMask(probs, 256, mregion, frame.width, frame.height)));
  rows.push(await timeIt('  feather (OpenCV GaussianBlur, region)', input, 'opencv wasm', () => featherMask(pasted, 3.07, mregion)));

  const path = join(packageRoot(), 'results', 'pose-speed.csv');
  await writeFileAtomic(path, stringify(rows, { header: true }), { overwrite: true });
  console.log(`-> ${path} (threads ${threads}; a shared machine is noisy: rerun on a quiet one)`);
}

async function quality(): Promise<void> {
  // basketball1.png (8-bit grayscale PNG): the full-body player.
  const bb = await trackPoses(mediaFile('basketball1.png'), { threads });
  const p = bb.track.frames[0];
  const img = await readImageFrame(mediaFile('basketball1.png'));
  const masker = await createPersonMasker({ threads });
  const m = await masker.mask(img, p);
  await masker.release();
  const k = p.keypoints;
  const y = (i: number) => k[i].y;
  const inside = [11, 12, 13, 14, 15, 16].map((i) => m.alpha.data[Math.round(k[i].y) * img.width + Math.round(k[i].x)] >= 128);
  const basketball = {
    found: p.found,
    hips: [y(11), y(12)], knees: [y(13), y(14)], ankles: [y(15), y(16)],
    anklesBelowKnees: y(15) > y(13) && y(16) > y(14),
    kneesBelowHips: y(13) > y(11) && y(14) > y(12),
    allInsideMask: inside.every(Boolean),
    valid: [11, 12, 13, 14, 15, 16].map((i) => k[i].valid),
  };
  console.log('basketball1:', JSON.stringify(basketball));

  const count = values['quality-frames'] ? Number(values['quality-frames']) : undefined;
  const vt = await trackPoses(mediaFile('vtest.avi'), { threads, count });
  const W = vt.track.source.width;
  const H = vt.track.source.height;
  const inFrame = (kp: { x: number; y: number }) => kp.x >= 4 && kp.x <= W - 5 && kp.y >= 4 && kp.y <= H - 5;
  const frames = vt.track.frames;
  const visible = frames.filter((f) => f.found && inFrame(f.keypoints[LEFT_ANKLE]) && inFrame(f.keypoints[RIGHT_ANKLE]));
  const both = visible.filter((f) => f.keypoints[LEFT_ANKLE].score > 0.3 && f.keypoints[RIGHT_ANKLE].score > 0.3).length;
  const either = visible.filter((f) => f.keypoints[LEFT_ANKLE].score > 0.3 || f.keypoints[RIGHT_ANKLE].score > 0.3).length;
  const left = visible.filter((f) => f.keypoints[LEFT_ANKLE].score > 0.3).length;
  const right = visible.filter((f) => f.keypoints[RIGHT_ANKLE].score > 0.3).length;
  const vtest = {
    frames: frames.length,
    found: frames.filter((f) => f.found).length,
    feetInPicture: visible.length,
    bothAnklesAbove03: both, fractionBoth: both / visible.length,
    eitherAnkleAbove03: either, fractionEither: either / visible.length,
    fractionLeft: left / visible.length, fractionRight: right / visible.length,
    tracking: vt.stats,
    seconds: vt.seconds,
  };
  console.log('vtest:', JSON.stringify(vtest));
  const path = join(packageRoot(), 'results', 'pose-quality.json');
  await writeJsonAtomic(path, { basketball1: basketball, vtest }, { overwrite: true });
  console.log(`-> ${path}`);
}

if (!values['skip-speed']) await speed();
if (!values['skip-quality']) await quality();
