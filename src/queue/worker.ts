/**
 * A reshoot worker: takes jobs from the `cpu` and/or `gpu` queue and runs each as one processVideo phase
 * against the video's run folder (src/queue/jobs.ts has the flow). A worker that dies mid-job leaves its
 * job locked until the lock expires; BullMQ's stalled check then hands it to another worker, which resumes
 * from the run folder (finished steps and segments are reused, a half-written clip never existed: outputs
 * are renamed into place when complete).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { loadOpenCV } from '../cv/opencv.js';
import { processVideo } from '../pipeline/process.js';
import { defaultRunDir, segmentWorkDir } from '../pipeline/run-folder.js';
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
  /**
   * Prefetch on the gpu queue (default true): the next segment job is taken as soon as the one in
   * hand is done with the generator, so its decode runs, and the generator starts on it, while the first one
   * still runs temporal, composite and encode. Never more than `concurrency` jobs before or in the generator,
   * so a worker holds no job another idle worker could run. Two generator instances exist for that while
   * (for an in-process model: twice its memory); false takes one segment job at a time.
   */
  prefetch?: boolean;
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
  /** Called when a segment job is done with the generator (its clip still to finish: temporal, composite, encode). */
  onGenerated?: () => void;
}

/** The work folder processVideo gives segment k of a job's run. */
export function jobSegmentWorkDir(d: Pick<VideoJobData, 'output' | 'runDir'>, k: number): string {
  return segmentWorkDir(d.runDir ? resolve(d.runDir) : defaultRunDir(d.output), k);
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
    const lock = await acquireSegmentLock(jobSegmentWorkDir(d, k), { job: String(job.id), token: job.token }, {
      staleMs: opts.lockMs ?? 30000,
      onWait: (h) => log(`${d.video} segment ${k}: waiting for the lock of ${h.host}:${h.pid} (job ${h.job})`),
      onTakeover: (h) => log(`${d.video} segment ${k}: took over the stale lock of ${h.host}:${h.pid}`),
    });
    const waitedMs = performance.now() - t0;
    try {
      const r = await processVideo({
        ...common,
        phase: d.phase,
        overwrite: d.overwrite,
        signal: lock.signal,
        onEvent: (e) => e.type === 'stage-end' && e.stage === 'generate' && opts.onGenerated?.(),
      });
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
  const prefetch = opts.prefetch ?? true;
  // One connection per Worker (BullMQ blocks on it while waiting for jobs).
  const own = names.map(() => connect(opts.redis));
  const processor = (name: QueueName) => async (job: Job<VideoJobData>, token?: string, onGenerated?: () => void) => {
    const what = typeof job.data.phase === 'object' ? `segment ${job.data.phase.segment}` : job.data.phase;
    log(`${name}: ${job.data.video} ${what} (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1})`);
    const t0 = performance.now();
    try {
      const r = await runJob(job, queues, opts.threads, { lockMs: lockDuration, log, onGenerated });
      log(`${name}: ${job.data.video} ${what} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return r;
    } catch (err) {
      log(`${name}: ${job.data.video} ${what} failed: ${(err as Error)?.message ?? String(err)}`);
      throw err;
    }
  };
  const workers = names.map(
    (name, i) =>
      new Worker<VideoJobData>(
        name,
        name === 'gpu' && prefetch ? null : (job, token) => processor(name)(job, token),
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
  const gpu = names.indexOf('gpu');
  const manual = gpu >= 0 && prefetch ? prefetching(workers[gpu], processor('gpu'), concurrency, lockDuration, log) : null;
  return {
    async close(force = false) {
      await manual?.close(force);
      await Promise.all(workers.map((w) => w.close(force)));
      await queues.close();
      for (const c of [connection, ...own]) c.disconnect();
    },
  };
}

/**
 * The gpu queue with prefetch: jobs fetched by hand (BullMQ's manual processing: getNextJob, our own lock
 * renewal, moveToCompleted / moveToFailed, which apply the attempts, backoff and failParentOnFailure of the
 * job as the automatic loop does) so that the next job is taken when the generator is free, not when the job
 * in hand has finished. The stalled check runs as in an automatic worker.
 */
function prefetching(
  w: Worker<VideoJobData>,
  run: (job: Job<VideoJobData>, token: string, onGenerated: () => void) => Promise<unknown>,
  concurrency: number,
  lockMs: number,
  log: (line: string) => void,
): { close(force: boolean): Promise<void> } {
  let closing = false;
  let beforeGenerator = 0; // jobs in hand not yet done with the generator
  let wake: (() => void) | null = null;
  const changed = () => (wake?.(), (wake = null));
  const inHand = new Set<Promise<void>>();
  void w.startStalledCheckTimer();
  let n = 0;
  const loop = (async () => {
    while (!closing) {
      if (beforeGenerator >= concurrency) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const token = `${w.id}:prefetch:${n++}`;
      let job: Job<VideoJobData> | undefined;
      try {
        job = await w.getNextJob(token, { block: true });
      } catch (err) {
        if (!closing) log(`worker error: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (!job) continue;
      beforeGenerator++;
      let passed = false;
      const pass = () => {
        if (passed) return;
        passed = true;
        beforeGenerator--;
        changed();
      };
      const j = job;
      const renew = setInterval(() => void j.extendLock(token, lockMs).catch((err: Error) => log(`lock of ${j.id}: ${err.message}`)), Math.max(500, Math.round(lockMs / 2)));
      const p = (async () => {
        try {
          const r = await run(j, token, pass);
          await j.moveToCompleted(r, token, false);
        } catch (err) {
          // A job whose lock was lost (stalled and given to another worker) can be neither completed nor failed here.
          await j.moveToFailed(err instanceof Error ? err : new Error(String(err)), token, false).catch((e: Error) => log(`job ${j.id}: ${e.message}`));
        } finally {
          clearInterval(renew);
          pass();
        }
      })().catch((err: Error) => log(`job ${j.id}: ${err.message}`));
      inHand.add(p);
      void p.finally(() => inHand.delete(p));
    }
  })();
  return {
    async close(force: boolean) {
      closing = true;
      changed();
      if (!force) await Promise.all(inHand);
      await w.close(force);
      await loop.catch(() => undefined);
    },
  };
}
