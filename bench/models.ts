/**
 * Model micro-benchmark: per model, ONNX session.run time (tinybench, on a real
 * photo resized to the input, 2 intra-op threads by default), cold conversion
 * time (TFJS graph -> ONNX, source sha256 check included) against a cached load
 * (verified cache read, and session creation). Also the process CPU time per run, which
 * other processes on a shared machine disturb far less than the wall time.
 *
 *   node --import tsx bench/models.ts [--models movenet-lightning,movenet-thunder,blazepose-full,selfie]
 *        [--threads 2] [--no-spin] [--time 2000] [--runs 3] [--out results/<timestamp>-models.csv]
 *
 * --no-spin: onnxruntime's idle threads sleep instead of spin-waiting (loadModel's `spinning: false`).
 *
 * Uses a temporary RESHOOT_CACHE, so the user's cache is neither used nor changed.
 * On a shared machine the numbers are noisy; rerun on a quiet one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { stringify } from 'csv-stringify/sync';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { getModelSpec, isModelId, loadModel, prepareModel, type ModelId } from '../src/models/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { packageRoot } from '../src/util/paths.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'movenet-lightning,movenet-thunder,blazepose-full,selfie' },
    threads: { type: 'string', default: '2' },
    time: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    image: { type: 'string' },
    out: { type: 'string' },
    'no-spin': { type: 'boolean', default: false },
  },
});
const spinning = !values['no-spin'];

const ids = values.models!.split(',').map((s) => s.trim());
for (const id of ids) if (!isModelId(id)) throw new Error(`unknown model ${id}`);
const threads = Number(values.threads);
const runs = Number(values.runs);
const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
const out = resolve(values.out ?? join(packageRoot(), 'results', `${runId}-models.csv`));
const image = values.image ?? join(packageRoot(), '..', 'shared', 'datasets', 'basketball1.png');

const tmp = mkdtempSync(join(tmpdir(), 'reshoot-bench-models-'));
process.env.RESHOOT_CACHE = tmp;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r2 = (x: number | undefined): number | string => (x === undefined || !Number.isFinite(x) ? '' : Math.round(x * 100) / 100);

async function inputTensor(id: ModelId): Promise<ort.Tensor> {
  const spec = getModelSpec(id);
  const [, h, w] = spec.input.shape;
  const rgb = await sharp(image).removeAlpha().resize(w, h, { fit: 'contain', background: '#000' }).raw().toBuffer();
  return spec.input.dtype === 'int32'
    ? new ort.Tensor('int32', Int32Array.from(rgb), [1, h, w, 3])
    : new ort.Tensor('float32', Float32Array.from(rgb, (v) => v / 255), [1, h, w, 3]);
}

const rows: Record<string, string | number>[] = [];
try {
  for (const id of ids as ModelId[]) {
    const cold: number[] = [];
    const cached: number[] = [];
    const session: number[] = [];
    let onnxMb = 0;
    for (let k = 0; k < runs; k++) {
      const p = await prepareModel(id, { force: true });
      cold.push(p.ms);
      onnxMb = p.onnxBytes / 1e6;
      const m = await loadModel(id, { provider: 'cpu', threads, spinning });
      if (!m.prepared.fromCache) throw new Error('expected a cache hit');
      cached.push(m.prepared.ms);
      session.push(m.sessionMs);
      await m.release();
    }
    const m = await loadModel(id, { provider: 'auto', threads, spinning });
    const x = await inputTensor(id);
    const feeds = { [m.inputNames[0]]: x };
    const bench = new Bench({ time: Number(values.time), warmupTime: 300, throws: true });
    bench.add(`${id} session.run`, async () => {
      await m.session.run(feeds);
    });
    await bench.run();
    // CPU time per run (user+sys of this process): far less sensitive to other processes than wall time
    // on a shared machine; on a quiet one, wall time is about cpu_ms_per_run / threads or a bit more.
    const loops = 20;
    const c0 = process.cpuUsage();
    for (let k = 0; k < loops; k++) await m.session.run(feeds);
    const c1 = process.cpuUsage(c0);
    const cpuMsPerRun = (c1.user + c1.system) / 1000 / loops;
    const r = bench.tasks[0].result as unknown as { latency?: Record<string, number> };
    const lat = r.latency ?? {};
    rows.push({
      run_id: runId,
      model: id,
      provider: m.provider,
      threads,
      spinning: spinning ? 'yes' : 'no',
      onnx_mb: r2(onnxMb) as number,
      convert_cold_ms: r2(median(cold)),
      prepare_cached_ms: r2(median(cached)),
      session_create_ms: r2(median(session)),
      load_cached_total_ms: r2(median(cached) + median(session)),
      run_mean_ms: r2(lat.mean),
      run_sd_ms: r2(lat.sd),
      run_p50_ms: r2(lat.p50),
      run_p99_ms: r2(lat.p99),
      run_min_ms: r2(lat.min),
      cpu_ms_per_run: r2(cpuMsPerRun),
      samples: lat.samplesCount ?? '',
      rme_pct: r2(lat.rme),
      cpus: `${availableParallelism()}x ${cpus()[0]?.model ?? '?'}`,
      node: process.version,
      ort: ort.env.versions?.common ?? '',
    });
    await m.release();
    process.stderr.write(`${id}: run ${r2(lat.mean)} ms (p50 ${r2(lat.p50)}, cpu ${r2(cpuMsPerRun)} ms/run), cold convert ${r2(median(cold))} ms, cached load ${r2(median(cached))} + session ${r2(median(session))} ms\n`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

await writeFileAtomic(out, stringify(rows, { header: true }), { overwrite: false });
console.table(rows.map((r) => ({ model: r.model, provider: r.provider, threads: r.threads, run_ms: r.run_mean_ms, p50: r.run_p50_ms, min: r.run_min_ms, cpu_ms: r.cpu_ms_per_run, convert_cold_ms: r.convert_cold_ms, cached_ms: r.prepare_cached_ms, session_ms: r.session_create_ms, onnx_mb: r.onnx_mb })));
process.stdout.write(`wrote ${out}\n`);
