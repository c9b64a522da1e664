/**
 * Pose cost per frame at 720p with 1, 3 and 6 people (issue 15): PeopleTracker
 * (every person followed with a crop, detection sweep about every 0.3 s) on
 * composites of real people. From vtest.avi frames 700-739 (7-9 walkers, none
 * of them held out): a background plate (per-pixel median of the 40 frames),
 * then per frame the N longest-visible people pasted back from the original
 * (their tracked box grown 25 %), scaled to 960x720 and centred on a 1280x720
 * canvas (plate-grey sides). Same frames, same background; only N changes.
 *
 *   node --import tsx bench/pose-people.ts [--people 1,3,6] [--frames 30] [--model thunder] [--threads 2] [--provider cpu]
 *
 * Reports ms per frame (wall and process CPU, after a 4-frame warm-up that
 * lets every person be confirmed), people followed, and model calls per frame.
 * Then the same frames through the NanoDet person detector (one call per
 * frame, src/pose/detector.ts). Both get a recall against the people pasted
 * into each frame (known by construction): a pasted person counts as found
 * when a reported box overlaps their pasted box at IoU >= 0.3.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { boxIoU, createPoseEstimator, PeopleTracker, type Box, type PoseModelName } from '../src/pose/index.js';
import { PersonDetector } from '../src/pose/detector.js';
import { decodeFrames, probeVideo, type Frame } from '../src/video/index.js';
import { datasetPath } from '../src/datasets/index.js';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '1,3,6' },
    frames: { type: 'string', default: '30' },
    model: { type: 'string', default: 'thunder' },
    threads: { type: 'string' },
    provider: { type: 'string', default: 'cpu' },
  },
});
const START = 700, COUNT = 40, WARM = 4;
const timed = Math.min(COUNT - WARM, Number(values.frames));
const path = datasetPath('vtest');
const info = await probeVideo(path);
const src: Frame[] = [];
for await (const f of decodeFrames(path, { info, start: START, count: COUNT })) src.push(f);
const { width: W, height: H } = src[0];

// Background plate: per-pixel median over the segment (the camera is static, people keep moving).
const plate = Buffer.alloc(W * H * 3);
const col = new Uint8Array(COUNT);
for (let i = 0; i < W * H * 3; i++) {
  for (let k = 0; k < COUNT; k++) col[k] = src[k].data[i];
  col.sort();
  plate[i] = col[COUNT >> 1];
}

const detector = await PersonDetector.create({ threads: values.threads ? Number(values.threads) : undefined });
const estimator = await createPoseEstimator({ model: values.model as PoseModelName, provider: values.provider as 'cpu', threads: values.threads ? Number(values.threads) : undefined });
// Who is where: every person tracked on the original frames (native size).
const finder = new PeopleTracker(estimator, { fps: 10, startIndex: START });
for (const f of src) await finder.next(f);
const tracks = finder.result().tracks.sort((a, b) => b.frames.length - a.frames.length);
console.log(`vtest ${START}-${START + COUNT - 1}: ${tracks.length} people tracked, frames seen: ${tracks.map((t) => t.frames.length).join(' ')}`);

/** The people pasted into composite frame k, as boxes on the 1280x720 canvas (x 1.25 + 160, y 1.25). */
function pasted(ids: number[], k: number): Box[] {
  return tracks.filter((q) => ids.includes(q.id)).flatMap((t) => {
    const b = t.frames.find((f) => f.index === START + k)?.box;
    return b ? [{ x: 160 + 1.25 * b.x, y: 1.25 * b.y, width: 1.25 * b.width, height: 1.25 * b.height }] : [];
  });
}
function recallOf(truth: Box[], found: Box[]): [number, number] {
  return [truth.filter((t) => found.some((f) => boxIoU(t, f) >= 0.3)).length, truth.length];
}

async function composite(ids: number[]): Promise<Frame[]> {
  const out: Frame[] = [];
  for (let k = 0; k < COUNT; k++) {
    const img = Buffer.from(plate);
    for (const t of tracks.filter((q) => ids.includes(q.id))) {
      const b = t.frames.find((f) => f.index === START + k)?.box;
      if (!b) continue;
      const x0 = Math.max(0, Math.floor(b.x - 0.125 * b.width)), x1 = Math.min(W, Math.ceil(b.x + 1.125 * b.width));
      const y0 = Math.max(0, Math.floor(b.y - 0.125 * b.height)), y1 = Math.min(H, Math.ceil(b.y + 1.125 * b.height));
      for (let y = y0; y < y1; y++) img.set(src[k].data.subarray((y * W + x0) * 3, (y * W + x1) * 3), (y * W + x0) * 3);
    }
    const data = await sharp(img, { raw: { width: W, height: H, channels: 3 } })
      .resize(960, 720)
      .extend({ left: 160, right: 160, background: { r: 128, g: 128, b: 128 } })
      .raw()
      .toBuffer();
    out.push({ width: 1280, height: 720, data } as Frame);
  }
  return out;
}

console.log(`PeopleTracker, MoveNet ${values.model}, ${values.provider}, ${timed} timed frames at 1280x720 (after ${WARM} warm-up), load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
for (const n of values.people!.split(',').map(Number)) {
  const ids = tracks.slice(0, n).map((t) => t.id);
  if (ids.length < n) console.log(`only ${ids.length} people in the segment`);
  const frames = await composite(ids);
  const tr = new PeopleTracker(estimator, { fps: 10 });
  for (let k = 0; k < WARM; k++) await tr.next(frames[k]);
  const s0 = { ...tr.stats };
  let followed = 0;
  const hit = [0, 0];
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  for (let k = WARM; k < WARM + timed; k++) {
    const people = (await tr.next(frames[k])).people;
    followed += people.length;
    recallOf(pasted(ids, k), people.map((p) => p.box!).filter(Boolean)).forEach((v, i) => (hit[i] += v));
  }
  const wall = (performance.now() - t0) / timed, c = process.cpuUsage(cpu0), cpu = (c.user + c.system) / 1000 / timed;
  const calls = (tr.stats.cropCalls - s0.cropCalls + tr.stats.sweepCalls - s0.sweepCalls + tr.stats.closeUpCalls - s0.closeUpCalls) / timed;
  // The detector on the same frames (recall scored outside the timing).
  const dets: Box[][] = [];
  const dc0 = process.cpuUsage(), d0 = performance.now();
  for (let k = WARM; k < WARM + timed; k++) dets.push(await detector.detect(frames[k]));
  const dWall = (performance.now() - d0) / timed, dc = process.cpuUsage(dc0), dCpu = (dc.user + dc.system) / 1000 / timed;
  const dHit = [0, 0];
  dets.forEach((d, j) => recallOf(pasted(ids, WARM + j), d).forEach((v, i) => (dHit[i] += v)));
  console.log(`${n} people: NanoDet detector ${dWall.toFixed(0)} ms/frame wall, ${dCpu.toFixed(0)} ms/frame CPU, ${(dets.flat().length / timed).toFixed(1)} boxes per frame, recall ${(dHit[0] / dHit[1]).toFixed(2)} (${dHit[0]}/${dHit[1]}); PeopleTracker recall ${(hit[0] / hit[1]).toFixed(2)} (${hit[0]}/${hit[1]})`);
  console.log(`${n} people: ${wall.toFixed(0)} ms/frame wall, ${cpu.toFixed(0)} ms/frame CPU; followed ${(followed / timed).toFixed(1)} per frame; model calls ${calls.toFixed(1)} per frame (crop ${((tr.stats.cropCalls - s0.cropCalls) / timed).toFixed(1)}, sweep ${((tr.stats.sweepCalls - s0.sweepCalls) / timed).toFixed(1)}, close-up ${((tr.stats.closeUpCalls - s0.closeUpCalls) / timed).toFixed(1)})`);
}
await estimator.release();
await detector.release();
