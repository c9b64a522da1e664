// `reshoot queue status|retry|clean` through the CLI, against a private redis-server and `reshoot worker`
// child processes. The scenario: three videos of one segment each (3 jobs per video: prepare, segment 0,
// finish), one attempt per job; `bad` fails until a marker file exists, `doomed` always fails, `good` passes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile, ROOT, runCli } from './helpers.js';
import { startPrivateRedis, type PrivateRedis } from '../src/queue/index.js';
import { resolveFfmpeg } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-qcli-'));
let redis: PrivateRedis;
const workers = new Set<ChildProcess>();
const src = join(dir, 'in');
const outDir = join(dir, 'out');
const marker = join(dir, 'marker');
const configFile = join(dir, 'config.json');
// A passthrough cmd: generator: `bad` fails (exit 5) while the marker is missing, `doomed` always (exit 6).
const gen = `cmd:case {dir} in */bad.run/*) test -e ${marker} || { echo "marker missing" >&2; exit 5; };; */doomed.run/*) echo "doomed video" >&2; exit 6;; esac; cp {in}/frames/*.png {out}/`;

before(async () => {
  mkdirSync(src);
  writeFileSync(configFile, JSON.stringify({ pose: { enabled: false }, segments: { count: 1, overlap: 0, minLength: 8 } }));
  for (const [i, name] of ['bad', 'doomed', 'good'].entries()) {
    execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', mediaFile('vtest.avi'), '-vf', `select=gte(n\\,${i * 40}),scale=320:240`, '-frames:v', '16', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', join(src, `${name}.mp4`)]);
  }
  redis = await startPrivateRedis(dir);
  for (let i = 0; i < 2; i++) {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'reshoot.js'), 'worker', '--redis', redis.url], { cwd: ROOT, env: { ...process.env, RESHOOT_PROGRESS: '0' }, stdio: 'ignore' });
    workers.add(child);
  }
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const queue = (...args: string[]) => runCli(['queue', ...args, '--redis', redis.url], { timeoutMs: 60_000 });
const counts = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`${name}:`));
type Status = { counts: Record<string, Record<string, number>>; videos: Array<{ video: string; state: string; segmentsDone: number; segments: number; reason?: string }> };

test('queue status lists each video and job state, retry re-queues the failed videos, clean removes the finished jobs and says how many', { timeout: 300_000 }, async () => {
  const r = await runCli(['batch', src, '--redis', redis.url, '--out-dir', outDir, '--config', configFile, '--generator', gen, '--attempts', '1'], { timeoutMs: 240_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /batch: 1 done, 2 failed/);

  // cpu: 3 prepares completed, good's finish completed, the two failing videos' finish failed; gpu: one
  // segment each, good's completed, the others failed (one attempt).
  let s = await queue('status');
  assert.equal(s.code, 0, s.stderr);
  assert.equal(counts(s.stdout, 'cpu'), 'cpu: waiting-children 0, wait 0, active 0, delayed 0, completed 4, failed 2');
  assert.equal(counts(s.stdout, 'gpu'), 'gpu: waiting-children 0, wait 0, active 0, delayed 0, completed 1, failed 2');
  const line = (name: string) => s.stdout.split('\n').filter((l) => l.startsWith(`${name}-`));
  assert.equal(line('good').length, 1);
  assert.match(line('good')[0], /^good-[0-9a-f]{10}  done segments 1\/1$/);
  assert.match(line('bad')[0], /^bad-[0-9a-f]{10}  failed segments 0\/1: .*exit code 5.*marker missing/);
  assert.match(line('doomed')[0], /^doomed-[0-9a-f]{10}  failed segments 0\/1: .*exit code 6.*doomed video/);
  const id = (name: string) => line(name)[0].split(' ')[0];
  const [bad, doomed] = [id('bad'), id('doomed')];
  assert.ok(!existsSync(join(outDir, 'bad.mp4')));

  // The fix arrives; retry queues both failed videos again, the good one is left alone.
  writeFileSync(marker, '');
  const rt = await queue('retry');
  assert.equal(rt.code, 0, rt.stderr);
  assert.match(rt.stdout, /^re-queued 2 failed video\(s\): /);
  assert.deepEqual(rt.stdout.trim().replace(/^.*: /, '').split(', ').sort(), [bad, doomed].sort());

  let json: Status;
  const t0 = Date.now();
  for (;;) {
    const j = await queue('status', '--json');
    assert.equal(j.code, 0, j.stderr);
    json = JSON.parse(j.stdout) as Status;
    const state = (v: string) => json.videos.find((x) => x.video === v)?.state;
    if (state(bad) === 'done' && state(doomed) === 'failed') break;
    assert.ok(Date.now() - t0 < 180_000, `retried videos did not finish: ${j.stdout}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
  assert.ok(existsSync(join(outDir, 'bad.mp4')), 'the retried video has its output');
  assert.ok(!existsSync(join(outDir, 'doomed.mp4')));
  assert.equal(json.videos.length, 3, 'retry replaced the failed flows, it did not add new ones');
  assert.match(json.videos.find((v) => v.video === doomed)!.reason!, /exit code 6.*doomed video/);
  // bad now: prepare, segment, finish completed; the retried doomed: prepare completed, segment and finish failed.
  assert.deepEqual(json.counts.cpu, { 'waiting-children': 0, wait: 0, active: 0, delayed: 0, completed: 5, failed: 1 });
  assert.deepEqual(json.counts.gpu, { 'waiting-children': 0, wait: 0, active: 0, delayed: 0, completed: 2, failed: 1 });

  // clean: 5 + 1 cpu jobs and 2 + 1 gpu jobs finished.
  const c = await queue('clean');
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, 'removed 9 finished job(s)\n');
  s = await queue('status');
  assert.equal(s.stdout, 'cpu: waiting-children 0, wait 0, active 0, delayed 0, completed 0, failed 0\ngpu: waiting-children 0, wait 0, active 0, delayed 0, completed 0, failed 0\n');
  const again = await queue('clean');
  assert.equal(again.stdout, 'removed 0 finished job(s)\n');
});
