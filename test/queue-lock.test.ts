// The segment work folder's lock file (src/queue/segment-lock.ts): two live workers on one segment (the first
// lost its BullMQ lock) never share work/seg-NN/; a stale lock (holder gone or silent) is taken over.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile } from './helpers.js';
import { resolveConfig } from '../src/pipeline/config.js';
import { processVideo } from '../src/pipeline/process.js';
import { acquireSegmentLock, jobSegmentWorkDir, runJob, type ReshootQueues, type VideoJobData } from '../src/queue/index.js';
import { resolveFfmpeg } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-qlock-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lockOf = (d: string) => JSON.parse(readFileSync(join(d, 'lock.json'), 'utf8'));

test('a fresh lock of another live holder makes the second wait until it is released; renewals keep it fresh', async () => {
  const d = join(dir, 'a');
  const first = await acquireSegmentLock(d, { job: 'j1', token: 't1' }, { staleMs: 400 });
  assert.equal(lockOf(d).job, 'j1');
  assert.equal(lockOf(d).pid, process.pid);
  const waits: string[] = [];
  let got = false;
  const second = acquireSegmentLock(d, { job: 'j2', token: 't2' }, { staleMs: 400, pollMs: 20, onWait: (h) => waits.push(h.job) }).then((l) => ((got = true), l));
  // Three times the stale time: only the holder's renewals (every 100 ms) keep the second one waiting.
  await sleep(1200);
  assert.equal(got, false, 'the second took a lock that was held and renewed');
  assert.deepEqual(waits, ['j1']);
  assert.equal(first.signal.aborted, false);
  await first.release();
  const l2 = await second;
  assert.equal(lockOf(d).job, 'j2');
  await l2.release();
  assert.ok(!existsSync(join(d, 'lock.json')), 'released: no lock file');
  assert.deepEqual(readdirSync(d), [], 'no temp files left');
});

test('two acquirers racing for a free folder: one at a time', async () => {
  const d = join(dir, 'race');
  const inside: string[] = [];
  let max = 0;
  let now = 0;
  await Promise.all(
    ['x', 'y', 'z'].map(async (job) => {
      const l = await acquireSegmentLock(d, { job }, { staleMs: 5000, pollMs: 10 });
      now++;
      max = Math.max(max, now);
      inside.push(job);
      await sleep(100);
      now--;
      await l.release();
    }),
  );
  assert.equal(max, 1);
  assert.deepEqual([...inside].sort(), ['x', 'y', 'z']);
});

test('a stale lock is taken over: not renewed for the lock time, or its holder process is gone', async () => {
  // Silent for twice the lock time, held on another host (its pid cannot be checked from here).
  const d1 = join(dir, 'stale');
  mkdirSync(d1);
  writeFileSync(join(d1, 'lock.json'), JSON.stringify({ job: 'old', token: 'old', host: 'elsewhere', pid: 1, at: Date.now() - 2000 }));
  const taken: string[] = [];
  const l1 = await acquireSegmentLock(d1, { job: 'new' }, { staleMs: 1000, onTakeover: (h) => taken.push(h.job), onWait: () => assert.fail('waited for a stale lock') });
  assert.deepEqual(taken, ['old']);
  assert.equal(lockOf(d1).job, 'new');
  await l1.release();

  // Renewed just now, but by a process of this host that has exited (a SIGKILLed worker).
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  const d2 = join(dir, 'dead');
  mkdirSync(d2);
  writeFileSync(join(d2, 'lock.json'), JSON.stringify({ job: 'killed', token: 'k', host: hostname(), pid: gone, at: Date.now() }));
  const t0 = Date.now();
  const l2 = await acquireSegmentLock(d2, { job: 'next' }, { staleMs: 60_000 });
  assert.ok(Date.now() - t0 < 5000, 'waited for a dead holder');
  assert.equal(lockOf(d2).job, 'next');
  await l2.release();

  // The same lock, fresh and on another host: not taken.
  const d3 = join(dir, 'fresh');
  mkdirSync(d3);
  writeFileSync(join(d3, 'lock.json'), JSON.stringify({ job: 'live', token: 'l', host: 'elsewhere', pid: gone, at: Date.now() }));
  const ac = new AbortController();
  const waiting = acquireSegmentLock(d3, { job: 'other' }, { staleMs: 60_000, pollMs: 20, signal: ac.signal });
  await sleep(300);
  ac.abort(new Error('gave up'));
  await assert.rejects(waiting, /gave up/);
  assert.equal(lockOf(d3).job, 'live');
});

test('a holder whose lock was taken over (it stalled past the lock time) sees it and its signal aborts', async () => {
  const d = join(dir, 'lost');
  const l = await acquireSegmentLock(d, { job: 'slow' }, { staleMs: 200 });
  // Another worker's lock replaces it (as after a takeover).
  writeFileSync(join(d, 'lock.json'), JSON.stringify({ job: 'taker', token: 'x', host: 'elsewhere', pid: 1, at: Date.now() }));
  await sleep(300);
  assert.equal(l.signal.aborted, true);
  assert.match(String(l.signal.reason), /taken over by elsewhere:1 \(job taker\)/);
  await l.release();
  assert.equal(lockOf(d).job, 'taker', 'release leaves the other holder its lock');
});

test('two live workers given the same segment job: the generator runs once, both return, the clip is the local one', { timeout: 120_000 }, async () => {
  const clip = join(dir, 'clip.mp4');
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', mediaFile('vtest.avi'), '-frames:v', '20', '-vf', 'scale=320:240', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', clip]);
  const log = join(dir, 'gen.log');
  // A cmd: generator that logs its start and end: two commands in one work folder would interleave.
  const gen = `cmd:echo start {dir} >> ${log}; sleep 1; cp {in}/frames/*.png {out}/; echo end {dir} >> ${log}`;
  const config = resolveConfig({ pose: { enabled: false }, segments: { count: 1, overlap: 0, minLength: 8 }, generator: { spec: gen } });
  const output = join(dir, 'queued.mp4');
  await processVideo({ input: clip, output, config, phase: 'prepare', threads: 1 });
  const data: VideoJobData = { video: 'v', input: clip, output, config, retry: { attempts: 1, backoffMs: 0 }, phase: { segment: 0 } };
  const lines: string[] = [];
  const queues = undefined as unknown as ReshootQueues; // segment jobs add no jobs
  const [a, b] = await Promise.all([
    runJob({ data, id: 'v-seg-0', token: 'first' }, queues, 1, { lockMs: 5000, log: (s) => lines.push(s) }),
    sleep(200).then(() => runJob({ data, id: 'v-seg-0', token: 'second' }, queues, 1, { lockMs: 5000, log: (s) => lines.push(s) })),
  ]);
  const work = jobSegmentWorkDir(data, 0);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [`start ${work}`, `end ${work}`]);
  assert.equal(lines.filter((l) => /segment 0: waiting for the lock of .*\(job v-seg-0\)/.test(l)).length, 1, lines.join('\n'));
  assert.ok(b.waitedMs! > 500, `the second waited ${b.waitedMs} ms`);
  assert.ok(a.waitedMs! < 500);
  assert.ok(!existsSync(join(work, 'lock.json')));
  // The local whole run of the same config gives the same segment clip.
  const whole = join(dir, 'whole.mp4');
  await processVideo({ input: clip, output: whole, config, threads: 1 });
  const seg = (run: string) => readFileSync(join(run, 'segments', 'seg-00.mp4'));
  assert.ok(seg(join(dir, 'queued.run')).equals(seg(join(dir, 'whole.run'))), 'segment clip differs from the local run');
});
