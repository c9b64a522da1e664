/**
 * Worker thread for analyzeMotionParallel: loads OpenCV once, then answers
 * {id, next, maskNext?, start?} with {id, result} or {id, error}. A job with
 * `start` ({index, frame, mask?}) begins a block: the worker's MotionAnalyzer
 * seeks to frame `start.index` and takes `start.frame` as the previous frame;
 * the following jobs continue the block (tracks carried as in MotionAnalyzer).
 * Started by parallel.ts from a bootstrap that registers tsx.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadOpenCV } from '../cv/opencv.js';
import type { GrayFrame } from '../video/types.js';
import { MotionAnalyzer, type MotionOptions } from './motion.js';

interface Job {
  id: number;
  next: GrayFrame;
  maskNext?: GrayFrame;
  start?: { index: number; frame: GrayFrame; mask?: GrayFrame };
}

const port = parentPort;
if (!port) throw new Error('motion-worker must run as a worker thread');
// OpenCV comes from the one loader (src/cv/opencv.ts): it requires the CommonJS build synchronously,
// which also suits a worker thread (an ESM import of the 10 MB file doubled a worker's start-up).
const analyzer = await MotionAnalyzer.create((workerData as { options?: MotionOptions } | undefined)?.options ?? {}, await loadOpenCV());
let broken = false;
port.on('message', (job: Job) => {
  try {
    if (job.start) {
      broken = false;
      analyzer.seek(job.start.index);
      analyzer.push(job.start.frame, job.start.mask);
    } else if (broken) {
      throw new Error('motion worker: an earlier job of this block failed');
    }
    const result = analyzer.push(job.next, job.maskNext);
    delete result.tracks;
    port.postMessage({ id: job.id, result });
  } catch (err) {
    broken = true;
    port.postMessage({ id: job.id, error: (err as Error).message, userError: (err as Error).name === 'ReshootError' });
  }
});
port.postMessage({ ready: true });
