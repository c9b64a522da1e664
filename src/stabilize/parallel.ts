/**
 * analyzeMotionParallel: the same result as analyzeMotion, with frame pairs
 * spread over worker threads (default 2: "use both cores"). Each worker loads
 * OpenCV once. Frames stream in; at most 2 pairs per worker are in flight, so
 * memory does not grow with the video. Pair t goes to worker t % workers;
 * both frames of a pair are copied to that worker (a frame is thus copied
 * twice; cheap next to the feature tracking).
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../util/paths.js';
import { ReshootError } from '../util/errors.js';
import type { GrayFrame } from '../video/types.js';
import { identity } from './similarity.js';
import { resolveMotionOptions, type AnalyzeOptions, type MotionEstimate } from './motion.js';

export interface ParallelAnalyzeOptions extends AnalyzeOptions {
  /** Worker threads (default 2). */
  workers?: number;
}

interface Pending {
  resolve: (m: MotionEstimate) => void;
  reject: (e: Error) => void;
}

function startWorker(options: object): Promise<{ worker: Worker; pending: Map<number, Pending> }> {
  const file = join(packageRoot(), 'src', 'stabilize', 'motion-worker.ts');
  // Node 20 does not apply --import hooks to a worker's own entry file, so the
  // worker starts from a bootstrap that registers tsx's ESM hooks (its public
  // tsx/esm/api) and then imports the TypeScript worker file.
  const tsxApi = pathToFileURL(join(packageRoot(), 'node_modules', 'tsx', 'dist', 'esm', 'api', 'index.mjs')).href;
  if (!existsSync(new URL(tsxApi))) throw new Error(`tsx not found at ${tsxApi}; analyzeMotionParallel needs it to start TypeScript workers`);
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: { options } });
  const pending = new Map<number, Pending>();
  return new Promise((resolveStart, rejectStart) => {
    let ready = false;
    worker.on('message', (msg: { ready?: boolean; id?: number; result?: MotionEstimate; error?: string; userError?: boolean }) => {
      if (msg.ready) {
        ready = true;
        resolveStart({ worker, pending });
        return;
      }
      const p = pending.get(msg.id!);
      if (!p) return;
      pending.delete(msg.id!);
      if (msg.error !== undefined) p.reject(msg.userError ? new ReshootError(msg.error) : new Error(msg.error));
      else p.resolve(msg.result!);
    });
    const fail = (err: Error) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      if (!ready) rejectStart(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`motion worker exited with code ${code}`));
    });
  });
}

export async function analyzeMotionParallel(
  frames: AsyncIterable<GrayFrame> | Iterable<GrayFrame>,
  opts: ParallelAnalyzeOptions = {},
): Promise<MotionEstimate[]> {
  const { maskFor, onProgress, total, workers: nWorkers = 2, ...motionOpts } = opts;
  const o = resolveMotionOptions(motionOpts);
  if (!(Number.isInteger(nWorkers) && nWorkers >= 1)) throw new ReshootError(`workers must be a whole number >= 1, got ${nWorkers}`);
  const started = await Promise.allSettled(Array.from({ length: nWorkers }, () => startWorker({ ...o, keepTracks: false })));
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    const results: Promise<MotionEstimate>[] = [];
    const inFlight: Promise<unknown>[] = [];
    let prev: GrayFrame | undefined;
    let prevMask: GrayFrame | undefined;
    let i = 0;
    let done = 0;
    for await (const g of frames as AsyncIterable<GrayFrame>) {
      const mask = maskFor ? await maskFor(i) : undefined;
      if (i === 0) {
        results.push(Promise.resolve({ matrix: identity(), model: o.model, corners: 0, tracked: 0, inliers: 0, rmsError: 0 }));
        onProgress?.(++done, total);
      } else {
        const w = workers[i % workers.length];
        const id = i;
        const job = { id, prev: prev!, next: g, maskPrev: prevMask, maskNext: mask };
        const p = new Promise<MotionEstimate>((resolve, reject) => {
          w.pending.set(id, { resolve, reject });
          w.worker.postMessage(job);
        });
        p.catch(() => undefined);
        const tracked = p.then(() => onProgress?.(++done, total), () => undefined);
        results.push(p);
        inFlight.push(tracked);
        if (inFlight.length >= 2 * workers.length) await inFlight.shift();
      }
      prev = g;
      prevMask = mask;
      i++;
    }
    return await Promise.all(results);
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
