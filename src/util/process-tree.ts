/**
 * Process trees and resident memory from /proc (Linux). Used to attribute GPU
 * memory to a process tree (a `cmd:` generator and its children) and to sample
 * the peak RSS of reshoot plus the ffmpeg processes it spawns.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Parent pid of `pid` from /proc/<pid>/stat, or undefined if it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or ')': split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** `root` and all its live descendants (empty where /proc is missing or `root` is gone). */
export function processTree(root: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  let rootAlive = false;
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === root) rootAlive = true;
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  if (!rootAlive) return [];
  const out: number[] = [];
  const queue = [root];
  const seen = new Set<number>();
  while (queue.length) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return out;
}

/** Resident set size of one process in bytes (VmRSS), or 0 if it is gone. */
export function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface RssPeaks {
  /** Peak RSS of this Node process, bytes. */
  selfBytes: number;
  /** Peak of the summed RSS of this process and its descendants (ffmpeg, workers' children), bytes. */
  treeBytes: number;
  samples: number;
  intervalMs: number;
}

/**
 * Samples RSS of this process and its process tree every `intervalMs` until
 * stopped. process.resourceUsage().maxRSS cannot be reset between segments,
 * hence sampling; the peak between samples can be missed (interval stated).
 */
export function startRssSampler(intervalMs = 100): { stop(): RssPeaks } {
  let self = 0;
  let tree = 0;
  let samples = 0;
  const sample = () => {
    const own = process.memoryUsage.rss();
    self = Math.max(self, own);
    let sum = own;
    for (const pid of processTree(process.pid)) if (pid !== process.pid) sum += residentBytes(pid);
    tree = Math.max(tree, sum);
    samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { selfBytes: self, treeBytes: tree, samples, intervalMs };
    },
  };
}
