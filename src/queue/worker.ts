/**
 * A reshoot worker: takes jobs from the `cpu` and/or `gpu` queue and runs each as one processVideo phase
 * against the video's run folder (src/queue/jobs.ts has the flow). A worker that dies mid-job leaves its
 * job locked until the lock expires; BullMQ's stalled check then hands it to another worker, which resumes
 * from the run folder (finished steps and segments are reused, a half-written clip never existed: outputs
 * are renamed into place when complete).
 */
import { hostname } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { loadOpenCV } from '../cv/opencv.js';
import { processVideo } from '../pipeline/process.js';
import { ReshootError } from '../util/errors.js';
import { acquireSegmentLock } from './segment-lock.js';
import { connect, jobIds, jobOptions, qualified, QUEUE_NAMES, QUEUE_PREFIX, ReshootQueues, type QueueName, type VideoJobData } from './jobs.js';

export interface WorkerOptions {
  redis: string;
  /** Queues to take jobs from. Default both. */
  queues?: QueueName[];
  /** Jobs at once per queue. Default 1. */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal, ms (BullMQ lockDuration; renewed every half). A killed
   * worker's job is taken over after about this long plus the stalled-check interval. Default 30000.
   */
  lockMs?: number;
  /** Threads of the pose/mask models per job. */
  threads?: number;
  /** One line per job start and end. */
  log?: (line: string) => void;
}

export interface RunningWorker {
  /** Stops taking jobs; with `force`, does not wait for the jobs in hand. */
  close(force?: boolean): Promise<void>;
}

/** Parses `cpu,gpu` into queue names; one clear line for anything else. */
export function parseQueues(list: string): QueueName[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.find((n) => !(QUEUE_NAMES as readonly string[]).includes(n));
  if (bad !== undefined || names.length === 0) throw new ReshootError(`--queues must list ${QUEUE_NAMES.join(' and/or ')} (comma-separated); got "${list}"`);
  return [...new Set(names)] as QueueName[];
}

export interface RunJobOptions {
  /** A segment's lock file (work/seg-NN/lock.json) is stale after this long without renewal, ms. Default 30000. */
  lockMs?: number;
  log?: (line: string) => void;
}

/** The work folder processVideo gives segment k of a job's run (see src/pipeline/process.ts). */
export function segmentWorkDir(d: Pick<VideoJobData, 'output' | 'runDir'>, k: number): string {
  const runDir = resolve(d.runDir ?? join(dirname(d.output), `${basename(d.output, extname(d.output))}.run`));
  return join(runDir, 'work', `seg-${String(k).padStart(2, '0')}`);
}

/**
 * Runs one job: its phase of its video. Prepare also adds the segment jobs its plan asks for. A segment
 * job first takes its work folder's lock file (segment-lock.ts): a second live worker on the same segment
 * (the first lost its BullMQ lock) waits for it instead of sharing the folder, then reuses the finished clip.
 */
export async function runJob(job: Pick<Job<VideoJobData>, 'data' | 'id' | 'token'>, queues: ReshootQueues, threads?: number, opts: RunJobOptions = {}): Promise<{ segments?: number; seconds: number; waitedMs?: number }> {
  const d = job.data;
  const common = { input: d.input, output: d.output, config: d.config, runDir: d.runDir, threads };
  if (typeof d.phase === 'object') {
    const log = opts.log ?? (() => undefined);
    const k = d.phase.segment;
    const t0 = performance.now();
    const lock = await acquireSegmentLock(segmentWorkDir(d, k), { job: String(job.id), token: job.token }, {
      staleMs: opts.lockMs ?? 30000,
      onWait: (h) => log(`${d.video} segment ${k}: waiting for the lock of ${h.host}:${h.pid} (job ${h.job})`),
      onTakeover: (h) => log(`${d.video} segment ${k}: took over the stale lock of ${h.host}:${h.pid}`),
    });
    const waitedMs = performance.now() - t0;
    try {
      const r = await processVideo({ ...common, phase: d.phase, overwrite: d.overwrite, signal: lock.signal });
      return { seconds: r.seconds, waitedMs };
    } finally {
      await lock.release();
    }
  }
  if (d.phase === 'prepare') {
    // resume: a prepare job that runs again (retry, stall) continues the run folder instead of refusing it.
    const r = await processVideo({ ...common, phase: 'prepare', resume: true, overwrite: d.overwrite });
    const plan = await r.run.plan();
    for (const seg of plan.segments) {
      // Same id every time: a second prepare adds nothing twice. Each is one more child of finish.
      await queues.gpu.add('segment', { ...d, phase: { segment: seg.index } } satisfies VideoJobData, {
        jobId: jobIds.segment(d.video, seg.index),
        parent: { id: jobIds.finish(d.video), queue: qualified('cpu') },
        failParentOnFailure: true,
        ...jobOptions(d.retry),
      });
    }
    return { segments: plan.segments.length, seconds: r.seconds };
  }
  const r = await processVideo({ ...common, phase: d.phase, overwrite: d.overwrite });
  return { seconds: r.seconds };
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const names = opts.queues ?? [...QUEUE_NAMES];
  const concurrency = opts.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new ReshootError(`--concurrency must be a whole number >= 1; got ${concurrency}`);
  const lockDuration = opts.lockMs ?? 30000;
  const log = opts.log ?? (() => undefined);
  // Every phase needs OpenCV's WebAssembly runtime (about 1 s to start under load): start it before taking
  // jobs, so that a worker's first job does not carry it (a worker lives for many jobs).
  await loadOpenCV();
  const connection = connect(opts.redis);
  const queues = new ReshootQueues(connection);
  // One connection per Worker (BullMQ blocks on it while waiting for jobs).
  const own = names.map(() => connect(opts.redis));
  const workers = names.map(
    (name, i) =>
      new Worker<VideoJobData>(
        name,
        async (job) => {
          const what = typeof job.data.phase === 'object' ? `segment ${job.data.phase.segment}` : job.data.phase;
          log(`${name}: ${job.data.video} ${what} (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1})`);
          const t0 = performance.now();
          try {
            const r = await runJob(job, queues, opts.threads, { lockMs: lockDuration, log });
            log(`${name}: ${job.data.video} ${what} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
            return r;
          } catch (err) {
            log(`${name}: ${job.data.video} ${what} failed: ${(err as Error)?.message ?? String(err)}`);
            throw err;
          }
        },
        {
          connection: own[i],
          prefix: QUEUE_PREFIX,
          // Stored on every job it takes (job.processedBy): which worker ran what (bench/queue.ts timelines).
          name: `${hostname()}:${process.pid}`,
          concurrency,
          lockDuration,
          // A killed worker's job is found within this long after its lock expired.
          stalledInterval: Math.max(1000, Math.round(lockDuration / 2)),
          // A job may be taken over twice (two workers lost) before it counts as failed.
          maxStalledCount: 2,
        },
      ),
  );
  // Errors of the connection (redis restarting) are retried by ioredis; log them instead of crashing.
  for (const w of workers) w.on('error', (err) => log(`worker error: ${err.message}`));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    async close(force = false) {
      await Promise.all(workers.map((w) => w.close(force)));
      await queues.close();
      for (const c of [connection, ...own]) c.disconnect();
    },
  };
}
