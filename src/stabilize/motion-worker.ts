/**
 * Worker thread for analyzeMotionParallel: loads OpenCV once, then answers
 * {id, prev, next, maskPrev?, maskNext?} with {id, result} or {id, error}.
 * Started by parallel.ts with execArgv ['--import', 'tsx'].
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadOpenCV } from '../cv/opencv.js';
import type { GrayFrame } from '../video/types.js';
import { estimatePrepared, prepareFrame, releasePrepared, resolveMotionOptions, type MotionOptions, type PreparedFrame } from './motion.js';

interface Job {
  id: number;
  prev: GrayFrame;
  next: GrayFrame;
  maskPrev?: GrayFrame;
  maskNext?: GrayFrame;
}

const port = parentPort;
if (!port) throw new Error('motion-worker must run as a worker thread');
const cv = await loadOpenCV();
const o = resolveMotionOptions((workerData as { options?: MotionOptions } | undefined)?.options ?? {});
port.on('message', (job: Job) => {
  let a: PreparedFrame | undefined;
  let b: PreparedFrame | undefined;
  try {
    a = prepareFrame(cv, job.prev, job.maskPrev, o);
    b = prepareFrame(cv, job.next, job.maskNext, o);
    const result = estimatePrepared(cv, a, b, o);
    delete result.tracks;
    port.postMessage({ id: job.id, result });
  } catch (err) {
    port.postMessage({ id: job.id, error: (err as Error).message, userError: (err as Error).name === 'ReshootError' });
  } finally {
    releasePrepared(a);
    releasePrepared(b);
  }
});
port.postMessage({ ready: true });
