/**
 * Child of bench/stabilize-memory.ts: stabilizes one clip and prints, as JSON,
 * its frame count, timings, its own peak RSS (VmHWM) and the peak RSS of
 * itself plus its ffmpeg children (sampled every 250 ms).
 *
 *   node --import tsx bench/stabilize-memory-child.ts <input> <output>
 */
import { readFileSync, readdirSync } from 'node:fs';
import { stabilizeVideo } from '../src/stabilize/index.js';

const [input, output] = process.argv.slice(2);

function statusKb(pid: string | number, key: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process ended between listing and reading
  }
}

function childPids(): string[] {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ") ".
      return readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(process.pid);
    } catch {
      return false;
    }
  });
}

let peakTotalKb = 0;
const timer = setInterval(() => {
  const total = statusKb(process.pid, 'VmRSS') + childPids().reduce((s, c) => s + statusKb(c, 'VmRSS'), 0);
  peakTotalKb = Math.max(peakTotalKb, total);
}, 250);
const r = await stabilizeVideo(input, output, {});
clearInterval(timer);
console.log(
  JSON.stringify({
    frames: r.transforms.frames.length,
    analyzeSeconds: r.analyzeSeconds,
    renderSeconds: r.renderSeconds,
    peakRssMb: statusKb(process.pid, 'VmHWM') / 1024,
    peakTotalMb: peakTotalKb / 1024,
  }),
);
