/**
 * Dense flow computed ahead on a second thread. A consumer that walks a video frame by frame (the
 * temporal filter) needs the flow of the guide, which depends only on the guide frames, so it can be
 * computed for frame t+1 while frame t is blended: on two cores that overlaps the Farneback flow (the
 * largest single cost of the filter) with everything else. The worker runs the same denseFlow on the
 * same OpenCV build, so the flows are bit-identical to computing them in place.
 */
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../util/ts-worker.js';
import { ReshootError } from '../util/errors.js';
import type { GrayFrame } from '../video/types.js';
import type { FarnebackOptions } from './dense.js';
import type { FlowField } from './color.js';

export class FlowAhead {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (f: FlowField) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(private readonly opts?: FarnebackOptions) {
    this.worker = startTsWorker('src/flow/flow-worker.ts', null);
    this.worker.on('message', (msg: { ready?: boolean; id?: number; flow?: FlowField; error?: string; userError?: boolean }) => {
      if (msg.ready || msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(msg.userError ? new ReshootError(msg.error) : new Error(msg.error));
      else p.resolve(msg.flow!);
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`flow worker exited${code ? ` with code ${code}` : ''}`)));
  }

  /** denseFlow(prev, next, opts) on the worker. The frames are copied (the caller keeps its own). */
  flow(prev: GrayFrame, next: GrayFrame): Promise<FlowField> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const p = new Promise<FlowField>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.worker.postMessage({ id, prev, next, opts: this.opts });
    return p;
  }

  async close(): Promise<void> {
    this.failure ??= new Error('flow worker closed');
    await this.worker.terminate();
  }
}
