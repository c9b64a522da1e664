/**
 * Memory of `reshoot stabilize` against input length: a shaky 720p clip (a
 * crop window moving over a real photo, made by the npm-shipped ffmpeg) of
 * each length is stabilized in a fresh process, and the peak resident memory
 * of that process (VmHWM) and of its ffmpeg children is recorded. Memory must
 * not grow with length.
 *
 *   node --import tsx bench/stabilize-memory.ts [--seconds 30,120,600] [--out results/stabilize-memory.csv]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { resolveFfmpeg } from '../src/video/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30,120,600' },
    out: { type: 'string', default: 'results/stabilize-memory.csv' },
  },
});

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string; seconds: number }> {
  return new Promise((res, rej) => {
    const started = Date.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res({ stdout, stderr, seconds: (Date.now() - started) / 1000 }) : rej(new Error(`${cmd} exited ${code}: ${stderr}`))));
  });
}

await fetchDatasets({ ids: ['building'] });
const photo = datasetPath('building');
const work = await mkdtemp(join(tmpdir(), 'reshoot-bench-mem-'));
const rows: Record<string, string | number>[] = [];
try {
  for (const seconds of values.seconds!.split(',').map(Number)) {
    const clip = join(work, `shaky-${seconds}s.mp4`);
    // A 1280x720 window over the photo scaled to 1600x1000, moved by a slow pan plus two sines
    // (a stand-in for handheld shake); 30 fps, ultrafast x264 so that making the input is quick.
    const x = `'140+100*sin(2*PI*t/40)+14*sin(2*PI*t*1.3)+6*sin(2*PI*t*3.1)'`;
    const y = `'140+60*sin(2*PI*t/55)+10*sin(2*PI*t*1.7)+5*sin(2*PI*t*2.3)'`;
    await run(resolveFfmpeg(), [
      '-v', 'error', '-y', '-loop', '1', '-framerate', '30', '-i', photo, '-t', String(seconds),
      '-vf', `scale=1600:1000,crop=1280:720:${x}:${y},format=yuv420p`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '20', clip,
    ]);
    const out = join(work, `stable-${seconds}s.mp4`);
    // A fresh process per length, so peaks do not carry over.
    const child = await run(process.execPath, ['--import', 'tsx', resolve('bench/stabilize-memory-child.ts'), clip, out]);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!);
    rows.push({
      seconds,
      frames: r.frames,
      width: 1280,
      height: 720,
      peak_rss_mb: Math.round(r.peakRssMb),
      peak_rss_with_ffmpeg_mb: Math.round(r.peakTotalMb),
      analysis_fps: Number((r.frames / r.analyzeSeconds).toFixed(1)),
      total_fps: Number((r.frames / (r.analyzeSeconds + r.renderSeconds)).toFixed(1)),
      wall_s: Number(child.seconds.toFixed(1)),
    });
    console.log(rows[rows.length - 1]);
    await rm(clip, { force: true });
    await rm(out, { force: true });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
const outPath = resolve(values.out!);
await writeFileAtomic(outPath, stringify(rows, { header: true }), { overwrite: true });
console.table(rows);
console.log(`wrote ${outPath}`);
