/** `reshoot batch --redis`: enqueue every video's flow, follow them across the workers, return the results. */
import { connect, DEFAULT_RETRY, enqueueVideo, ReshootQueues, videoStatus, type RetryPolicy, type VideoSpec, type VideoStatus } from './jobs.js';

export interface QueuedBatchOptions {
  redis: string;
  videos: VideoSpec[];
  retry?: RetryPolicy;
  /** How often the states are read, ms. Default 250 (a few redis reads per video: cheap; it is the delay to the exit). */
  pollMs?: number;
  /** Called whenever a video's state or segment count changes. */
  onChange?: (status: VideoStatus, all: VideoStatus[]) => void;
  signal?: AbortSignal;
}

/** Resolves when every video is done or failed (the flows keep running in the workers if this client stops). */
export async function runQueuedBatch(opts: QueuedBatchOptions): Promise<VideoStatus[]> {
  const connection = connect(opts.redis);
  const q = new ReshootQueues(connection);
  try {
    const ids: string[] = [];
    for (const v of opts.videos) ids.push(await enqueueVideo(q, v, opts.retry ?? DEFAULT_RETRY));
    const last = new Map<string, string>();
    for (;;) {
      opts.signal?.throwIfAborted();
      const all = await Promise.all(ids.map((id) => videoStatus(q, id)));
      for (const s of all) {
        const sig = `${s.state} ${s.segmentsDone}/${s.segments}`;
        if (last.get(s.video) !== sig) {
          last.set(s.video, sig);
          opts.onChange?.(s, all);
        }
      }
      if (all.every((s) => s.state === 'done' || s.state === 'failed')) return all;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
  } finally {
    await q.close().catch(() => undefined);
    connection.disconnect();
  }
}
