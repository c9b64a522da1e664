/** `reshoot worker`, `reshoot batch --redis`, `reshoot queue status|retry|clean` (src/queue). */
import { mkdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { cleanFinished, connect, DEFAULT_RETRY, listVideos, parseQueues, queueCounts, ReshootQueues, retryFailed, runQueuedBatch, startWorker, videoStatus, type VideoStatus } from '../../queue/index.js';
import { ReshootError } from '../../util/errors.js';
import { batchInputs, batchOutputs, configFromFlags, type BatchCliOptions } from './process.js';
import { preflightProcess } from '../../pipeline/preflight.js';
import { defaultRunDir } from '../../pipeline/run-folder.js';
import { probeVideo } from '../../video/index.js';

export interface WorkerCliOptions {
  redis: string;
  queues: string;
  concurrency: number;
  lockSeconds: number;
  /** false with --no-prefetch. */
  prefetch?: boolean;
}

export async function workerCommand(opts: WorkerCliOptions): Promise<void> {
  if (!(opts.lockSeconds > 0)) throw new ReshootError(`--lock-seconds must be > 0; got ${opts.lockSeconds}`);
  const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
  const worker = await startWorker({ redis: opts.redis, queues: parseQueues(opts.queues), concurrency: opts.concurrency, lockMs: Math.round(opts.lockSeconds * 1000), prefetch: opts.prefetch !== false, log });
  log(`worker ${process.pid}: taking jobs from ${opts.queues} on ${opts.redis} (concurrency ${opts.concurrency}${opts.prefetch === false ? ', no prefetch' : ''}); Ctrl-C stops it`);
  // Runs until a signal ends the process; a job in hand then stalls and another worker takes it over.
  await new Promise<void>(() => undefined);
  await worker.close();
}

export interface QueuedBatchCliOptions extends BatchCliOptions {
  redis: string;
  attempts: number;
  backoffSeconds: number;
}

export async function queuedBatchCommand(source: string, opts: QueuedBatchCliOptions): Promise<void> {
  const config = configFromFlags(opts);
  const inputs = batchInputs(source);
  if (!(Number.isInteger(opts.attempts) && opts.attempts >= 1)) throw new ReshootError(`--attempts must be a whole number >= 1; got ${opts.attempts}`);
  if (!(opts.backoffSeconds >= 0)) throw new ReshootError(`--backoff-seconds must be >= 0; got ${opts.backoffSeconds}`);
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const outputs = batchOutputs(inputs, outDir);
  // The checks of a local run, here, before anything is queued: a bad video is refused at once. Up to 8
  // probes (one ffprobe each) at a time, for shared storage with latency; on a local disk at load 9 six
  // probes took 1.1 s either way (CPU-bound).
  const infos: Awaited<ReturnType<typeof probeVideo>>[] = [];
  let next = 0;
  const probe = async () => {
    while (next < outputs.length) {
      const i = next++;
      infos[i] = await probeVideo(resolve(outputs[i].input));
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, outputs.length) }, probe));
  const videos = outputs.map(({ input, output }, i) => {
    preflightProcess({ input, output, runDir: defaultRunDir(output), info: infos[i], config, overwrite: opts.overwrite, resume: opts.resume });
    return { input: resolve(input), output, config, overwrite: opts.overwrite };
  });
  const t0 = performance.now();
  const err = (s: string) => process.stderr.write(`${s}\n`);
  const results = await runQueuedBatch({
    redis: opts.redis,
    videos,
    retry: { attempts: opts.attempts, backoffMs: Math.round(opts.backoffSeconds * 1000) },
    onChange: (s, all) => {
      const finished = all.filter((a) => a.state === 'done' || a.state === 'failed').length;
      err(`[${finished}/${all.length}] ${basename(s.input)}: ${s.state}${s.segments ? ` (segments ${s.segmentsDone}/${s.segments})` : ''}${s.reason ? `: ${s.reason}` : ''}`);
    },
  });
  process.stdout.write(resultTable(results));
  const failed = results.filter((r) => r.state !== 'done').length;
  process.stdout.write(`batch: ${results.length - failed} done, ${failed} failed (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  if (failed > 0) process.exitCode = 1;
}

/** One row per video: status, seconds, the output or the reason it failed. */
export function resultTable(rows: VideoStatus[]): string {
  const w = Math.max(5, ...rows.map((r) => basename(r.input).length));
  const lines = [`${'video'.padEnd(w)}  status  seconds  output / reason`];
  for (const r of rows) {
    lines.push(`${basename(r.input).padEnd(w)}  ${(r.state === 'done' ? 'done' : 'FAILED').padEnd(6)}  ${(r.seconds?.toFixed(1) ?? '-').padStart(7)}  ${r.state === 'done' ? r.output : (r.reason ?? r.state)}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function queueStatusCommand(opts: { redis: string; json?: boolean }): Promise<void> {
  await withQueues(opts.redis, async (q) => {
    const counts = await queueCounts(q);
    const videos = await Promise.all((await listVideos(q)).map((v) => videoStatus(q, v)));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ counts, videos }, null, 2)}\n`);
      return;
    }
    for (const [name, c] of Object.entries(counts)) process.stdout.write(`${name}: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
    for (const v of videos) process.stdout.write(`${v.video}  ${v.state}${v.segments ? ` segments ${v.segmentsDone}/${v.segments}` : ''}${v.reason ? `: ${v.reason}` : ''}\n`);
  });
}

export async function queueRetryCommand(opts: { redis: string }): Promise<void> {
  await withQueues(opts.redis, async (q) => {
    const ids = await retryFailed(q);
    process.stdout.write(ids.length ? `re-queued ${ids.length} failed video(s): ${ids.join(', ')}\n` : 'no failed videos\n');
  });
}

export async function queueCleanCommand(opts: { redis: string; graceSeconds: number }): Promise<void> {
  await withQueues(opts.redis, async (q) => {
    const n = await cleanFinished(q, Math.round(opts.graceSeconds * 1000));
    process.stdout.write(`removed ${n} finished job(s)\n`);
  });
}

async function withQueues(url: string, fn: (q: ReshootQueues) => Promise<void>): Promise<void> {
  const connection = connect(url);
  const q = new ReshootQueues(connection);
  try {
    await fn(q);
  } finally {
    await q.close().catch(() => undefined);
    connection.disconnect();
  }
}

export { DEFAULT_RETRY };
