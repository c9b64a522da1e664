/**
 * analyzeMotionParallel: the same result as analyzeMotion, with the video cut
 * into blocks of keyframeInterval (K) pairs spread over worker threads (default
 * 2: "use both cores"). Each worker loads OpenCV once and runs a MotionAnalyzer
 * over its blocks: block b (pairs bK+1 .. bK+K) goes to worker b % workers,
 * which seeks to frame bK (a keyframe: corners are detected afresh there, so the
 * result is identical to the sequential analysis) and tracks on through the
 * block. Every frame is copied to one worker, the keyframes to two. Frames
 * stream in; at most 2 blocks per worker are in flight, so memory does not grow
 * with the video. The workers start while ffmpeg already decodes.
 */
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../util/ts-worker.js';
import { ReshootError } from '../util/errors.js';
import type { GrayFrame } from '../video/types.js';
import { identity } from './similarity.js';
import { MotionAnalyzer, resolveMotionOptions, videoMotionOptions, type AnalyzeOptions, type MotionEstimate } from './motion.js';

export interface ParallelAnalyzeOptions extends AnalyzeOptions {
  /** Threads that analyse (default 2): this thread plus workers - 1 worker threads. */
  workers?: number;
}

interface Pending {
  resolve: (m: MotionEstimate) => void;
  reject: (e: Error) => void;
}

interface WorkerHandle {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Resolves when the worker has loaded OpenCV; rejects when it could not start. */
  started: Promise<void>;
  ready: boolean;
  /** Pairs sent and not answered yet. */
  inFlight: number;
}

function startWorker(options: object): WorkerHandle {
  const worker = startTsWorker('src/stabilize/motion-worker.ts', { options });
  const pending = new Map<number, Pending>();
  let resolveStart!: () => void;
  let rejectStart!: (e: Error) => void;
  const started = new Promise<void>((res, rej) => {
    resolveStart = res;
    rejectStart = rej;
  });
  started.catch(() => undefined);
  const handle: WorkerHandle = { worker, pending, started, ready: false, inFlight: 0 };
  worker.on('message', (msg: { ready?: boolean; id?: number; result?: MotionEstimate; error?: string; userError?: boolean }) => {
    if (msg.ready) {
      handle.ready = true;
      resolveStart();
      return;
    }
    const p = pending.get(msg.id!);
    if (!p) return;
    pending.delete(msg.id!);
    handle.inFlight--;
    if (msg.error !== undefined) p.reject(msg.userError ? new ReshootError(msg.error) : new Error(msg.error));
    else p.resolve(msg.result!);
  });
  const fail = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    if (!handle.ready) rejectStart(err);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (code !== 0) fail(new Error(`motion worker exited with code ${code}`));
  });
  return handle;
}

/**
 * Per-frame motions (as analyzeMotion, identical results) with the work shared
 * between this thread and workers - 1 worker threads. The video is cut into
 * blocks of keyframeInterval (K) pairs; block b (pairs bK+1 .. bK+K) starts on
 * keyframe bK, so it can be analysed by any thread. A new block goes to a
 * started worker with less than 2 blocks queued, else this thread analyses it
 * itself as its frames arrive. So analysis starts at once (the workers' OpenCV
 * load, about half a second each, is not waited for), nothing is queued without
 * bound, and this thread never sits idle while the workers are busy.
 */
export async function analyzeMotionParallel(
  frames: AsyncIterable<GrayFrame> | Iterable<GrayFrame>,
  opts: ParallelAnalyzeOptions = {},
): Promise<MotionEstimate[]> {
  const { maskFor, onProgress, total, workers: nWorkers = 2, ...motionOpts } = opts;
  const o = resolveMotionOptions(videoMotionOptions(motionOpts));
  if (!(Number.isInteger(nWorkers) && nWorkers >= 1)) throw new ReshootError(`workers must be a whole number >= 1, got ${nWorkers}`);
  const K = o.keyframeInterval;
  const iterable = frames as AsyncIterable<GrayFrame> & Iterable<GrayFrame>;
  const it: AsyncIterator<GrayFrame> | Iterator<GrayFrame> =
    typeof iterable[Symbol.asyncIterator] === 'function' ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
  const workers: WorkerHandle[] = [];
  let finished = false;
  let startError: Error | undefined;
  try {
    for (let k = 1; k < nWorkers; k++) {
      const w = startWorker({ ...o, keepTracks: false });
      workers.push(w);
      w.started.catch((e: Error) => (startError ??= e));
    }
    const local = MotionAnalyzer.create(o);
    local.catch(() => undefined);
    let localAnalyzer: MotionAnalyzer | undefined;
    let localReady = false;
    void local.then(() => (localReady = true), () => undefined);
    const results: Promise<MotionEstimate>[] = [];
    const inFlight: Promise<unknown>[] = [];
    let prev: GrayFrame | undefined;
    let prevMask: GrayFrame | undefined;
    let i = 0;
    let done = 0;
    /** Who analyses the current block: a worker, or this thread (undefined). */
    let owner: WorkerHandle | undefined;
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        const g = r.value;
        const mask = maskFor ? await maskFor(i) : undefined;
        if (i === 0) {
          results.push(Promise.resolve({ matrix: identity(), model: o.model, corners: 0, tracked: 0, inliers: 0, rmsError: 0 }));
          onProgress?.(++done, total);
        } else {
          const blockStart = (i - 1) % K === 0;
          if (blockStart) {
            if (startError) throw startError;
            // Nobody can take the block yet (this thread still loading OpenCV, no worker started): wait for the first.
            if (!localReady && !workers.some((w) => w.ready)) {
              await Promise.race([local, ...workers.map((w) => w.started)]).catch(() => undefined);
              if (startError) throw startError;
            }
            const free = workers.filter((w) => w.ready && w.inFlight < 2 * K).sort((a, b) => a.inFlight - b.inFlight)[0];
            owner = free ?? (localReady || !workers.some((w) => w.ready) ? undefined : workers.filter((w) => w.ready).sort((a, b) => a.inFlight - b.inFlight)[0]);
          }
          const id = i;
          if (owner) {
            const w = owner;
            const job = { id, next: g, maskNext: mask, start: blockStart ? { index: i - 1, frame: prev!, mask: prevMask } : undefined };
            const p = new Promise<MotionEstimate>((resolve, reject) => {
              w.pending.set(id, { resolve, reject });
              w.inFlight++;
              w.worker.postMessage(job);
            });
            p.catch(() => undefined);
            results.push(p);
            inFlight.push(p.then(() => onProgress?.(++done, total), () => undefined));
            if (inFlight.length >= 2 * K * Math.max(1, workers.length) + K) await inFlight.shift();
          } else {
            localAnalyzer ??= await local;
            if (blockStart) {
              localAnalyzer.seek(i - 1);
              localAnalyzer.push(prev!, prevMask);
            }
            const m = localAnalyzer.push(g, mask);
            delete m.tracks;
            results.push(Promise.resolve(m));
            onProgress?.(++done, total);
          }
        }
        prev = g;
        prevMask = mask;
        i++;
      }
      finished = true;
      return await Promise.all(results);
    } finally {
      localAnalyzer?.dispose();
      if (!localAnalyzer) void local.then((a) => a.dispose(), () => undefined);
    }
  } finally {
    if (!finished) await it.return?.();
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
