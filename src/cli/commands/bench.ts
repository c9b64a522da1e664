import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  VALIDATION_SUITE,
  baselinePath,
  compareRows,
  compareWithBaseline,
  formatBaselineReport,
  formatComparison,
  readBaseline,
  formatSummaryTable,
  latestResult,
  readCsv,
  reportHtml,
  runValidationToCsv,
  sidecarPath,
} from '../../bench/index.js';
import { runKernelBenchmarks } from '../../bench/kernels.js';
import { BAD_INPUT_CLIPS, END_TO_END_CLIPS, runEndToEnd } from '../../bench/end-to-end-run.js';
import { fileTimestamp } from '../../bench/csv.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { ReshootError } from '../../util/errors.js';
import { packageRoot } from '../../util/paths.js';
import { progressBar } from '../progress.js';

export interface BenchCliOptions {
  datasets?: string;
  configs?: string;
  segments?: string;
  maxFrames?: number;
  repeat: number;
  kernels?: boolean;
  endToEnd?: boolean;
  clips?: string;
  ablation?: boolean;
  compare?: string[];
  failOnRegression?: boolean;
  bands?: boolean;
  html?: string;
  from?: string;
  budgetGpuGb: number;
  budgetSeconds: number;
  gpuIntervalMs: number;
  /** A generator spec to bench instead of --configs (cmd:, wan-animate:, comfyui:, ...). */
  generator?: string;
  /** comfyui: workflow. */
  workflow?: string;
  /** Measure this process tree's GPU memory (a ComfyUI server) instead of reshoot's. */
  gpuPid?: number;
  out?: string;
  overwrite?: boolean;
}

const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

export async function benchCommand(opts: BenchCliOptions): Promise<void> {
  if (opts.bands && opts.compare?.length !== 2) throw new ReshootError('--bands goes with --compare <baseline.csv> <fresh.csv>');
  if (opts.compare?.length === 1) return baselineMode(opts, opts.compare[0]);
  if (opts.compare) return compareMode(opts);
  if (opts.html) return htmlMode(opts);
  if (opts.from) throw new ReshootError('--from is for --html (which CSV to render)');
  if (opts.kernels) return kernelsMode(opts);
  if (opts.endToEnd) return endToEndMode(opts);
  if (opts.clips || opts.ablation) throw new ReshootError('--clips and --ablation are for --end-to-end');
  await validationRun(opts);
}

async function validationRun(opts: BenchCliOptions, matrix: { datasets?: string[]; configurations?: string[] } = {}) {
  if (!(opts.budgetGpuGb > 0)) throw new ReshootError(`--budget-gpu-gb must be positive; got ${opts.budgetGpuGb}`);
  if (!(opts.budgetSeconds > 0)) throw new ReshootError(`--budget-seconds must be positive; got ${opts.budgetSeconds}`);
  if (!(opts.repeat >= 1)) throw new ReshootError(`--repeat must be at least 1; got ${opts.repeat}`);
  if (!(opts.gpuIntervalMs >= 10)) throw new ReshootError(`--gpu-interval-ms must be at least 10; got ${opts.gpuIntervalMs}`);
  if (opts.maxFrames !== undefined && opts.maxFrames !== 0 && !(opts.maxFrames >= 2)) throw new ReshootError(`--max-frames must be at least 2 (or 0 for whole clips); got ${opts.maxFrames}`);
  const segments = list(opts.segments)?.map(Number);
  if (opts.gpuPid !== undefined && !(Number.isInteger(opts.gpuPid) && opts.gpuPid > 0)) throw new ReshootError(`--gpu-pid must be a process id; got ${opts.gpuPid}`);
  if (opts.generator && opts.configs) throw new ReshootError('--generator and --configs are exclusive: --generator benches that one generator (balanced preset)');
  if (opts.workflow && !opts.generator?.startsWith('comfyui:')) throw new ReshootError('--workflow goes with --generator comfyui:<url>');
  const custom = opts.generator
    ? [{ id: 'generator', preset: 'balanced', generator: opts.generator, segments: 3, options: opts.workflow ? { generator: { workflow: resolve(opts.workflow) } } : undefined, notes: `user generator ${opts.generator}` }]
    : undefined;
  const bar = progressBar('validate', 'segments');
  const logLines = !process.stderr.isTTY;
  let lastLabel = '';
  let result;
  try {
    result = await runValidationToCsv({
      datasets: list(opts.datasets) ?? matrix.datasets,
      configurations: custom ?? list(opts.configs) ?? matrix.configurations,
      segments,
      maxFrames: opts.maxFrames,
      repeats: opts.repeat,
      budgets: { gpuGb: opts.budgetGpuGb, seconds: opts.budgetSeconds },
      gpu: { intervalMs: opts.gpuIntervalMs, rootPid: opts.gpuPid },
      out: opts.out ? resolve(opts.out) : undefined,
      overwrite: opts.overwrite,
      onProgress: (done, total, label) => {
        bar.update(done, total);
        if (logLines && label !== lastLabel) process.stderr.write(`validate: ${label} (${done}/${total} segments done)\n`);
        lastLabel = label;
      },
    });
  } finally {
    bar.stop();
  }
  process.stdout.write(`${formatSummaryTable(result.rows)}\n`);
  process.stdout.write(`wrote ${result.csvPath} and ${result.envPath} (${result.seconds.toFixed(1)} s)\n`);
  return result;
}

/**
 * A fresh validation run judged against a committed baseline with fixed
 * noise bands (src/bench/baseline.ts). Without --datasets/--configs it runs
 * the baseline's own datasets and configurations.
 */
async function baselineMode(opts: BenchCliOptions, arg: string): Promise<void> {
  const path = resolve(baselinePath(arg, VALIDATION_SUITE, packageRoot()));
  const { rows: baseline, suite } = readBaseline(path);
  if (suite !== VALIDATION_SUITE) {
    throw new ReshootError(`${arg} is a ${suite.name} baseline; \`reshoot bench\` runs the validation suite (compare a fresh ${suite.name} CSV with --compare ${arg} <fresh.csv> --bands)`);
  }
  const uniq = (k: string) => [...new Set(baseline.map((r) => r[k]).filter(Boolean))];
  const result = await validationRun(opts, { datasets: uniq('dataset'), configurations: uniq('configuration') });
  judgeAgainstBaseline(path, baseline, result.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))), suite, result.csvPath);
}

function judgeAgainstBaseline(path: string, baseline: Record<string, string>[], fresh: Record<string, string>[], suite: ReturnType<typeof readBaseline>['suite'], freshPath: string): void {
  const report = compareWithBaseline(baseline, fresh, suite);
  process.stdout.write(`baseline = ${path}\nfresh    = ${freshPath}\n${formatBaselineReport(report)}\n`);
  if (report.failures) throw new ReshootError(`${report.failures} failure(s) against the baseline (outside the noise band, missing or errored); if the change is intended, re-commit the baseline`, { exitCode: 3 });
}

async function endToEndMode(opts: BenchCliOptions): Promise<void> {
  const clips = list(opts.clips);
  const known = [...END_TO_END_CLIPS, ...BAD_INPUT_CLIPS].map((c) => c.id);
  const unknown = clips?.filter((c) => !known.includes(c)) ?? [];
  if (unknown.length) throw new ReshootError(`unknown end-to-end clip ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const outDir = resolve(opts.out ?? 'results');
  const { rows, csv, sheets } = await runEndToEnd({ clips, ablation: opts.ablation, outDir, stamp: fileTimestamp(), log: (l) => process.stderr.write(`${l}\n`) });
  const failed = rows.filter((r) => !r.pass);
  process.stdout.write(`${rows.length - failed.length} of ${rows.length} rows pass; wrote ${csv} and ${sheets.length} contact sheets\n`);
  if (failed.length) process.exitCode = 3;
}

async function kernelsMode(opts: BenchCliOptions): Promise<void> {
  const r = await runKernelBenchmarks({ out: opts.out ? resolve(opts.out) : undefined, overwrite: opts.overwrite, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${r.table}\nwrote ${r.csvPath}\n`);
}

function compareMode(opts: BenchCliOptions): void {
  const files = opts.compare!;
  if (files.length !== 2) throw new ReshootError(`--compare takes a baseline (or auto) to run against, or two CSV files (A = before, B = after); got ${files.length}`);
  if (opts.bands) {
    const { rows, suite } = readBaseline(resolve(files[0]));
    return judgeAgainstBaseline(files[0], rows, readCsv(resolve(files[1])), suite, files[1]);
  }
  const [a, b] = files.map((f) => readCsv(resolve(f)));
  const changes = compareRows(a, b);
  if (changes.length === 0) throw new ReshootError(`${files[0]} and ${files[1]} share no (dataset, configuration) with a measured metric`);
  process.stdout.write(`A = ${files[0]}\nB = ${files[1]}\n${formatComparison(changes)}\n`);
  const worse = changes.filter((c) => c.flag === 'worse');
  process.stdout.write(`${worse.length} change(s) outside the noise band for the worse, ${changes.filter((c) => c.flag === 'better').length} for the better\n`);
  if (opts.failOnRegression && worse.length) throw new ReshootError(`${worse.length} regression(s) outside the noise band`, { exitCode: 3 });
}

async function htmlMode(opts: BenchCliOptions): Promise<void> {
  const results = join(packageRoot(), 'results');
  // Newest timestamped run in results/, else the committed baseline (a clean clone has only that).
  const baseline = join(results, 'baseline-validation.csv');
  const from = opts.from ? resolve(opts.from) : (latestResult(results, 'validation') ?? (existsSync(baseline) ? baseline : undefined));
  if (!from) throw new ReshootError(`no validation CSV in ${results}; run \`reshoot bench\` first or pass --from <csv>`);
  const rows = readCsv(from);
  if (!rows.some((r) => r.row_type === 'segment')) throw new ReshootError(`${from} has no segment rows; is it a validation CSV?`);
  const env = sidecarPath(from);
  const environment = existsSync(env) ? (JSON.parse(readFileSync(env, 'utf8')) as unknown) : undefined;
  const kernelsCsv = latestResult(results, 'kernels');
  const kernels = kernelsCsv ? readCsv(kernelsCsv) : undefined;
  const out = resolve(opts.html!);
  await writeFileAtomic(out, reportHtml(rows, { source: from, environment, kernels }), { overwrite: opts.overwrite });
  process.stdout.write(`wrote ${out} from ${from}\n`);
}
