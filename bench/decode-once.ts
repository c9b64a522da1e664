/**
 * Issue 17's "decode once" question, measured: is it cheaper to decode the input again for each pass, or to
 * keep the decoded frames on disk (FrameStore, raw RGB24) from the first pass and read them back?
 * On the 10 s 720p clip of bench/pipeline.ts (vtest scaled to 1280x720, 30 fps, x264 veryfast crf 16):
 * (a) one decode pass: ffmpeg's CPU (child) + this process's CPU to receive the frames;
 * (b) the store: appending every frame of a decode to a FrameStore (the write's extra cost over (a)),
 *     then one read pass of every frame (get(i) in order): the cost that replaces a later decode.
 * Three interleaved rounds; CPU seconds are what matter on a shared machine (wall also printed).
 *
 *   node --import tsx bench/decode-once.ts [--seconds 10] [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { decodeFrames, FrameStore, probeVideo, resolveFfmpeg } from '../src/video/index.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds), ROUNDS = Number(values.rounds);
await fetchDatasets({ ids: ['vtest'] });
const dir = await mkdtemp(join(tmpdir(), 'reshoot-decode-once-'));

/** CPU seconds of this process and of its finished children (ffmpeg), and wall seconds, of `fn`. */
async function measure(fn: () => Promise<void>): Promise<{ self: number; children: number; wall: number }> {
  const self0 = process.cpuUsage();
  const kids0 = childCpu();
  const t0 = performance.now();
  await fn();
  const wall = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  return { self: (self.user + self.system) / 1e6, children: childCpu() - kids0, wall };
}
/** Reaped children's CPU (user + sys) from /proc/self/stat fields cutime + cstime. */
function childCpu(): number {
  // After "pid (comm) ", field 3 is state: cutime and cstime (fields 16 and 17) are at 13 and 14; clock ticks of 1/100 s.
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

try {
  const clip = join(dir, 'walk720.mp4');
  const r = spawnSync(resolveFfmpeg(), [
    '-v', 'error', '-y', '-stream_loop', '-1', '-i', datasetPath('vtest'),
    '-vf', 'setpts=PTS/3,scale=1280:960,crop=1280:720,fps=30,format=yuv420p', '-frames:v', String(SECONDS * 30),
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', clip,
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  const info = await probeVideo(clip);
  const rows: { what: string; self: number; children: number; wall: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rows.push({ what: 'decode pass', ...(await measure(async () => { for await (const f of decodeFrames(clip, { info })) void f; })) });
    let store: FrameStore | undefined;
    rows.push({ what: 'decode pass + FrameStore append', ...(await measure(async () => {
      store = await FrameStore.create({ width: info.width, height: info.height, dir });
      for await (const f of decodeFrames(clip, { info })) await store.append(f);
    })) });
    rows.push({ what: 'FrameStore read pass', ...(await measure(async () => { for (let i = 0; i < info.frameCount; i++) void (await store!.get(i)); })) });
    await store!.close();
  }
  console.log(`${info.frameCount} frames ${info.width}x${info.height}; load ${loadavg()[0].toFixed(1)}; median of ${ROUNDS} rounds`);
  console.log('| pass | CPU s (node) | CPU s (ffmpeg) | CPU s total | wall s |\n|---|---|---|---|---|');
  const med = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  for (const what of [...new Set(rows.map((x) => x.what))]) {
    const mine = rows.filter((x) => x.what === what);
    const s = med(mine.map((x) => x.self)), c = med(mine.map((x) => x.children)), t = med(mine.map((x) => x.self + x.children)), w = med(mine.map((x) => x.wall));
    console.log(`| ${what} | ${s.toFixed(2)} | ${c.toFixed(2)} | ${t.toFixed(2)} | ${w.toFixed(2)} |`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
