// Issue 21 with real components: a private redis-server (AOF on), `reshoot worker` child processes and
// `reshoot batch --redis`, compared byte for byte with local processVideo runs of the same config.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile, ROOT, runCli } from './helpers.js';
import { resolveConfig } from '../src/pipeline/config.js';
import { processVideo } from '../src/pipeline/process.js';
import { startPrivateRedis, type PrivateRedis } from '../src/queue/index.js';
import { resolveFfmpeg } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-queue-'));
let redis: PrivateRedis;
const workers = new Set<ChildProcess>();
// Fast plumbing: no pose pass (stabilize, segments, blend, re-shake and encode still run), 2 segments.
const overrides = { pose: { enabled: false }, segments: { count: 2, overlap: 2, minLength: 8 } };
const configFile = join(dir, 'config.json');
const clips: string[] = [];

before(async () => {
  writeFileSync(configFile, JSON.stringify(overrides));
  // Four different 24-frame pieces of the real vtest.avi at 320x240.
  for (const [i, start] of [0, 40, 80, 120].entries()) {
    const out = join(dir, `clip${i}.mp4`);
    execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', mediaFile('vtest.avi'), '-vf', `select=gte(n\\,${start}),scale=320:240`, '-frames:v', '24', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', out]);
    clips.push(out);
  }
  redis = await startPrivateRedis(dir);
});

// Each test starts its own workers: none may take the next test's jobs (a failed assertion included).
afterEach(() => {
  for (const w of workers) w.kill('SIGKILL');
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A `reshoot worker` child; `log` collects its stderr (one line per job start and end). */
function startWorker(lockSeconds = 30): { child: ChildProcess; log: () => string; waitFor(re: RegExp): Promise<void> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'reshoot.js'), 'worker', '--redis', redis.url, '--lock-seconds', String(lockSeconds)], { cwd: ROOT, env: { ...process.env, RESHOOT_PROGRESS: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  workers.add(child);
  child.on('exit', () => workers.delete(child));
  let text = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stderr!.on('data', (d) => {
    text += d;
    for (const w of [...waiters]) if (w.re.test(text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  return { child, log: () => text, waitFor: (re) => (re.test(text) ? Promise.resolve() : new Promise((r) => waiters.push({ re, resolve: r }))) };
}

/** The outputs a local run of each clip gives with this generator (the reference bytes). */
async function localOutputs(generator: string, names: string[]): Promise<Map<string, Buffer>> {
  const config = resolveConfig({ ...overrides, generator: { spec: generator } });
  const out = new Map<string, Buffer>();
  const ref = join(dir, `local-${out.size}-${Date.now()}`);
  mkdirSync(ref);
  for (const name of names) {
    const o = join(ref, `${name}.mp4`);
    await processVideo({ input: join(dir, 'in', `${name}.mp4`), output: o, config });
    out.set(name, readFileSync(o));
  }
  return out;
}

function inputsFolder(names: string[], sub: string): string {
  const d = join(dir, sub);
  mkdirSync(d, { recursive: true });
  mkdirSync(join(dir, 'in'), { recursive: true });
  names.forEach((n, i) => {
    copyFileSync(clips[i % clips.length], join(d, `${n}.mp4`));
    copyFileSync(clips[i % clips.length], join(dir, 'in', `${n}.mp4`));
  });
  return d;
}

test('4 videos (and a poisoned fifth) across 3 workers: byte-identical to a local `reshoot batch`; the poisoned video fails alone with its reason after its retries', { timeout: 300_000 }, async () => {
  const good = ['alpha', 'beta', 'gamma', 'delta'];
  const names = [...good, 'poison'];
  const src = inputsFolder(names, 'batch1');
  // A real cmd: generator (copies the frames back: a passthrough) that fails on the video named poison.
  const gen = 'cmd:case {dir} in *poison*) echo "poisoned video" >&2; exit 3;; esac; cp {in}/frames/*.png {out}/';
  const w = [startWorker(), startWorker(), startWorker()];
  const outDir = join(dir, 'out1');
  const r = await runCli(['batch', src, '--redis', redis.url, '--out-dir', outDir, '--config', configFile, '--generator', gen, '--attempts', '2', '--backoff-seconds', '0.2'], { timeoutMs: 240_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /batch: 4 done, 1 failed/);
  const row = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(name)) ?? '';
  for (const n of good) assert.match(row(n), new RegExp(`^${n}\\.mp4\\s+done\\s+[\\d.]+\\s+.*${n}\\.mp4$`));
  // The reason is the generator's own, from the segment job, after 2 attempts (the worker logs both).
  assert.match(row('poison'), /^poison\.mp4\s+FAILED.*exit(ed with)? (code )?3.*poisoned video/);
  const logs = w.map((x) => x.log());
  const tries = logs.join('').match(/poison-\w+ segment \d \(attempt \d\/2\)/g) ?? [];
  assert.ok(tries.some((t) => t.includes('attempt 2/2')), `retried: ${tries.join('; ')}`);
  // Every worker took part (20 jobs: 5 x (prepare, 2 segments, finish) less poison's finish, plus retries).
  for (const [i, l] of logs.entries()) assert.match(l, /done in/, `worker ${i} ran no job`);
  assert.throws(() => readFileSync(join(outDir, 'poison.mp4')), 'no output for the failed video');
  // The reference: the same folder through a local `reshoot batch` (no --redis), which fails the poisoned video too.
  const localDir = join(dir, 'local1');
  const l = await runCli(['batch', src, '--out-dir', localDir, '--config', configFile, '--generator', gen], { timeoutMs: 240_000 });
  assert.equal(l.code, 1, l.stdout + l.stderr);
  assert.match(l.stdout, /batch: 4 done, 1 failed/, l.stderr);
  for (const n of good) assert.ok(readFileSync(join(outDir, `${n}.mp4`)).equals(readFileSync(join(localDir, `${n}.mp4`))), `${n} differs from the local batch`);
  for (const x of w) x.child.kill('SIGKILL');
});

test('a worker SIGKILLed mid-segment: the other takes the stalled job over, the output is identical, nothing lost or doubled', { timeout: 240_000 }, async () => {
  const names = ['kill0', 'kill1'];
  const src = inputsFolder(names, 'batch2');
  const gen = 'slow:3';
  const w = [startWorker(5), startWorker(5)];
  const outDir = join(dir, 'out2');
  const batch = runCli(['batch', src, '--redis', redis.url, '--out-dir', outDir, '--config', configFile, '--generator', gen], { timeoutMs: 200_000 });
  // Whichever worker starts a segment first dies a second into its 3 s generator call; its lock (5 s) expires.
  const victim = await Promise.race(w.map((x, i) => x.waitFor(/gpu: \S+ segment \d \(attempt/).then(() => i)));
  await new Promise((res) => setTimeout(res, 1000));
  w[victim].child.kill('SIGKILL');
  const r = await batch;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /batch: 2 done, 0 failed/);
  const survivor = w[1 - victim].log();
  const started = w[victim].log().match(/gpu: (\S+ segment \d) \(attempt/)![1];
  // The killed worker's segment was run again by the survivor (the stalled job) and completed once.
  assert.match(survivor, new RegExp(`${started.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} done`));
  const local = await localOutputs(gen, names);
  for (const n of names) assert.ok(readFileSync(join(outDir, `${n}.mp4`)).equals(local.get(n)!), `${n} differs from the local run`);
  // Each segment clip written once per video: two records, no leftovers of the killed run.
  for (const n of names) {
    const seg = join(outDir, `${n}.run`, 'segments');
    const files = execFileSync('ls', ['-A', seg]).toString().trim().split('\n').sort();
    assert.deepEqual(files, ['seg-00.json', 'seg-00.mp4', 'seg-01.json', 'seg-01.mp4']);
  }
  w[1 - victim].child.kill('SIGKILL');
});

test('redis restarted mid-batch (AOF on): the jobs survive and every video finishes, identical', { timeout: 240_000 }, async () => {
  const names = ['restart0', 'restart1'];
  const src = inputsFolder(names, 'batch3');
  const gen = 'slow:2';
  const w = [startWorker(5), startWorker(5)];
  const outDir = join(dir, 'out3');
  const batch = runCli(['batch', src, '--redis', redis.url, '--out-dir', outDir, '--config', configFile, '--generator', gen], { timeoutMs: 200_000 });
  await Promise.race(w.map((x) => x.waitFor(/gpu: \S+ segment \d \(attempt/)));
  await redis.restart();
  const r = await batch;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /batch: 2 done, 0 failed/);
  const local = await localOutputs(gen, names);
  for (const n of names) assert.ok(readFileSync(join(outDir, `${n}.mp4`)).equals(local.get(n)!), `${n} differs from the local run`);
  for (const x of w) x.child.kill('SIGKILL');
});
