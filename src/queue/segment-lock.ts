/**
 * A lock file per segment work folder (work/seg-NN/lock.json), so that two live workers never share it.
 *
 * BullMQ's own lock can be lost by a live worker (an event-loop stall longer than the lock under load): the
 * stalled check then hands the job to a second worker while the first is still running it. The segment
 * clip is still written atomically, but a `cmd:` generator's work/seg-NN/ folder (in/, out/) would be
 * used by two commands at once. The file lock closes that gap on the shared storage itself:
 *
 * - taken with link(2) of a complete temp file (exclusive and atomic, also on NFS), holding the job id,
 *   the job's BullMQ token and the worker (host, pid);
 * - renewed by its holder every staleMs/4 (an atomic rename), more often than BullMQ renews its lock
 *   (every half), so a stall that loses the queue lock seldom loses this one;
 * - a second job finding a fresh lock of another holder waits (polling) until it is released or stale,
 *   then runs: the segment phase then reuses the clip the first one finished;
 * - stale (not renewed for staleMs, or its holder's pid is gone on this host) is taken over: renamed
 *   away first (only one taker can rename it), then linked anew;
 * - a holder whose lock was taken over (it stalled past staleMs) sees it at its next renewal and aborts
 *   its `signal`, so it stops touching the folder.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';

export const SEGMENT_LOCK_FILE = 'lock.json';

export interface SegmentLockHolder {
  /** The BullMQ job id (or any label of the work). */
  job: string;
  /** Unique per holder: the job's BullMQ token (new on every delivery) plus random bytes. */
  token: string;
  host: string;
  pid: number;
  /** Last renewal, ms since the epoch. */
  at: number;
}

export interface SegmentLockOptions {
  /** A lock not renewed for this long is stale and taken over. */
  staleMs: number;
  /** How often a waiting job looks again, ms. Default min(1000, staleMs / 4). */
  pollMs?: number;
  /** Called once when this job has to wait for another live holder. */
  onWait?: (holder: SegmentLockHolder) => void;
  /** Called when a stale lock is taken over (its holder is given). */
  onTakeover?: (holder: SegmentLockHolder) => void;
  /** Gives up waiting when aborted. */
  signal?: AbortSignal;
}

export interface SegmentLock {
  readonly path: string;
  readonly holder: SegmentLockHolder;
  /** Aborted when another holder took the lock over (this one failed to renew it in time). */
  readonly signal: AbortSignal;
  /** Stops renewing and removes the lock file if it is still this holder's. */
  release(): Promise<void>;
}

/** Is `pid` a live process? Only meaningful for a holder on this host. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<SegmentLockHolder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as SegmentLockHolder;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Unreadable JSON cannot come from our writers (complete files only): treat it as a dead holder.
    return { job: '?', token: '?', host: '?', pid: 0, at: 0 };
  }
}

export function isStale(h: SegmentLockHolder, staleMs: number, now = Date.now()): boolean {
  return now - h.at >= staleMs || (h.host === hostname() && h.pid !== process.pid && !alive(h.pid));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), res()), ms);
    const onAbort = () => (clearTimeout(t), rej(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Takes the lock of segment work folder `dir` for `job` (waiting while another live holder has it). */
export async function acquireSegmentLock(dir: string, who: { job: string; token?: string }, opts: SegmentLockOptions): Promise<SegmentLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, SEGMENT_LOCK_FILE);
  const token = `${who.token ?? 'local'}:${randomBytes(6).toString('hex')}`;
  const holder = (): SegmentLockHolder => ({ job: who.job, token, host: hostname(), pid: process.pid, at: Date.now() });
  const pollMs = opts.pollMs ?? Math.min(1000, Math.max(10, opts.staleMs / 4));
  const tmp = (what: string) => join(dir, `.lock.${what}.${token}`);
  let waited = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    const mine = holder();
    await writeFile(tmp('new'), JSON.stringify(mine));
    try {
      await link(tmp('new'), path);
      await unlink(tmp('new')).catch(() => undefined);
      return held(path, mine, opts.staleMs, tmp('renew'));
    } catch (err) {
      await unlink(tmp('new')).catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const other = await readHolder(path);
    if (!other) continue; // released between link and read
    if (!isStale(other, opts.staleMs)) {
      if (!waited) opts.onWait?.(other);
      waited = true;
      await sleep(pollMs, opts.signal);
      continue;
    }
    // Stale: move it aside; of two takers only one can rename this file.
    try {
      await rename(path, tmp('stale'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = await readHolder(tmp('stale'));
    if (moved && moved.token !== other.token) {
      // Between our read and the rename another taker put its fresh lock there: give it back.
      await link(tmp('stale'), path).catch(() => undefined);
    } else opts.onTakeover?.(other);
    await unlink(tmp('stale')).catch(() => undefined);
  }
}

function held(path: string, first: SegmentLockHolder, staleMs: number, renewTmp: string): SegmentLock {
  const lost = new AbortController();
  let current = first;
  let stopped = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    const now = await readHolder(path);
    if (stopped) return;
    if (!now || now.token !== first.token) {
      lost.abort(new Error(`segment lock ${path} was taken over by ${now ? `${now.host}:${now.pid} (job ${now.job})` : 'another worker'}`));
      clearInterval(timer);
      return;
    }
    current = { ...first, at: Date.now() };
    await writeFile(renewTmp, JSON.stringify(current));
    await rename(renewTmp, path);
  };
  const timer = setInterval(() => {
    renewing = renewing.then(renew).catch(() => undefined);
  }, Math.max(5, Math.round(staleMs / 4)));
  timer.unref();
  return {
    path,
    get holder() {
      return current;
    },
    signal: lost.signal,
    async release() {
      stopped = true;
      clearInterval(timer);
      await renewing;
      const now = await readHolder(path);
      if (now && now.token === first.token) await unlink(path).catch(() => undefined);
      await unlink(renewTmp).catch(() => undefined);
    },
  };
}
