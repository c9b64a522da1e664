// Prefetch on the gpu queue (src/queue/worker.ts): a worker takes the next segment job once the one in hand
// is done with the generator, never running two generator calls at once; the output stays a local run's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile } from './helpers.js';
import { resolveConfig } from '../src/pipeline/config.js';
import { processVideo } from '../src/pipeline/process.js';
import { connect, ReshootQueues, runQueuedBatch, startPrivateRedis, startWorker, type PrivateRedis, type RunningWorker } from '../src/queue/index.js';
import { resolveFfmpeg } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-qprefetch-'));
let redis: PrivateRedis;
let worker: RunningWorker | undefined;
const clip = join(dir, 'clip.mp4');

before(async () => {
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', mediaFile('vtest.avi'), '-frames:v', '36', '-vf', 'scale=320:240', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', clip]);
  redis = await startPrivateRedis(dir);
});

after(async () => {
  await worker?.close(true).catch(() => undefined);
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('one worker, three segment jobs: each next job starts before the previous one ends, the generator calls never overlap, the bytes are the local run\'s', { timeout: 180_000 }, async () => {
  const log = join(dir, 'gen.log');
  // The generator stand-in records when each call starts and ends (ms): one "GPU" per worker.
  const gen = `cmd:echo start $(date +%s%3N) >> ${log}; sleep 1; cp {in}/frames/*.png {out}/; echo end $(date +%s%3N) >> ${log}`;
  const config = resolveConfig({ pose: { enabled: false }, segments: { count: 3, overlap: 2, minLength: 8 }, generator: { spec: gen } });
  worker = await startWorker({ redis: redis.url, lockMs: 10_000 });
  const output = join(dir, 'queued.mp4');
  const [r] = await runQueuedBatch({ redis: redis.url, videos: [{ input: clip, output, config }], pollMs: 100 });
  assert.equal(r.state, 'done', r.reason);
  assert.equal(r.segments, 3);

  const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
  assert.equal(calls.length, 6);
  // start, end, start, end, ...: no call began while another ran.
  assert.deepEqual(calls.map((c) => c[0]), ['start', 'end', 'start', 'end', 'start', 'end']);

  const connection = connect(redis.url);
  const q = new ReshootQueues(connection);
  try {
    const segs = (await q.gpu.getJobs(['completed'])).sort((a, b) => a.processedOn! - b.processedOn!);
    assert.equal(segs.length, 3);
    // Prefetch: the next segment job was taken while the previous one still ran (temporal, composite, encode).
    for (let k = 1; k < 3; k++) assert.ok(segs[k].processedOn! < segs[k - 1].finishedOn!, `segment job ${segs[k].id} started ${segs[k].processedOn! - segs[k - 1].finishedOn!} ms after ${segs[k - 1].id} ended`);
    // Never two jobs of this worker before or in the generator: at most two in hand at any time.
    for (const s of segs) assert.ok(segs.filter((o) => o.processedOn! <= s.processedOn! && o.finishedOn! > s.processedOn!).length <= 2);
  } finally {
    await q.close();
    connection.disconnect();
  }
  await worker.close();
  worker = undefined;
  const whole = join(dir, 'whole.mp4');
  await processVideo({ input: clip, output: whole, config });
  assert.ok(readFileSync(output).equals(readFileSync(whole)), 'queued output differs from the local run');
});
