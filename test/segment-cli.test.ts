import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeFrames, probeVideo, type Frame } from '../src/video/index.js';
import { validatePlan, type SegmentPlan } from '../src/segment/index.js';
import { syntheticGenerateSegment } from '../src/generate/synthetic.js';
import { mediaFile, runCli } from './helpers.js';

let dir: string;
let clean: Frame[];
const N = 40;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reshoot-seg-cli-'));
  const { data, info } = await sharp(mediaFile('building.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const w = 128, h = 96;
  clean = Array.from({ length: N }, (_, t) => {
    // Moves 2 px per frame for the first half, then holds still (a quiet stretch for the planner).
    const x0 = 30 + 2 * Math.min(t, 20), y0 = 30;
    const d = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = data[((y0 + y) * info.width + x0 + x) * 3 + c];
    return { width: w, height: h, data: d };
  });
  await encodeFrames(clean, join(dir, 'input.mp4'), { fps: { num: 10, den: 1 } });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('segments -> synthetic segment clips -> blend -> temporal -> metrics flicker, end to end through the CLI', async () => {
  const input = join(dir, 'input.mp4');
  const planPath = join(dir, 'plan.json');
  const seg = await runCli(['segments', input, '--count', '2', '--overlap', '4', '-o', planPath]);
  assert.equal(seg.code, 0, seg.stderr);
  assert.match(seg.stdout, /planned 2 segment/);
  const plan: SegmentPlan = validatePlan(JSON.parse(await readFile(planPath, 'utf8')));
  assert.equal(plan.frameCount, N);
  assert.equal(plan.energySource, 'flow-residual');
  assert.equal(plan.energy.length, N);

  // Refuses to overwrite.
  const again = await runCli(['segments', input, '-o', planPath]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already exists/);

  // Segment clips from the synthetic generator, each with its own random state.
  const segPaths: string[] = [];
  for (const s of plan.segments) {
    const p = join(dir, `seg${s.index}.mp4`);
    await encodeFrames(syntheticGenerateSegment(clean.slice(s.start, s.end), s.index, { seed: 9, firstFrame: s.start }), p, { fps: { num: 10, den: 1 } });
    segPaths.push(p);
  }
  const joined = join(dir, 'joined.mp4');
  const bl = await runCli(['blend', ...segPaths, '--plan', planPath, '-o', joined, '--ramp', 'cosine']);
  assert.equal(bl.code, 0, bl.stderr);
  assert.match(bl.stdout, /seam 0/);
  assert.equal((await probeVideo(joined)).frameCount, N);

  const bad = await runCli(['blend', segPaths[0], '--plan', planPath, '-o', join(dir, 'x.mp4')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /2 segments but 1/);
  assert.equal(existsSync(join(dir, 'x.mp4')), false);

  const out = join(dir, 'temporal.mp4');
  const tc = await runCli(['temporal', joined, '--guide', input, '--plan', planPath, '--carry', '-o', out]);
  assert.equal(tc.code, 0, tc.stderr);
  assert.equal((await probeVideo(out)).frameCount, N);

  const m = await runCli(['metrics', 'flicker', out, '--input', input, '--raw', joined, '--plan', planPath, '--json', '--flow-scale', '0.5']);
  assert.equal(m.code, 0, m.stderr);
  const report = JSON.parse(m.stdout);
  const m0 = await runCli(['metrics', 'flicker', joined, '--input', input, '--plan', planPath, '--json', '--flow-scale', '0.5']);
  const raw = JSON.parse(m0.stdout);
  // The consistency stage lowers the warping error of the synthetic generator's output.
  assert.ok(report.eWarp.ratio < raw.eWarp.ratio, `E_warp ratio ${raw.eWarp.ratio} -> ${report.eWarp.ratio}`);
  assert.equal(report.seams.length, 1);
  assert.ok(report.fidelity.raw.psnr > 25);

  const text = await runCli(['metrics', 'flicker', input, '--input', input, '--frames', '6']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /ratio 1\.000/);
});

test('temporal refuses clips of different lengths', async () => {
  const short = join(dir, 'short.mp4');
  await encodeFrames(clean.slice(0, 10), short, { fps: { num: 10, den: 1 } });
  const r = await runCli(['temporal', short, '--guide', join(dir, 'input.mp4'), '-o', join(dir, 't2.mp4')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /10 frames but its guide/);
});

test('segments --poses: motion energy from the pose-box speed; the cut moves to where the person stands still', async () => {
  // 60 frames: the box walks 6 px/frame except frames 15-24 (still) and 40-49 (still). Uniform cuts at 20 and 40.
  let x = 0;
  const frames = Array.from({ length: 60 }, (_, i) => {
    if (!((i >= 15 && i < 25) || (i >= 40 && i < 50)) && i > 0) x += 6;
    return { index: i, found: true, keypoints: [], box: { x, y: 10, width: 40, height: 100 }, score: 0.9 };
  });
  const posesPath = join(dir, 'poses.json');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(posesPath, JSON.stringify({ schema: 'reshoot.poses/1', frames }));
  // The input video has 40 frames: the pose track's first 40 are used. Uniform cuts for 2 segments: 20.
  const planPath = join(dir, 'plan-poses.json');
  const r = await runCli(['segments', join(dir, 'input.mp4'), '--count', '2', '--poses', posesPath, '-o', planPath]);
  assert.equal(r.code, 0, r.stderr);
  const plan: SegmentPlan = validatePlan(JSON.parse(await readFile(planPath, 'utf8')));
  assert.equal(plan.energySource, 'pose-box-speed');
  assert.equal(plan.method, 'motion');
  // Still from frame 15 to 24 (speed 0 for frames 15..24): the boundary lands inside that stretch.
  assert.ok(plan.boundaries[0] >= 15 && plan.boundaries[0] <= 24, `boundary ${plan.boundaries[0]}`);

  const bad = await runCli(['blend', join(dir, 'input.mp4'), '--plan', planPath, '-o', join(dir, 'y.mp4'), '--ramp', 'sigmoid']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--ramp must be one of/);
  const notPlan = await runCli(['blend', join(dir, 'input.mp4'), '--plan', posesPath, '-o', join(dir, 'y.mp4')]);
  assert.notEqual(notPlan.code, 0);
  assert.match(notPlan.stderr, /not a reshoot segment plan/);
});
