/**
 * The run's environment, written next to the CSV as <name>.env.json, so a
 * number can be traced to the machine and versions that produced it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../util/paths.js';
import { resolveFfmpeg } from '../video/index.js';
import { resolveNvidiaSmi } from './gpu-sampler.js';

export interface GpuInfo {
  name: string;
  driver: string;
  memoryTotalMiB: number;
}

export interface BenchEnvironment {
  schema: 1;
  capturedAt: string;
  host: { hostname: string; platform: string; release: string; arch: string };
  cpu: { model: string; logicalCores: number; loadAverage1m: number };
  memory: { totalMiB: number; freeMiB: number };
  /** GPUs nvidia-smi lists; empty with `gpuReason` where there is none. */
  gpus: GpuInfo[];
  gpuReason?: string;
  node: string;
  /** Installed versions of the packages whose speed or output the numbers depend on. */
  packages: Record<string, string>;
  ffmpeg: { path: string; version: string };
  /** Environment variables that change what runs (RESHOOT_*, CUDA_VISIBLE_DEVICES). */
  env: Record<string, string>;
  /** The command line of the run. */
  argv: string[];
}

const PACKAGES = ['onnxruntime-node', '@techstark/opencv-js', 'sharp', 'tinybench', 'csv-stringify', 'plotly.js-dist-min', '@ffmpeg-installer/ffmpeg', 'tsx', 'typescript'];

function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: String(stdout || stderr || (err as Error | null)?.message || '') }));
  });
}

function packageVersion(name: string): string {
  try {
    const file = join(packageRoot(), 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** GPUs from `nvidia-smi --query-gpu=name,driver_version,memory.total`, or the reason there are none. */
export async function listGpus(nvidiaSmi = resolveNvidiaSmi()): Promise<{ gpus: GpuInfo[]; reason?: string }> {
  const r = await run(nvidiaSmi, ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader,nounits']);
  if (!r.ok) {
    const line = r.out.split('\n').map((l) => l.trim()).find(Boolean) ?? 'no output';
    return { gpus: [], reason: /ENOENT/.test(line) ? `nvidia-smi not found (${nvidiaSmi})` : `nvidia-smi failed: ${line}` };
  }
  const gpus: GpuInfo[] = [];
  for (const line of r.out.split('\n')) {
    const parts = line.split(',').map((s) => s.trim());
    if (parts.length === 3 && /^\d+$/.test(parts[2])) gpus.push({ name: parts[0], driver: parts[1], memoryTotalMiB: Number(parts[2]) });
  }
  return gpus.length ? { gpus } : { gpus, reason: `nvidia-smi listed no GPU: ${r.out.trim().split('\n')[0] ?? ''}` };
}

export async function captureEnvironment(): Promise<BenchEnvironment> {
  const cpus = os.cpus();
  const ffmpegPath = resolveFfmpeg();
  const [gpu, ff] = await Promise.all([listGpus(), run(ffmpegPath, ['-version'])]);
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (k.startsWith('RESHOOT_') || k === 'CUDA_VISIBLE_DEVICES' || k === 'UV_THREADPOOL_SIZE')) env[k] = v;
  }
  return {
    schema: 1,
    capturedAt: new Date().toISOString(),
    host: { hostname: os.hostname(), platform: os.platform(), release: os.release(), arch: os.arch() },
    cpu: { model: cpus[0]?.model ?? 'unknown', logicalCores: cpus.length, loadAverage1m: os.loadavg()[0] },
    memory: { totalMiB: Math.round(os.totalmem() / 2 ** 20), freeMiB: Math.round(os.freemem() / 2 ** 20) },
    gpus: gpu.gpus,
    ...(gpu.reason && { gpuReason: gpu.reason }),
    node: process.version,
    packages: { reshoot: pkg.version, ...Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])) },
    ffmpeg: { path: ffmpegPath, version: ff.out.split('\n')[0]?.trim() ?? 'unknown' },
    env,
    argv: process.argv.slice(2),
  };
}
