/**
 * The decompose pass's people tracker (PeopleTracker with PEOPLE_PASS) with its two sweeps: the pose-model
 * sweep (letterbox + 6 tiles, two passes, MoveNet) and the person-detector sweep (NanoDet, one call, then one
 * MoveNet close-up per new box). Both against a reference: every person followed on every frame with full
 * pose-model sweeps (the settings before issue 17). Recall = share of the reference's person boxes that the
 * pass also has (IoU >= 0.3), over all frames (key frames and interpolated ones).
 *
 *   node --import tsx bench/people-pass.ts [--clip walk720|megamind] [--frames 90] [--threads 1]
 *
 * walk720: bench/pipeline.ts's clip (vtest.avi at 1280x720, 30 fps); megamind: Megamind.avi frames 0-269
 * (animated characters, cuts). Reports CPU ms per frame (process CPU, model load excluded) and the load.
 */
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { boxIoU, createPoseEstimator, PEOPLE_PASS, PeopleTracker, type PeopleTracks } from '../src/pose/index.js';
import { PersonDetector } from '../src/pose/detector.js';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { decodeFrames, probeVideo, resolveFfmpeg, type Frame } from '../src/video/index.js';

const { values } = parseArgs({ options: { clip: { type: 'string', default: 'walk720' }, frames: { type: 'string', default: '90' }, threads: { type: 'string', default: '1' } } });
const count = Number(values.frames);
const threads = Number(values.threads);
await fetchDatasets({ ids: values.clip === 'megamind' ? ['megamind'] : ['vtest'] });
let path: string;
if (values.clip === 'megamind') path = datasetPath('megamind');
else {
  path = join(tmpdir(), `reshoot-people-pass-walk720-${count}.mp4`);
  if (!existsSync(path)) {
    execFileSync(resolveFfmpeg(), ['-v', 'error', '-y', '-stream_loop', '-1', '-i', datasetPath('vtest'), '-vf', 'setpts=PTS/3,scale=1280:960,crop=1280:720,fps=30,format=yuv420p', '-frames:v', String(count), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', path]);
  }
}
const info = await probeVideo(path);
const frames: Frame[] = [];
for await (const f of decodeFrames(path, { info, count })) frames.push(f);
const fps = info.fpsValue;
const thunder = await createPoseEstimator({ model: 'thunder', threads, spinning: false });
const detector = await PersonDetector.create({ threads });

async function run(label: string, make: () => PeopleTracker): Promise<PeopleTracks> {
  const tr = make();
  const c0 = process.cpuUsage();
  for (const f of frames) await tr.next(f);
  const c = process.cpuUsage(c0);
  const res = tr.result();
  const s = tr.stats;
  console.log(`${label}: ${((c.user + c.system) / 1000 / frames.length).toFixed(0)} ms CPU/frame; calls/frame crop ${(s.cropCalls / frames.length).toFixed(2)} sweep ${(s.sweepCalls / frames.length).toFixed(2)} close-up ${(s.closeUpCalls / frames.length).toFixed(2)}; ${res.tracks.length} tracks`);
  return res;
}
function boxesPerFrame(r: PeopleTracks) {
  const m = new Map<number, NonNullable<PeopleTracks['tracks'][number]['frames'][number]['box']>[]>();
  for (const t of r.tracks) for (const f of t.frames) if (f.found && f.box) m.set(f.index, [...(m.get(f.index) ?? []), f.box]);
  return m;
}
function recall(ref: PeopleTracks, got: PeopleTracks): string {
  const a = boxesPerFrame(ref), b = boxesPerFrame(got);
  let hit = 0, all = 0, extra = 0;
  for (const [t, boxes] of a) for (const box of boxes) { all++; if ((b.get(t) ?? []).some((q) => boxIoU(box, q) >= 0.3)) hit++; }
  for (const [t, boxes] of b) for (const box of boxes) if (!(a.get(t) ?? []).some((q) => boxIoU(box, q) >= 0.3)) extra++;
  return `recall ${(hit / all).toFixed(3)} (${hit}/${all}), boxes the reference lacks ${extra}`;
}

console.log(`${values.clip}: ${frames.length} frames ${info.width}x${info.height} at ${fps.toFixed(2)} fps, ${threads} thread(s), load ${loadavg()[0].toFixed(1)}`);
const ref = await run('reference (every frame, full pose-model sweeps)', () => new PeopleTracker(thunder, { fps }));
const pass = { fps, followEvery: PEOPLE_PASS.followEvery(fps), sweepOnMiss: PEOPLE_PASS.sweepOnMiss };
const old = await run('PEOPLE_PASS, pose-model sweep', () => new PeopleTracker(thunder, pass));
console.log(`  ${recall(ref, old)}`);
const det = await run('PEOPLE_PASS, detector sweep', () => new PeopleTracker(thunder, { ...pass, detector }));
console.log(`  ${recall(ref, det)}`);
console.log(`load at the end ${loadavg()[0].toFixed(1)}`);
await thunder.release();
await detector.release();
