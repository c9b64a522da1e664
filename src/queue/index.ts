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
export { startWorker, runJob, parseQueues, jobSegmentWorkDir, type WorkerOptions, type RunningWorker, type RunJobOptions } from './worker.js';
export { acquireSegmentLock, isStale, SEGMENT_LOCK_FILE, type SegmentLock, type SegmentLockHolder, type SegmentLockOptions } from './segment-lock.js';
export { runQueuedBatch, type QueuedBatchOptions } from './batch.js';
export { startPrivateRedis, type PrivateRedis } from './redis-server.js';
export { freePort } from '../util/free-port.js';
