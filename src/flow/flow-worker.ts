/**
 * Worker thread of FlowAhead (flow-ahead.ts): loads OpenCV once, then answers {id, prev, next, opts}
 * with {id, flow} (the Float32Array's buffer transferred) or {id, error}.
 */
import { parentPort } from 'node:worker_threads';
import { loadOpenCV } from '../cv/opencv.js';
import { denseFlow, type FarnebackOptions } from './dense.js';
import type { GrayFrame } from '../video/types.js';

const port = parentPort;
if (!port) throw new Error('flow-worker must run as a worker thread');
await loadOpenCV();
port.on('message', (job: { id: number; prev: GrayFrame; next: GrayFrame; opts?: FarnebackOptions }) => {
  denseFlow(job.prev, job.next, job.opts).then(
    (flow) => port.postMessage({ id: job.id, flow }, [flow.data.buffer as ArrayBuffer]),
    (err: Error) => port.postMessage({ id: job.id, error: err.message, userError: err.name === 'ReshootError' }),
  );
});
port.postMessage({ ready: true });
