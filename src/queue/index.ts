/** Batch and per-segment generation across workers on BullMQ + Redis (issue 21; README.md here). */
export {
  QUEUE_NAMES,
  QUEUE_PREFIX,
  DEFAULT_RETRY,
  ReshootQueues,
  connect,
  enqueueVideo,
  removeVideo,
  videoStatus,
  listVideos,
  queueCounts,
  retryFailed,
  cleanFinished,
  videoId,
  jobIds,
  type QueueName,
  type RetryPolicy,
  type VideoJobData,
  type VideoSpec,
  type VideoState,
  type VideoStatus,
} from './jobs.js';
export { startWorker, runJob, parseQueues, type WorkerOptions, type RunningWorker } from './worker.js';
export { runQueuedBatch, type QueuedBatchOptions } from './batch.js';
export { startPrivateRedis, type PrivateRedis } from './redis-server.js';
export { freePort } from '../util/free-port.js';
