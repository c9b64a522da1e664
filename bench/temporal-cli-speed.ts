/**
 * `reshoot temporal` end to end (issue 16's 15 fps target): the CLI as a user runs it, start-up,
 * decode of both clips, the filter and the libx264 encode included, on 640x480 real footage
 * (vtest.avi frames 100.., resized) with a per-frame brightness flicker. --threads 1 and 2
 * alternate in one run (the machine's load changes between runs: only rows of the same run compare).
 * Frames/s = frames / wall seconds of the child process; CPU = the child's user + sys (ffmpeg included).
 *
 * With --baseline <dir> (another checkout of this package, e.g. `git archive <commit> | tar -x -C dir`
 * plus a node_modules link), that checkout's CLI runs in the same rounds, interleaved, so old and new
 * see the same load. CPU s per frame is the figure that does not depend on the load.
 *
 *   node --import tsx bench/temporal-cli-speed.ts [--frames 80] [--repeat 2] [--threads 1,2] [--baseline <dir>]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { decodeFrames, encodeFrames, type Frame } from '../src/video/index.js';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '80' }, repeat: { type: 'string', default: '2' }, threads: { type: 'string', default: '1,2' }, baseline: { type: 'string' } } });
const N = Number(values.frames), REPEAT = Number(values.repeat);
const THREADS = values.threads.split(',').map(Number);
const roots: Array<[string, string]> = [['this', resolve('.')], ...(values.baseline ? [['baseline', resolve(values.baseline)] as [string, string]] : [])];
await fetchDatasets({ ids: ['vtest'] });
const dir = await mkdtemp(join(tmpdir(), 'reshoot-temporal-cli-'));
try {
  const guide = join(dir, 'guide.mp4'), gen = join(dir, 'gen.mp4');
  const clean: Frame[] = [];
  for await (const f of decodeFrames(datasetPath('vtest'), { start: 100, count: N })) {
    const d = await sharp(Buffer.from(f.data), { raw: { width: f.width, height: f.height, channels: 3 } }).resize(640, 480).raw().toBuffer();
    clean.push({ width: 640, height: 480, data: new Uint8Array(d) });
  }
  await encodeFrames(clean, guide, { fps: { num: 10, den: 1 }, crf: 12 });
  await encodeFrames(clean.map((f, t) => ({ ...f, data: f.data.map((v) => Math.min(255, Math.round(v * (1 + 0.08 * Math.sin(t * 2.1))))) })), gen, { fps: { num: 10, den: 1 }, crf: 12 });
  let cpuBefore = childCpuTotal();
  console.log('| code | threads | frames/s (wall) | wall s | CPU s (with ffmpeg) | CPU ms per frame | load before |');
  console.log('|---|---|---|---|---|---|---|');
  for (let r = 0; r < REPEAT; r++) {
    for (const [name, root] of roots) for (const threads of THREADS) {
      const load = loadavg()[0];
      const t0 = performance.now();
      const p = spawnSync(process.execPath, [join(root, 'bin/reshoot.js'), 'temporal', gen, '--guide', guide, '-o', join(dir, `out${threads}.mp4`), '--threads', String(threads), '--overwrite'], { cwd: root, env: { ...process.env, RESHOOT_PROGRESS: '0' }, encoding: 'utf8' });
      const wall = (performance.now() - t0) / 1000;
      if (p.status !== 0) throw new Error(`reshoot temporal failed: ${p.stderr}`);
      const cpuNow = childCpuTotal();
      const cpu = cpuNow - cpuBefore;
      cpuBefore = cpuNow;
      console.log(`| ${name} | ${threads} | ${(N / wall).toFixed(1)} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${((1000 * cpu) / N).toFixed(0)} | ${load.toFixed(1)} |`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** CPU seconds (user + sys) of every child reaped so far: cutime + cstime of /proc/self/stat, in clock ticks of 1/100 s. */
function childCpuTotal(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}
