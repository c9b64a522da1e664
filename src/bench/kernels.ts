/**
 * Micro-benchmarks of the hot kernels with tinybench, on real frames
 * (basketball1/2.png, 640x480): feature tracking (Shi-Tomasi + LK), dense
 * Farneback flow, warp by flow, temporal median (background plate), H.264
 * encode, pose inference (MoveNet via ONNX) and person-mask inference. A
 * kernel whose stage cannot load gets a row with its error instead of a time.
 * Writes results/<timestamp>-kernels.csv. Not re-exported from index.ts: its
 * dynamic imports of the pose and mask stages would make every importer of
 * src/bench (notebook 07) compile those stages too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Bench } from 'tinybench';
import sharp from 'sharp';
import { denseFlow, sparseTracks, warpByFlow } from '../flow/index.js';
import { encodeFrames, type Frame, type GrayFrame } from '../video/index.js';
import { datasetPath, fetchDatasets } from '../datasets/index.js';
import { packageRoot } from '../util/paths.js';
import { round } from './budgets.js';
import { fileTimestamp, toCsv } from './csv.js';
import { writeFileAtomic } from '../util/atomic.js';

export const KERNEL_COLUMNS = ['run_id', 'kernel', 'input', 'samples', 'mean_ms', 'sd_ms', 'p50_ms', 'p99_ms', 'min_ms', 'max_ms', 'rme_pct', 'ops_per_s', 'provider', 'error'] as const;

export interface KernelCase {
  name: string;
  input: string;
  /** Prepared once; returns the function timed and an optional release. */
  setup(): Promise<{ fn: () => Promise<unknown> | unknown; provider?: string; release?: () => Promise<void> | void }>;
}

async function loadRgb(path: string): Promise<Frame> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function toGray(f: Frame): GrayFrame {
  const out = new Uint8Array(f.width * f.height);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) out[i] = (f.data[j] * 77 + f.data[j + 1] * 150 + f.data[j + 2] * 29) >> 8;
  return { width: f.width, height: f.height, data: out };
}

/** The kernel cases on the basketball pair. */
export async function defaultKernelCases(): Promise<KernelCase[]> {
  await fetchDatasets({ ids: ['basketball1', 'basketball2'] });
  const a = await loadRgb(datasetPath('basketball1'));
  const b = await loadRgb(datasetPath('basketball2'));
  const ga = toGray(a);
  const gb = toGray(b);
  const size = `${a.width}x${a.height}`;
  return [
    { name: 'feature tracking (Shi-Tomasi 300 + LK, fb-check)', input: `${size} gray pair`, setup: async () => ({ fn: () => sparseTracks(ga, gb) }) },
    { name: 'dense flow (Farneback, tOF settings)', input: `${size} gray pair`, setup: async () => ({ fn: () => denseFlow(ga, gb) }) },
    {
      name: 'warp by flow (RGB)',
      input: `${size} RGB + flow`,
      setup: async () => {
        const flow = await denseFlow(ga, gb);
        return { fn: () => warpByFlow(b, flow) };
      },
    },
    {
      name: 'temporal median (MaskedMedian, 15 frames)',
      input: `${size} RGB x15`,
      setup: async () => {
        const { MaskedMedian } = await import('../background/index.js');
        const frames = Array.from({ length: 15 }, (_, i) => (i % 2 ? a : b));
        return {
          fn: () => {
            const m = new MaskedMedian(a.width, a.height, frames.length);
            for (const f of frames) m.add(f, null);
            return m.median();
          },
        };
      },
    },
    {
      name: 'encode H.264 (libx264 medium, 10 frames)',
      input: `${size} RGB x10`,
      setup: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'reshoot-kernel-enc-'));
        let n = 0;
        const frames = Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b));
        return {
          fn: () => encodeFrames(frames, join(dir, `e${n++}.mp4`), { fps: { num: 30, den: 1 }, overwrite: true }),
          release: () => rm(dir, { recursive: true, force: true }),
        };
      },
    },
    {
      name: 'pose inference (MoveNet thunder, ONNX)',
      input: `${size} RGB`,
      setup: async () => {
        const { createPoseEstimator } = await import('../pose/index.js');
        const est = await createPoseEstimator({ model: 'thunder' });
        return { fn: () => est.estimate(a), provider: est.provider, release: () => est.release() };
      },
    },
    {
      name: 'mask inference (BlazePose-full crop, ONNX)',
      input: `${size} RGB + pose`,
      setup: async () => {
        const { createPoseEstimator } = await import('../pose/index.js');
        const { createPersonMasker } = await import('../person-mask/index.js');
        const est = await createPoseEstimator({ model: 'thunder' });
        const pose = await est.estimate(a);
        await est.release();
        const masker = await createPersonMasker({});
        return { fn: () => masker.mask(a, pose), provider: masker.provider, release: () => masker.release() };
      },
    },
  ];
}

export interface KernelOptions {
  /** Measuring time per kernel, ms. Default 1500. */
  timeMs?: number;
  /** Minimum iterations per kernel. Default 10. */
  minIterations?: number;
  /** Only kernels whose name contains one of these. */
  only?: string[];
  out?: string;
  overwrite?: boolean;
  log?: (line: string) => void;
}

/** Runs the kernels (one tinybench Bench each, so one failing setup does not stop the others) and writes the CSV. */
export async function runKernelBenchmarks(opts: KernelOptions = {}): Promise<{ csvPath: string; rows: Record<string, string | number>[]; table: string }> {
  const runId = fileTimestamp();
  const csvPath = resolve(opts.out ?? join(packageRoot(), 'results', `${runId}-kernels.csv`));
  const cases = (await defaultKernelCases()).filter((c) => !opts.only || opts.only.some((o) => c.name.includes(o)));
  const rows: Record<string, string | number>[] = [];
  for (const k of cases) {
    const row: Record<string, string | number> = Object.fromEntries(KERNEL_COLUMNS.map((c) => [c, '']));
    Object.assign(row, { run_id: runId, kernel: k.name, input: k.input });
    let release: (() => Promise<void> | void) | undefined;
    try {
      const s = await k.setup();
      release = s.release;
      row.provider = s.provider ?? 'cpu (wasm/native)';
      // Stop at whichever comes last of the time budget and the minimum iterations (tinybench's default 64 is
      // minutes for the slow kernels on 2 cores).
      const bench = new Bench({ time: opts.timeMs ?? 1500, iterations: opts.minIterations ?? 10, warmupTime: 200, warmupIterations: 2, throws: true });
      bench.add(k.name, s.fn);
      await bench.run();
      const r = bench.tasks[0].result as unknown as { state?: string; latency?: Record<string, number>; throughput?: { mean: number } } | undefined;
      const lat = r?.latency;
      if (!lat) throw new Error(`tinybench gave no result (${r?.state ?? 'unknown state'})`);
      Object.assign(row, {
        samples: lat.samplesCount ?? '',
        mean_ms: round(lat.mean),
        sd_ms: round(lat.sd),
        p50_ms: round(lat.p50),
        p99_ms: round(lat.p99),
        min_ms: round(lat.min),
        max_ms: round(lat.max),
        rme_pct: round(lat.rme),
        ops_per_s: round(r?.throughput?.mean ?? 1000 / lat.mean),
      });
    } catch (err) {
      row.error = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    } finally {
      await release?.();
    }
    opts.log?.(`${k.name}: ${row.error ? `error: ${row.error}` : `${row.mean_ms} ms ± ${row.sd_ms}`}`);
    rows.push(row);
  }
  await writeFileAtomic(csvPath, toCsv(rows, KERNEL_COLUMNS), { overwrite: opts.overwrite });
  const w = Math.max(...rows.map((r) => String(r.kernel).length));
  const table = rows.map((r) => `${String(r.kernel).padEnd(w)}  ${r.error ? `error: ${r.error}` : `${String(r.mean_ms).padStart(9)} ms  ±${r.sd_ms}  (${r.samples} samples, ${r.provider})`}`).join('\n');
  return { csvPath, rows, table };
}
