/**
 * Worker thread for analyzeMotionParallel: loads OpenCV once, then answers
 * {id, next, maskNext?, start?} with {id, result} or {id, error}. A job with
 * `start` ({index, frame, mask?}) begins a block: the worker's MotionAnalyzer
 * seeks to frame `start.index` and takes `start.frame` as the previous frame;
 * the following jobs continue the block (tracks carried as in MotionAnalyzer).
 * Started by parallel.ts from a bootstrap that registers tsx.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { CV } from '../cv/opencv.js';
import { packageRoot } from '../util/paths.js';
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
/**
 * OpenCV through require(), not loadOpenCV's import(): an ESM import of the
 * 10 MB CommonJS file has Node's export lexer (and tsx's loader) read it all
 * first, which doubles a worker's start-up (about 1.1 s -> 0.5 s here; every
 * analyzeMotionParallel call starts fresh workers, so this is paid per video).
 */
async function requireOpenCV(): Promise<CV> {
  type Emscripten = CV & { onRuntimeInitialized?: () => void; then?: unknown; calledRun?: boolean };
  const cv = createRequire(join(packageRoot(), 'package.json'))('@techstark/opencv-js') as Emscripten;
  if (!cv.calledRun && typeof (cv as { Mat?: unknown }).Mat !== 'function') {
    await new Promise<void>((resolve) => {
      const previous = cv.onRuntimeInitialized;
      cv.onRuntimeInitialized = () => {
        previous?.();
        resolve();
      };
    });
  }
  delete cv.then; // awaiting a thenable Emscripten module loops forever (see src/cv/opencv.ts)
  return cv;
}

const analyzer = await MotionAnalyzer.create((workerData as { options?: MotionOptions } | undefined)?.options ?? {}, await requireOpenCV());
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
