import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile, ROOT, runCli } from './helpers.js';
import { decomposeVideo, fillPersonBox, peopleBoxes, stabilizerMaskFor } from '../src/decompose/index.js';
import { splitTracksAtCuts, type PeopleTracks } from '../src/pose/people.js';
import { readPoseTrack, trackPoses } from '../src/pose/video.js';
import type { PoseFrame, PoseTrack } from '../src/pose/types.js';
import { resolveConfig } from '../src/pipeline/config.js';
import { configFromFlags } from '../src/cli/commands/process.js';
import { probeVideo, resolveFfmpeg, type GrayFrame } from '../src/video/index.js';
import { ReshootError } from '../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-decompose-people-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pose = (index: number, x: number, y: number, w: number, h: number): PoseFrame => ({
  index,
  found: true,
  box: { x, y, width: w, height: h },
  score: 0.8,
  keypoints: Array.from({ length: 17 }, () => ({ x: x + w / 2, y: y + h / 2, score: 0.8, valid: true })),
});

test('splitTracksAtCuts gives the part after each cut a new id and keeps the rest', () => {
  const people: PeopleTracks = {
    startIndex: 0, frameCount: 10, fps: 10, width: 100, height: 100, cuts: [],
    tracks: [
      { id: 1, frames: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => pose(i, 10, 10, 10, 30)) },
      { id: 2, frames: [1, 2].map((i) => pose(i, 50, 10, 10, 30)) },
      { id: 4, frames: [6, 9].map((i) => pose(i, 70, 10, 10, 30)) },
    ],
  };
  // Cuts at 3 and 6: track 1 -> [0-2] id 1, [3-5] id 5, [6-7] id 6; track 2 untouched; track 4 starts at 6, stays whole.
  const out = splitTracksAtCuts(people, [6, 3]);
  assert.deepEqual(out.cuts, [3, 6]);
  assert.deepEqual(
    out.tracks.map((t) => [t.id, t.frames.map((f) => f.index)]),
    [[1, [0, 1, 2]], [2, [1, 2]], [4, [6, 9]], [5, [3, 4, 5]], [6, [6, 7]]],
  );
});

test('the stabilizer mask is the union of every tracked person and the subject mask', () => {
  // Two people at frame 0 (boxes 20x40 at (10,20) and 10x20 at (60,5)), one at frame 1, nobody at frame 2.
  const track: PoseTrack = {
    schema: 'reshoot.poses/1', source: { path: '', width: 100, height: 80, fps: { num: 10, den: 1 }, frameCount: 3 },
    model: { id: '', inputSize: 0, provider: '' }, minScore: 0.3, smoothing: null,
    frames: [pose(0, 10, 20, 20, 40), pose(1, 12, 20, 20, 40), { ...pose(2, 0, 0, 1, 1), found: false, box: null }],
    tracks: [
      { id: 1, frames: [pose(0, 10, 20, 20, 40), pose(1, 12, 20, 20, 40)] },
      { id: 2, frames: [pose(0, 60, 5, 10, 20)] },
    ],
    subject: { id: 1, rule: 'auto' },
  };
  assert.deepEqual([...peopleBoxes(track).keys()], [0, 1]);
  // The subject's segmentation mask: one pixel far from every box, at (95, 75) in frame 0.
  const seg: GrayFrame = { width: 100, height: 80, data: new Uint8Array(8000) };
  seg.data[75 * 100 + 95] = 255;
  const masks = { found: (t: number) => t === 0, read: () => seg } as unknown as Parameters<typeof stabilizerMaskFor>[0]['masks'];
  const maskFor = stabilizerMaskFor({ track, masks }, 100, 80)!;
  const m0 = maskFor(0)!;
  const at = (m: GrayFrame, x: number, y: number) => m.data[y * m.width + x];
  // Person 1 box 20x40 at (10,20) widened by max(5, 4) = 5 px left/right and 6 px up/down: x 5..35, y 14..66.
  assert.equal(at(m0, 5, 14), 255);
  assert.equal(at(m0, 35, 66), 255);
  assert.equal(at(m0, 4, 30), 0);
  assert.equal(at(m0, 20, 67), 0);
  // Person 2 box 10x20 at (60,5) widened by max(2.5, 2) = 2.5 and 3: x floor(57.5)=57..ceil(72.5)=73, y 2..28.
  assert.equal(at(m0, 57, 2), 255);
  assert.equal(at(m0, 73, 28), 255);
  assert.equal(at(m0, 56, 10), 0);
  assert.equal(at(m0, 74, 10), 0);
  assert.equal(at(m0, 95, 75), 255, 'the subject mask is kept');
  assert.equal(m0.data.reduce((s, v) => s + (v ? 1 : 0), 0), 31 * 53 + 17 * 27 + 1);
  assert.equal(seg.data[20 * 100 + 20], 0, 'the subject mask itself is not drawn into');
  const m1 = maskFor(1)!;
  assert.equal(at(m1, 60, 10), 0, 'person 2 is not in frame 1');
  assert.equal(at(m1, 7, 30), 255);
  assert.equal(maskFor(2), undefined, 'nobody: no mask');
  // A track written before people tracking (no `tracks`): the subject's boxes.
  const old = { ...track, tracks: undefined, subject: undefined };
  assert.deepEqual([...peopleBoxes(old).keys()], [0, 1]);
  const g: GrayFrame = { width: 10, height: 10, data: new Uint8Array(100) };
  fillPersonBox(g, { x: -20, y: 2, width: 4, height: 4 });
  fillPersonBox(g, { x: 2, y: 30, width: 4, height: 4 });
  assert.equal(g.data.reduce((s, v) => s + v, 0), 0, 'a box wholly outside the frame marks nothing');
});

test('the subject rule is a config field and a process flag, checked up front', () => {
  assert.equal(resolveConfig({}).pose.subject, 'auto');
  assert.equal(resolveConfig({ pose: { subject: '745,300' } }).pose.subject, '745,300');
  assert.throws(() => resolveConfig({ pose: { subject: 'tallest' } }), (e: unknown) => e instanceof ReshootError && /pose\.subject/.test(e.message));
  assert.equal(configFromFlags({ preset: 'balanced', subject: '3', stabilize: true, footlock: true, temporal: true }).pose.subject, '3');
  assert.throws(() => configFromFlags({ preset: 'balanced', subject: 'left', stabilize: true, footlock: true, temporal: true }), /--subject must be/);
});

// ---- real footage: vtest.avi frames 134-143, several people. Ground truth:
// W1 (the walker on the right) has hand-labelled ankles in datasets/labels/vtest-contacts.json;
// the man standing left of the sign post was read by eye from frame 134 (body x 380-405, y 185-265).
const clip = join(dir, 'vtest-134.mp4');
const START = 134;
const N = 10;
const labels = JSON.parse(readFileSync(join(ROOT, 'datasets', 'labels', 'vtest-contacts.json'), 'utf8')) as {
  walkers: { name: string; feet: Record<string, { ankles: Record<string, [number, number]> }> }[];
};
const w1 = labels.walkers.find((w) => w.name.startsWith('W1'))!;

before(() => {
  execFileSync(resolveFfmpeg(), [
    '-v', 'error', '-i', mediaFile('vtest.avi'), '-vf', `trim=start_frame=${START}:end_frame=${START + N},setpts=PTS-STARTPTS`,
    '-c:v', 'libx264', '-crf', '8', '-pix_fmt', 'yuv420p', clip,
  ]);
});

/** Median over labelled ankles of the distance to the nearer of the pose's two ankle keypoints. */
function ankleError(frames: PoseFrame[]): { median: number; n: number } {
  const d: number[] = [];
  for (const foot of Object.values(w1.feet)) {
    for (const [k, [x, y]] of Object.entries(foot.ankles)) {
      const t = Number(k) - START;
      if (t < 0 || t >= N || !frames[t].found) continue;
      const ks = [frames[t].keypoints[15], frames[t].keypoints[16]].filter((q) => q.valid);
      if (ks.length) d.push(Math.min(...ks.map((q) => Math.hypot(q.x - x, q.y - y))));
    }
  }
  d.sort((a, b) => a - b);
  return { median: d.length ? d[d.length >> 1] : Infinity, n: d.length };
}

test('decompose on real footage: the requested subject, every person in poses.json, the stabilizer mask covers both', async () => {
  const info = await probeVideo(clip);
  assert.equal(info.frameCount, N);
  // Run 1: the walker on the right by a point on him, with masks.
  const d1 = join(dir, 'w1');
  mkdirSync(d1);
  const a = await decomposeVideo(clip, { info, dir: d1, pose: { model: 'thunder', minScore: 0.3, smoothing: false, subject: { x: 745, y: 300 } }, masks: { model: 'full', temporal: 0.3 }, plateSamples: 0, threads: 1 });
  try {
    const written = await readPoseTrack(join(d1, 'poses.json'));
    assert.ok(written.tracks && written.tracks.length >= 2, `several people tracked (${written.tracks?.length})`);
    assert.equal(written.subject?.rule, '745,300');
    assert.equal(written.subject?.id, a.track!.subject!.id);
    const e1 = ankleError(a.track!.frames);
    // W1 enters from the right edge: the tracker acquires him on its frame-3 sweep (frames 0-2 have no subject).
    assert.ok(e1.n >= 12, `labelled ankles compared: ${e1.n}`);
    assert.ok(e1.median <= 6, `W1 ankle error median ${e1.median.toFixed(1)} px`);
    // The subject track is one of the tracks, frame for frame.
    const own = written.tracks!.find((t) => t.id === written.subject!.id)!;
    for (const f of own.frames) assert.deepEqual(written.frames[f.index].keypoints, f.keypoints);

    // Run 2: the standing man by a point on him, no masks.
    const d2 = join(dir, 'man');
    mkdirSync(d2);
    const b = await decomposeVideo(clip, { info, dir: d2, pose: { model: 'thunder', minScore: 0.3, smoothing: false, subject: { x: 392, y: 225 } }, masks: null, plateSamples: 0, threads: 1 });
    assert.notEqual(b.track!.subject!.id, -1);
    const hips = b.track!.frames.filter((p) => p.found).map((p) => ({ x: (p.keypoints[11].x + p.keypoints[12].x) / 2, y: (p.keypoints[11].y + p.keypoints[12].y) / 2 }));
    assert.ok(hips.length >= N - 1, `the man is found in ${hips.length} of ${N} frames`);
    for (const h of hips) assert.ok(h.x > 375 && h.x < 410 && h.y > 200 && h.y < 250, `hips at ${h.x.toFixed(0)},${h.y.toFixed(0)} belong to the standing man`);
    assert.ok(ankleError(b.track!.frames).median > 100, 'run 2 did not follow W1');

    // Run 1's stabilizer mask excludes both people, not the grass.
    const maskFor = stabilizerMaskFor(a, info.width, info.height)!;
    const m = maskFor(5)!;
    const at = (x: number, y: number) => m.data[Math.round(y) * m.width + Math.round(x)];
    const [ax, ay] = w1.feet.a.ankles[String(START + 5)];
    assert.equal(at(ax, ay), 255, 'W1 ankle');
    assert.equal(at(392, 225), 255, 'the standing man');
    assert.equal(at(200, 450), 0, 'grass');
    assert.equal(a.masks!.found(5), true);
  } finally {
    a.masks?.close();
  }
});

test('decompose: a subject id nobody has is one error listing the tracks; a clip without people gives empty tracks and a note', async () => {
  const info = await probeVideo(clip);
  const d3 = join(dir, 'nobody');
  mkdirSync(d3);
  await assert.rejects(
    decomposeVideo(clip, { info, dir: d3, pose: { model: 'thunder', minScore: 0.3, smoothing: false, subject: { id: 99 } }, masks: null, plateSamples: 0, threads: 1 }),
    (e: unknown) => e instanceof ReshootError && /--subject 99: no track has that id; tracks found: #1 from frame 0 box x=\d+/.test(e.message) && !e.message.includes('\n'),
  );
  const empty = join(dir, 'gray.mp4');
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=160x120:r=10', '-frames:v', '6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', empty]);
  const d4 = join(dir, 'empty');
  mkdirSync(d4);
  const e = await decomposeVideo(empty, { info: await probeVideo(empty), dir: d4, pose: { model: 'thunder', minScore: 0.3, smoothing: false }, masks: { model: 'full' }, plateSamples: 0, threads: 1 });
  try {
    assert.deepEqual(e.track!.tracks, []);
    assert.deepEqual(e.track!.subject, { id: -1, rule: 'auto' });
    assert.equal(e.track!.frames.length, 6);
    assert.ok(e.track!.frames.every((f) => !f.found));
    assert.ok(e.notes.some((n) => /no person found/.test(n)), e.notes.join('; '));
    assert.equal(e.masks!.found(0), false);
    assert.equal(stabilizerMaskFor(e, 160, 120)!(0), undefined);
  } finally {
    e.masks?.close();
  }
});

test('reshoot process --subject reaches decompose: an id nobody has stops the run with the tracks found', async () => {
  const r = await runCli(['process', clip, '-o', join(dir, 'cli.mp4'), '--subject', '99', '--segments', '1'], { timeoutMs: 600_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^reshoot: --subject 99: no track has that id; tracks found: #1 from frame 0 box/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const run = JSON.parse(readFileSync(join(dir, 'cli.run', 'run.json'), 'utf8'));
  assert.equal(run.config.pose.subject, '99');
  assert.equal(run.steps.decompose.status, 'failed');
});

test('reshoot pose and decompose split tracks at a hard cut the same way: an id from one names the same person in the other', async () => {
  // vtest 134-139, then 140-145 with red and blue swapped: the shot detector calls frame 6 a cut
  // (colours change at once), while every person stays where they were, so an unsplit tracker would carry them across.
  const cutClip = join(dir, 'cut.mp4');
  execFileSync(resolveFfmpeg(), [
    '-v', 'error', '-i', mediaFile('vtest.avi'), '-i', mediaFile('vtest.avi'), '-filter_complex',
    '[0:v]trim=start_frame=134:end_frame=140,setpts=N/(10*TB),format=yuv420p[a];' +
      '[1:v]trim=start_frame=140:end_frame=146,setpts=N/(10*TB),colorchannelmixer=rr=0:rb=1:br=1:bb=0,format=yuv420p[b];[a][b]concat=n=2:v=1[v]',
    '-map', '[v]', '-r', '10', '-c:v', 'libx264', '-crf', '8', '-pix_fmt', 'yuv420p', cutClip,
  ]);
  const info = await probeVideo(cutClip);
  assert.equal(info.frameCount, 12);
  const d5 = join(dir, 'cut');
  mkdirSync(d5);
  const dec = await decomposeVideo(cutClip, { info, dir: d5, pose: { model: 'thunder', minScore: 0.3, smoothing: false }, masks: null, plateSamples: 0, threads: 1 });
  assert.deepEqual(dec.shots.cuts, [6]);
  const { track } = await trackPoses(cutClip, { subject: 'auto', threads: 1 });
  const ids = (t: PoseTrack) => t.tracks!.map((p) => [p.id, p.frames.map((f) => f.index)]);
  // People on both sides of the cut, each side with its own ids.
  assert.ok(dec.track!.tracks!.some((t) => t.frames[0].index < 6) && dec.track!.tracks!.some((t) => t.frames[0].index === 6), `tracks: ${JSON.stringify(ids(dec.track!))}`);
  assert.deepEqual(ids(track), ids(dec.track!));
  assert.equal(track.subject!.id, dec.track!.subject!.id);
  for (const t of dec.track!.tracks!) {
    const sides = new Set(t.frames.map((f) => f.index >= 6));
    assert.equal(sides.size, 1, `track ${t.id} stays on one side of the cut`);
  }
});

test('process --subject with a point outside the frame fails in the preflight, before any decoding', async () => {
  const t0 = performance.now();
  const r = await runCli(['process', clip, '-o', join(dir, 'outside.mp4'), '--subject', '900,100', '--segments', '1'], { timeoutMs: 120_000 });
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim(), 'reshoot: --subject 900,100: the point is outside the 768x576 frame');
  assert.equal(existsSync(join(dir, 'outside.run')), false, 'no run folder');
  assert.ok(performance.now() - t0 < 60_000);
});
