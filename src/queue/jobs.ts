/**
 * Videos as BullMQ flows (issue 21). Per video:
 *
 *   finish (cpu)  <- prepare (cpu)          added together by enqueueVideo (a FlowProducer flow)
 *                 <- segment k (gpu), k = 0..n-1   added by the prepare job once the plan says n
 *
 * The segment count is only known after the plan step, so prepare adds the segment jobs as further
 * children of finish while it is still active (finish cannot leave waiting-children before). Job ids are
 * derived from the video, so a prepare job that runs again (retry, stall) adds nothing twice. Every job
 * works on the run folder (processVideo's `phase`), which must be on storage every worker sees; a job that
 * runs again resumes from what the folder holds.
 */
import { createHash } from 'node:crypto';
import { basename, extname, resolve } from 'node:path';
import { FlowProducer, Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { PipelineConfig } from '../pipeline/config.js';
import type { ProcessPhase } from '../pipeline/process.js';
import { ReshootError } from '../util/errors.js';

/** Queue names: `cpu` takes prepare and finish, `gpu` the generator's segment jobs. */
export const QUEUE_NAMES = ['cpu', 'gpu'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
/** Redis key prefix of every reshoot queue. */
export const QUEUE_PREFIX = 'reshoot';

export interface RetryPolicy {
  /** Tries per job before it fails (BullMQ `attempts`). Default 3. */
  attempts: number;
  /** First retry delay, ms; doubles each time (BullMQ exponential backoff). Default 2000. */
  backoffMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 2000 };

/** What every job of a video carries (JSON in redis). */
export interface VideoJobData {
  /** The video's id: every job id of its flow starts with it. */
  video: string;
  input: string;
  output: string;
  runDir?: string;
  config: PipelineConfig;
  overwrite?: boolean;
  retry: RetryPolicy;
  phase: ProcessPhase;
}

export interface VideoSpec {
  input: string;
  output: string;
  runDir?: string;
  config: PipelineConfig;
  overwrite?: boolean;
}

/** One redis connection as BullMQ wants it (no per-request retry limit: commands wait through a redis restart). */
export function connect(url: string): Redis {
  if (!/^redis(s)?:\/\//.test(url)) throw new ReshootError(`--redis must be a redis:// or rediss:// URL; got "${url}"`);
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
}

/** The fully qualified name BullMQ wants for a parent's queue. */
export function qualified(queue: QueueName): string {
  return `${QUEUE_PREFIX}:${queue}`;
}

/** A stable id for a video: its output path decides (one output, one flow); readable name first. */
export function videoId(input: string, output: string): string {
  const name = basename(output, extname(output)).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(`${resolve(input)}\0${resolve(output)}`).digest('hex').slice(0, 10);
  return `${name}-${hash}`;
}

export const jobIds = {
  finish: (video: string) => `${video}-finish`,
  prepare: (video: string) => `${video}-prepare`,
  segment: (video: string, k: number) => `${video}-seg-${k}`,
};

export function jobOptions(retry: RetryPolicy) {
  return { attempts: retry.attempts, backoff: { type: 'exponential' as const, delay: retry.backoffMs } };
}

export class ReshootQueues {
  readonly cpu: Queue;
  readonly gpu: Queue;
  readonly flows: FlowProducer;

  constructor(readonly connection: Redis) {
    this.cpu = new Queue('cpu', { connection, prefix: QUEUE_PREFIX });
    this.gpu = new Queue('gpu', { connection, prefix: QUEUE_PREFIX });
    this.flows = new FlowProducer({ connection, prefix: QUEUE_PREFIX });
  }

  queue(name: QueueName): Queue {
    return name === 'cpu' ? this.cpu : this.gpu;
  }

  async close(): Promise<void> {
    await Promise.all([this.cpu.close(), this.gpu.close(), this.flows.close()]);
  }
}

/**
 * Adds a video's flow (finish <- prepare). A flow of the same video still in progress is left alone (this
 * client follows it); a finished one (completed or failed) is removed and added again: its run folder
 * makes the new run reuse every step and segment that is done.
 */
export async function enqueueVideo(q: ReshootQueues, spec: VideoSpec, retry: RetryPolicy = DEFAULT_RETRY): Promise<string> {
  const video = videoId(spec.input, spec.output);
  const existing = await Job.fromId(q.cpu, jobIds.finish(video));
  if (existing) {
    const state = await existing.getState();
    if (state !== 'completed' && state !== 'failed') return video;
    await removeVideo(q, video);
  }
  const base = { video, input: resolve(spec.input), output: resolve(spec.output), runDir: spec.runDir && resolve(spec.runDir), config: spec.config, overwrite: spec.overwrite, retry };
  await q.flows.add({
    name: 'finish',
    queueName: 'cpu',
    data: { ...base, phase: 'finish' } satisfies VideoJobData,
    opts: { jobId: jobIds.finish(video), ...jobOptions(retry) },
    children: [
      {
        name: 'prepare',
        queueName: 'cpu',
        data: { ...base, phase: 'prepare' } satisfies VideoJobData,
        opts: { jobId: jobIds.prepare(video), ...jobOptions(retry), failParentOnFailure: true },
      },
    ],
  });
  return video;
}

/** Removes every job of a video (finish, prepare, segments). */
export async function removeVideo(q: ReshootQueues, video: string): Promise<void> {
  const ids: Array<[Queue, string]> = [[q.cpu, jobIds.finish(video)], [q.cpu, jobIds.prepare(video)]];
  for (let k = 0; k < 64; k++) ids.push([q.gpu, jobIds.segment(video, k)]);
  for (const [queue, id] of ids) {
    // remove() refuses a locked (active) job: that only happens for a flow still running, which is never removed.
    await queue.remove(id, { removeChildren: false }).catch(() => undefined);
  }
}

export type VideoState = 'waiting' | 'preparing' | 'segments' | 'finishing' | 'done' | 'failed' | 'unknown';

export interface VideoStatus {
  video: string;
  input: string;
  output: string;
  state: VideoState;
  /** Segment jobs completed / known (0/0 until prepare has added them). */
  segmentsDone: number;
  segments: number;
  /** Why it failed: the failing job's own reason (prepare, a segment or finish). */
  reason?: string;
  /** Seconds from enqueue to the end of finish (done or failed). */
  seconds?: number;
}

/** Where a video's flow stands, from its jobs' states. */
export async function videoStatus(q: ReshootQueues, video: string): Promise<VideoStatus> {
  const finish = await Job.fromId<VideoJobData>(q.cpu, jobIds.finish(video));
  if (!finish) return { video, input: '', output: '', state: 'unknown', segmentsDone: 0, segments: 0 };
  const base = { video, input: finish.data.input, output: finish.data.output };
  const segs: Job[] = [];
  for (let k = 0; ; k++) {
    const j = await Job.fromId(q.gpu, jobIds.segment(video, k));
    if (!j) break;
    segs.push(j);
  }
  const states = await Promise.all(segs.map((j) => j.getState()));
  const segmentsDone = states.filter((s) => s === 'completed').length;
  const fstate = await finish.getState();
  // The job was read before its state: if it finished in between, that copy has no finishedOn yet (a 'done'
  // row without seconds, seen in a CI run of test/queue.test.ts). Redis sets finishedOn in the same step that
  // moves the job to completed/failed, so a copy read after the state has it.
  const ended = fstate === 'completed' || fstate === 'failed' ? ((await Job.fromId<VideoJobData>(q.cpu, jobIds.finish(video))) ?? finish) : finish;
  const seconds = ended.finishedOn ? (ended.finishedOn - ended.timestamp) / 1000 : undefined;
  if (fstate === 'completed') return { ...base, state: 'done', segmentsDone, segments: segs.length, seconds };
  if (fstate === 'failed') {
    // The root cause: a child's own reason (the parent's says only that a child failed).
    const prepare = await Job.fromId(q.cpu, jobIds.prepare(video));
    const reason = (prepare && (await prepare.getState()) === 'failed' ? prepare.failedReason : undefined)
      ?? segs.find((_, i) => states[i] === 'failed')?.failedReason
      ?? finish.failedReason;
    return { ...base, state: 'failed', segmentsDone, segments: segs.length, reason, seconds };
  }
  if (fstate === 'waiting-children') return { ...base, state: segs.length ? 'segments' : 'preparing', segmentsDone, segments: segs.length };
  if (fstate === 'active' || fstate === 'waiting' || fstate === 'delayed' || fstate === 'prioritized') return { ...base, state: 'finishing', segmentsDone, segments: segs.length };
  return { ...base, state: 'waiting', segmentsDone, segments: segs.length };
}

/** Every video with a finish job in the cpu queue, oldest first. */
export async function listVideos(q: ReshootQueues): Promise<string[]> {
  const jobs = await q.cpu.getJobs(['waiting-children', 'wait', 'active', 'delayed', 'prioritized', 'completed', 'failed'], 0, -1, true);
  return jobs.filter((j) => j.name === 'finish' && j.id).map((j) => (j.data as VideoJobData).video);
}

/** Job counts per queue (BullMQ's states). */
export async function queueCounts(q: ReshootQueues): Promise<Record<QueueName, Record<string, number>>> {
  const types = ['waiting-children', 'wait', 'active', 'delayed', 'completed', 'failed'] as const;
  return { cpu: await q.cpu.getJobCounts(...types), gpu: await q.gpu.getJobCounts(...types) };
}

/** `reshoot queue retry`: every failed video's flow again (its run folder keeps what was done). Returns their ids. */
export async function retryFailed(q: ReshootQueues): Promise<string[]> {
  const out: string[] = [];
  for (const video of await listVideos(q)) {
    const finish = await Job.fromId<VideoJobData>(q.cpu, jobIds.finish(video));
    if (!finish || (await finish.getState()) !== 'failed') continue;
    const d = finish.data;
    await enqueueVideo(q, { input: d.input, output: d.output, runDir: d.runDir, config: d.config, overwrite: d.overwrite }, d.retry);
    out.push(video);
  }
  return out;
}

/** `reshoot queue clean`: removes finished jobs (completed and failed) older than `graceMs`. Returns how many. */
export async function cleanFinished(q: ReshootQueues, graceMs = 0): Promise<number> {
  let n = 0;
  for (const queue of [q.cpu, q.gpu]) for (const type of ['completed', 'failed'] as const) n += (await queue.clean(graceMs, 0, type)).length;
  return n;
}
