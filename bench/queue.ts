/**
 * Queue throughput (issue 21): `node --import tsx bench/queue.ts [--workers 1,2] [--videos 2] [--slow 3] [--frames 24] [--segments 2] [--skip-local] [--split] [--no-prefetch]`
 * (the target case: `--workers 3 --videos 6 --slow 10 --segments 3 --frames 36`)
 * A batch of short clips (vtest.avi pieces, 320x240, 2 segments, pose off) with the slow stand-in
 * (`slow:<s>`: a fixed sleep per segment, like a GPU job): local `reshoot batch` (concurrency 1) against
 * `batch --redis` with N `reshoot worker` processes on a private redis-server. Prints wall seconds,
 * videos per minute and (wall x workers - the seconds the jobs reported) / jobs: idle time plus queue
 * overhead per job. A worker runs a cpu and a gpu job at once (one BullMQ Worker per queue), so this can
 * go below zero: it is an upper bound on overhead only with one queue per worker. Writes only a temp folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, ReshootQueues, startPrivateRedis, type VideoJobData } from '../src/queue/index.js';
import { resolveFfmpeg } from '../src/video/index.js';

const { values } = parseArgs({ options: { workers: { type: 'string', default: '1,2' }, videos: { type: 'string', default: '2' }, slow: { type: 'string', default: '3' }, frames: { type: 'string', default: '24' }, segments: { type: 'string', default: '2' }, 'skip-local': { type: 'boolean', default: false }, split: { type: 'boolean', default: false }, 'no-prefetch': { type: 'boolean', default: false } } });
const root = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-queue-'));
const videos = Number(values.videos);
const src = join(dir, 'in');
mkdirSync(src);
const dataset = join(root, '.cache', 'datasets', 'vtest.avi');
for (let i = 0; i < videos; i++) {
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', dataset, '-vf', `select=gte(n\\,${i * 40}),scale=320:240`, '-frames:v', values.frames!, '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', join(src, `v${i}.mp4`)]);
}
const configFile = join(dir, 'config.json');
writeFileSync(configFile, JSON.stringify({ pose: { enabled: false }, segments: { count: Number(values.segments), overlap: 2, minLength: 8 } }));
const common = ['--config', configFile, '--generator', `slow:${values.slow}`];

function cli(args: string[]): Promise<{ code: number | null; out: string; wall: number }> {
  const t0 = performance.now();
  return new Promise((res) => {
    const c = spawn(process.execPath, [join(root, 'bin', 'reshoot.js'), ...args], { env: { ...process.env, RESHOOT_PROGRESS: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => res({ code, out, wall: (performance.now() - t0) / 1000 }));
  });
}

const rows: string[] = [];
const ms = (x: number) => `${Math.round(x)} ms`;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/**
 * Where the wall time went, from the jobs' own BullMQ timestamps (processedOn, finishedOn: redis clock,
 * ms) and the seconds processVideo reported (the job's return value). Per job:
 *   dispatch = processedOn - max(when it became ready, when its worker slot became free): queue latency;
 *   in-job   = (finishedOn - processedOn) - processVideo's seconds: BullMQ and runJob around the phase.
 * Their sum is the queue overhead per job. Then clears the queues for the next worker count.
 */
async function timeline(url: string, began: number, ended: number, slowMs: number, workers: number): Promise<string[]> {
  const connection = connect(url);
  const q = new ReshootQueues(connection);
  try {
    type J = { queue: string; name: string; video: string; start: number; end: number; ready: number; workMs: number; slot: string };
    const all: J[] = [];
    for (const [queue, qq] of [['cpu', q.cpu], ['gpu', q.gpu]] as const) {
      for (const j of await qq.getJobs(['completed'], 0, -1)) {
        const d = j.data as VideoJobData;
        all.push({ queue, name: j.name, video: d.video, start: j.processedOn!, end: j.finishedOn!, ready: j.timestamp, workMs: (j.returnvalue as { seconds: number }).seconds * 1000, slot: `${j.processedBy ?? '?'}/${queue}` });
      }
    }
    // A finish job is ready when the last of its children finished.
    for (const f of all.filter((j) => j.name === 'finish')) f.ready = Math.max(...all.filter((j) => j.video === f.video && j !== f).map((j) => j.end));
    const dispatch = new Map<J, number>();
    const slots = new Map<string, J[]>();
    for (const j of all) slots.set(j.slot, [...(slots.get(j.slot) ?? []), j]);
    for (const list of slots.values()) {
      list.sort((a, b) => a.start - b.start);
      list.forEach((j, i) => dispatch.set(j, Math.max(0, j.start - Math.max(j.ready, i ? list[i - 1].end : began))));
    }
    const inJob = (j: J) => j.end - j.start - j.workMs;
    const of = (name: string) => all.filter((j) => j.name === name);
    const line = (name: string) => {
      const js = of(name);
      return `${name} x${js.length}: run ${ms(mean(js.map((j) => j.end - j.start)))}, dispatch ${ms(mean(js.map((j) => dispatch.get(j)!)))}, in-job overhead ${ms(mean(js.map(inJob)))}`;
    };
    const segs = of('segment');
    const gpuBusy = segs.reduce((a, j) => a + j.end - j.start, 0);
    const firstStart = Math.min(...all.map((j) => j.start));
    const lastEnd = Math.max(...all.map((j) => j.end));
    const firstSeg = Math.min(...segs.map((j) => j.start));
    const lastSeg = Math.max(...segs.map((j) => j.end));
    const out = [
      `    timeline: batch start -> first job ${ms(firstStart - began)} (CLI start, preflight, enqueue); first prepare -> first segment ${ms(firstSeg - firstStart)}; segments ${ms(lastSeg - firstSeg)} (ideal ${ms((segs.length * slowMs) / workers)}); last segment -> last finish ${ms(lastEnd - lastSeg)}; last finish -> batch exit ${ms(ended - lastEnd)}`,
      `    ${line('prepare')}; ${line('finish')}`,
      `    ${line('segment')}; non-generator work per segment ${ms(mean(segs.map((j) => j.workMs - slowMs)))}; gpu slots busy ${((100 * gpuBusy) / (workers * (lastSeg - firstSeg))).toFixed(0)} % of the segment span`,
      `    queue overhead per job (dispatch + in-job): ${ms(mean(all.map((j) => dispatch.get(j)! + inJob(j))))} over ${all.length} jobs`,
    ];
    await q.cpu.obliterate({ force: true });
    await q.gpu.obliterate({ force: true });
    return out;
  } finally {
    await q.close().catch(() => undefined);
    connection.disconnect();
  }
}
const cpu0 = process.cpuUsage();
if (!values['skip-local']) {
  const local = await cli(['batch', src, '--out-dir', join(dir, 'local'), ...common]);
  if (local.code !== 0) throw new Error(local.out);
  rows.push(`local batch      wall ${local.wall.toFixed(1)} s  ${(videos / (local.wall / 60)).toFixed(2)} videos/min`);
}
// Issue 21's target: wall <= 1.2 x (total generator time / workers) + one video's prepare and finish.
const generatorSeconds = videos * Number(values.segments) * Number(values.slow);
rows.push(`generator time in all: ${videos} videos x ${values.segments} segments x ${values.slow} s = ${generatorSeconds} s`);
const redis = await startPrivateRedis(dir);
try {
  for (const n of values.workers!.split(',').map(Number)) {
    const workers: ChildProcess[] = [];
    const logs: string[] = [];
    // --split: each worker as two processes, one per queue (the cpu jobs then never hold up a segment job's event loop).
    const queueSets = values.split ? ['cpu', 'gpu'] : ['cpu,gpu'];
    for (let i = 0; i < n * queueSets.length; i++) {
      const w = spawn(process.execPath, [join(root, 'bin', 'reshoot.js'), 'worker', '--redis', redis.url, '--queues', queueSets[i % queueSets.length], ...(values['no-prefetch'] ? ['--no-prefetch'] : [])], { env: { ...process.env, RESHOOT_PROGRESS: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
      logs.push('');
      w.stderr!.on('data', (d) => (logs[i] += d));
      workers.push(w);
    }
    // Workers up (taking jobs) before the clock starts: their start-up is not queue overhead.
    while (!logs.every((l) => l.includes('taking jobs'))) await new Promise((r) => setTimeout(r, 200));
    const began = Date.now();
    const r = await cli(['batch', src, '--redis', redis.url, '--out-dir', join(dir, `q${n}`), ...common]);
    const ended = Date.now();
    for (const w of workers) w.kill('SIGKILL');
    if (r.code !== 0) throw new Error(r.out);
    rows.push(...(await timeline(redis.url, began, ended, Number(values.slow) * 1000, n)));
    // Work the jobs reported ("done in X s"), summed; the rest of the workers' busy time is queue overhead.
    const done = logs.join('').match(/done in ([\d.]+) s/g) ?? [];
    const work = done.reduce((a, s) => a + Number(/([\d.]+)/.exec(s)![1]), 0);
    const overheadMs = ((r.wall * n - work) / done.length) * 1000;
    // One video's prepare + finish: the jobs the workers logged as such, averaged per video.
    const pf = (logs.join('').match(/(?:prepare|finish)[^\n]*done in ([\d.]+) s/g) ?? []).reduce((a, x) => a + Number(/done in ([\d.]+)/.exec(x)![1]), 0) / videos;
    rows.push(`  target for ${n} worker(s): 1.2 x ${generatorSeconds} / ${n} + ${pf.toFixed(1)} (prepare + finish of one video) = ${(1.2 * generatorSeconds / n + pf).toFixed(1)} s`);
    rows.push(`queue, ${n} worker(s) wall ${r.wall.toFixed(1)} s  ${(videos / (r.wall / 60)).toFixed(2)} videos/min  jobs ${done.length}  job work ${work.toFixed(1)} s  (wall x workers - job time) / jobs ${overheadMs.toFixed(0)} ms`);
  }
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${rows.join('\n')}\nload average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; this process ${(cpu.user / 1e6).toFixed(1)} s CPU (children not counted)\n`);
