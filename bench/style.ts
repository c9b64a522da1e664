/**
 * The style transfer generator (style:<name>) on real footage:
 *
 *   node --import tsx bench/style.ts [--style matta] [--sizes 256,384,512] [--runs 5] [--threads 2]
 *        [--frames 40] [--flicker-width 384] [--flicker-size 288] [--no-speed] [--no-flicker] [--out results/style.csv]
 *
 * 1. Speed: for each working size (short side), ms per frame on vtest.avi
 *    frames (768x576), onnxruntime CPU with --threads intra-op threads: the
 *    session.run time alone and the whole frame (resize down, run, resize
 *    back); one warm-up frame, then --runs frames (median and mean).
 * 2. Flicker of the raw generator output: the first --frames frames of
 *    vtest.avi decoded at --flicker-width (default 384x288, the size
 *    bench/temporal.ts measures at, so the figures compare), through the
 *    generator at --flicker-size (default 288: the working size is the frame
 *    size); E_warp and tOF from src/metrics (flow on the input at the frame
 *    size, the definition), next to the input's own E_warp.
 *
 * Uses a temporary RESHOOT_CACHE, so the user's model cache is neither used nor changed.
 * Writes one CSV row per measurement (default results/style.csv) and prints
 * a table. On a shared 2-core machine the times are noisy: rerun on a quiet one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { createStyleGenerator, type StyleGenerator } from '../src/generate/style/index.js';
import { measureFlickerFrames } from '../src/metrics/index.js';
import { decodeFrames, type Frame } from '../src/video/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { packageRoot } from '../src/util/paths.js';
import { mediaFile } from '../test/helpers.js';

const { values: args } = parseArgs({
  options: {
    style: { type: 'string', default: 'matta' },
    sizes: { type: 'string', default: '256,384,512' },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    frames: { type: 'string', default: '40' },
    'flicker-width': { type: 'string', default: '384' },
    'flicker-size': { type: 'string', default: '288' },
    'no-speed': { type: 'boolean', default: false },
    'no-flicker': { type: 'boolean', default: false },
    out: { type: 'string', default: 'results/style.csv' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const runs = Number(args.runs);
const threads = Number(args.threads);
const nFrames = Number(args.frames);
const flickerSize = Number(args['flicker-size']);
const flickerWidth = Number(args['flicker-width']);
// Resolved before RESHOOT_CACHE moves (the dataset cache is looked up under it).
const VTEST = mediaFile('vtest.avi');
const tempCache = mkdtempSync(join(tmpdir(), 'reshoot-bench-style-'));
process.env.RESHOOT_CACHE = tempCache;

async function vtest(count: number, width?: number): Promise<Frame[]> {
  const out: Frame[] = [];
  // vtest.avi is 768x576 (4:3).
  const scale = width ? { width, height: Math.round((width * 3) / 4 / 2) * 2 } : undefined;
  for await (const f of decodeFrames(VTEST, { count, scale })) out.push(f);
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  const frames = await vtest(runs + 1);
  const { width: W, height: H } = frames[0];
  process.stdout.write(`style:${args.style} on vtest.avi ${W}x${H}, onnxruntime CPU ${threads} threads, ${cpus().length} cores, load average ${loadavg().map((v) => v.toFixed(1)).join(' ')}\n`);

  for (const size of args['no-speed'] ? [] : sizes) {
    const g: StyleGenerator = await createStyleGenerator(args.style, { size, threads, provider: 'cpu' });
    try {
      const ws = g.workingSize(W, H);
      await g.stylizeFrame(frames[0]);
      const run: number[] = [];
      const total: number[] = [];
      const c0 = process.cpuUsage();
      for (let k = 1; k <= runs; k++) {
        const t0 = performance.now();
        const r = await g.stylizeFrame(frames[k]);
        total.push(performance.now() - t0);
        run.push(r.ms);
      }
      // Process CPU time (all threads) per frame: far less disturbed by other processes than the wall time.
      const c = process.cpuUsage(c0);
      const cpuMs = (c.user + c.system) / 1000 / runs;
      const row = {
        measurement: 'speed',
        style: args.style,
        size,
        working: `${ws.width}x${ws.height}`,
        frame: `${W}x${H}`,
        threads,
        runs,
        run_ms_median: median(run).toFixed(0),
        run_ms_mean: mean(run).toFixed(0),
        frame_ms_mean: mean(total).toFixed(0),
        fps: (1000 / mean(total)).toFixed(2),
        cpu_ms_per_frame: cpuMs.toFixed(0),
        load_average_1min: loadavg()[0].toFixed(1),
      };
      rows.push(row);
      process.stdout.write(`size ${size} (${row.working}): session.run median ${row.run_ms_median} ms, mean ${row.run_ms_mean} ms; whole frame ${row.frame_ms_mean} ms = ${row.fps} fps; CPU time ${row.cpu_ms_per_frame} ms per frame (all threads)\n`);
    } finally {
      await g.close();
    }
  }

  if (!args['no-flicker']) await flicker(rows);

  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const out = resolve(packageRoot(), args.out);
  await writeFileAtomic(out, stringify(rows, { header: true, columns }), { overwrite: true });
  process.stdout.write(`wrote ${out} (load average now ${loadavg().map((v) => v.toFixed(1)).join(' ')})\n`);
}

async function flicker(rows: Record<string, string | number>[]): Promise<void> {
  const input = await vtest(nFrames, flickerWidth);
  const { width: W, height: H } = input[0];
  const g = await createStyleGenerator(args.style, { size: flickerSize, threads, provider: 'cpu' });
  try {
    const raw: Frame[] = [];
    const t0 = performance.now();
    for (const f of input) raw.push((await g.stylizeFrame(f)).frame);
    const genSecs = (performance.now() - t0) / 1000;
    const r = await measureFlickerFrames(raw, input, { ssim: false });
    rows.push({
      measurement: 'flicker',
      style: args.style,
      size: flickerSize,
      working: `${g.workingSize(W, H).width}x${g.workingSize(W, H).height}`,
      frame: `${W}x${H}`,
      threads,
      frames: nFrames,
      e_warp_raw: r.eWarp.output.toFixed(5),
      e_warp_input: r.eWarp.input.toFixed(5),
      e_warp_ratio: r.eWarp.ratio.toFixed(2),
      tof: r.tOF.toFixed(3),
      mask_coverage: r.maskCoverage.toFixed(3),
      generate_s: genSecs.toFixed(1),
      load_average_1min: loadavg()[0].toFixed(1),
    });
    process.stdout.write(
      `flicker, ${nFrames} frames ${W}x${H} at size ${flickerSize}: E_warp(raw style output) ${r.eWarp.output.toFixed(5)}, E_warp(input) ${r.eWarp.input.toFixed(5)}, ` +
        `ratio ${r.eWarp.ratio.toFixed(2)}, tOF ${r.tOF.toFixed(3)}, mask coverage ${r.maskCoverage.toFixed(3)} (generation ${genSecs.toFixed(1)} s)\n`,
    );
  } finally {
    await g.close();
  }
}

main()
  .catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tempCache, { recursive: true, force: true }));
