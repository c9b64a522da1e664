/**
 * GPU memory sampler: `nvidia-smi` (NVML underneath) in a child process,
 * started and stopped around each segment. onnxruntime-node exposes no memory
 * statistics, so the driver's own figures are the independent reading.
 *
 * - Device-wide: one long-running
 *   `nvidia-smi --query-gpu=memory.used,memory.total --format=csv,noheader,nounits -lms <interval>`
 *   printing one line per GPU per interval.
 * - Per process: `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`
 *   polled (it has no loop flag of its own), summed over the tracked process
 *   tree (collected from /proc at every poll, so children started later count).
 *
 * Without nvidia-smi, without a GPU, or when the sampler dies before a single
 * reading, the figures are undefined and `reason` says why: a missing
 * measurement is never reported as 0. Where nvidia-smi dies mid-segment, the
 * readings taken so far are kept and `reason` says they are partial.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { processTree } from '../util/process-tree.js';

export const DEFAULT_GPU_INTERVAL_MS = 100;
export const DEFAULT_GPU_PROCESS_INTERVAL_MS = 500;

/** The nvidia-smi binary: RESHOOT_NVIDIA_SMI, else `nvidia-smi` on PATH. */
export function resolveNvidiaSmi(): string {
  return process.env.RESHOOT_NVIDIA_SMI || 'nvidia-smi';
}

export interface GpuSamplerOptions {
  /** Device-wide polling interval (nvidia-smi -lms). Default 100 ms. */
  intervalMs?: number;
  /** Per-process polling interval. Default 500 ms (each poll spawns nvidia-smi). */
  processIntervalMs?: number;
  /** nvidia-smi path. Default resolveNvidiaSmi(). */
  nvidiaSmi?: string;
  /** Root of the process tree whose per-process GPU memory is summed. Default this process. */
  rootPid?: number;
  /** How long start() waits for the first reading. Default 10 s. */
  firstSampleTimeoutMs?: number;
}

export interface GpuMemoryStats {
  /** True when at least one device-wide reading was taken. */
  available: boolean;
  /** Why figures are missing or partial; undefined when the sampling was complete. */
  reason?: string;
  /** Highest memory.used of any GPU over the readings, MiB. */
  peakMiB?: number;
  /** Mean of memory.used over all readings (all GPUs), MiB. */
  meanMiB?: number;
  /** memory.total of the GPU(s) (largest seen), MiB. */
  totalMiB?: number;
  /** Number of well-formed device-wide readings. */
  samples: number;
  /** Lines nvidia-smi printed that were not "<used>, <total>" numbers (skipped). */
  malformed: number;
  intervalMs: number;
  /** Per-process: the tracked tree's summed used_memory, peak and mean over polls, MiB. */
  processPeakMiB?: number;
  processMeanMiB?: number;
  processSamples: number;
  processIntervalMs: number;
  /** Why per-process figures are missing, when the device-wide ones are present. */
  processReason?: string;
  /** The root pid whose tree was measured. */
  rootPid: number;
}

/** Parses one `memory.used, memory.total` line (MiB). Undefined if malformed ("[N/A]", garbage, missing field). */
export function parseDeviceLine(line: string): { used: number; total: number } | undefined {
  const parts = line.split(',').map((s) => s.trim());
  if (parts.length !== 2 || !parts.every((p) => /^\d+(\.\d+)?$/.test(p))) return undefined;
  return { used: Number(parts[0]), total: Number(parts[1]) };
}

/** Parses `pid, used_memory` lines; malformed lines are counted, not guessed. */
export function parseComputeApps(text: string): { apps: { pid: number; usedMiB: number }[]; malformed: number } {
  const apps: { pid: number; usedMiB: number }[] = [];
  let malformed = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || /^no running/i.test(line)) continue;
    const parts = line.split(',').map((s) => s.trim());
    if (parts.length !== 2 || !/^\d+$/.test(parts[0]) || !/^\d+(\.\d+)?$/.test(parts[1])) {
      malformed++;
      continue;
    }
    apps.push({ pid: Number(parts[0]), usedMiB: Number(parts[1]) });
  }
  return { apps, malformed };
}

/** A one-line reason from nvidia-smi's own output ("No devices were found", driver errors). */
function firstMeaningfulLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
}

export class GpuSampler {
  private readonly intervalMs: number;
  private readonly processIntervalMs: number;
  private readonly nvidiaSmi: string;
  private rootPid: number;
  private child?: ChildProcess;
  private exited = false;
  private exitDescription?: string;
  private spawnError?: string;
  private stopping = false;
  private buffer = '';
  private otherOutput = '';
  private stderr = '';
  private used: number[] = [];
  private total = 0;
  private malformed = 0;
  private procValues: number[] = [];
  private procError?: string;
  private procTimer?: NodeJS.Timeout;
  private procRunning?: Promise<void>;
  private firstSample?: () => void;

  private constructor(opts: GpuSamplerOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_GPU_INTERVAL_MS;
    this.processIntervalMs = opts.processIntervalMs ?? DEFAULT_GPU_PROCESS_INTERVAL_MS;
    this.nvidiaSmi = opts.nvidiaSmi ?? resolveNvidiaSmi();
    this.rootPid = opts.rootPid ?? process.pid;
  }

  /** Starts sampling and waits for the first reading (or for nvidia-smi to fail). */
  static async start(opts: GpuSamplerOptions = {}): Promise<GpuSampler> {
    const s = new GpuSampler(opts);
    await s.begin(opts.firstSampleTimeoutMs ?? 10_000);
    return s;
  }

  /** Measure this process tree from now on (e.g. a `cmd:` generator's pid) instead of the default. */
  trackProcess(pid: number): void {
    this.rootPid = pid;
  }

  /** Device-wide readings so far (for tests and progress). */
  get samplesSoFar(): number {
    return this.used.length;
  }

  private async begin(firstTimeoutMs: number): Promise<void> {
    const args = ['--query-gpu=memory.used,memory.total', '--format=csv,noheader,nounits', `-lms`, String(this.intervalMs)];
    const first = new Promise<void>((resolve) => (this.firstSample = resolve));
    let child: ChildProcess;
    try {
      child = spawn(this.nvidiaSmi, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.spawnError = `cannot run ${this.nvidiaSmi}: ${(err as Error).message}`;
      return;
    }
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    child.stderr!.on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.spawnError =
        err.code === 'ENOENT'
          ? `nvidia-smi not found (${this.nvidiaSmi}); no NVIDIA driver on this machine`
          : `cannot run ${this.nvidiaSmi}: ${err.message}`;
      this.exited = true;
      this.firstSample?.();
    });
    child.on('close', (code, signal) => {
      this.onData('\n'); // flush a last line without newline
      this.exited = true;
      if (!this.stopping) this.exitDescription = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.firstSample?.();
    });
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, firstTimeoutMs).unref());
    await Promise.race([first, timeout]);
    if (!this.exited && !this.spawnError) this.scheduleProcessPoll(0);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      const r = parseDeviceLine(line);
      if (r) {
        this.used.push(r.used);
        this.total = Math.max(this.total, r.total);
        this.firstSample?.();
        this.firstSample = undefined;
      } else {
        this.malformed++;
        this.otherOutput = (this.otherOutput + line + '\n').slice(-4000);
      }
    }
  }

  private scheduleProcessPoll(delay: number): void {
    if (this.stopping) return;
    this.procTimer = setTimeout(() => {
      this.procRunning = this.pollProcesses().finally(() => {
        this.procRunning = undefined;
        this.scheduleProcessPoll(this.processIntervalMs);
      });
    }, delay);
    this.procTimer.unref();
  }

  private pollProcesses(): Promise<void> {
    return new Promise((resolve) => {
      execFile(
        this.nvidiaSmi,
        ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'],
        { timeout: 10_000 },
        (err, stdout) => {
          if (err) {
            this.procError = `per-process query failed: ${firstMeaningfulLine(String(stdout)) ?? err.message}`;
            resolve();
            return;
          }
          const { apps } = parseComputeApps(String(stdout));
          const tree = new Set(processTree(this.rootPid));
          if (tree.size === 0) tree.add(this.rootPid);
          this.procValues.push(apps.filter((a) => tree.has(a.pid)).reduce((s, a) => s + a.usedMiB, 0));
          resolve();
        },
      );
    });
  }

  /** Stops both pollers (one last per-process poll first) and returns the statistics. */
  async stop(): Promise<GpuMemoryStats> {
    if (this.procTimer) clearTimeout(this.procTimer);
    if (this.procRunning) await this.procRunning;
    const deviceOk = !this.exited && !this.spawnError && this.used.length > 0;
    if (deviceOk) await this.pollProcesses();
    this.stopping = true;
    if (this.procTimer) clearTimeout(this.procTimer);
    if (this.child && !this.exited) {
      const closed = once(this.child, 'close');
      this.child.kill('SIGTERM');
      await closed;
    }
    return this.stats();
  }

  private stats(): GpuMemoryStats {
    const base = {
      samples: this.used.length,
      malformed: this.malformed,
      intervalMs: this.intervalMs,
      processSamples: this.procValues.length,
      processIntervalMs: this.processIntervalMs,
      rootPid: this.rootPid,
    };
    if (this.spawnError) return { ...base, available: false, reason: this.spawnError };
    if (this.used.length === 0) {
      const said = firstMeaningfulLine(this.otherOutput) ?? firstMeaningfulLine(this.stderr);
      const how = this.exitDescription ? `nvidia-smi ${this.exitDescription}` : 'nvidia-smi gave no reading';
      return { ...base, available: false, reason: said ? `${how}: ${said}` : `${how} before the first reading` };
    }
    const peak = Math.max(...this.used);
    const mean = this.used.reduce((s, v) => s + v, 0) / this.used.length;
    let reason: string | undefined;
    if (this.exitDescription) {
      const said = firstMeaningfulLine(this.stderr);
      reason = `partial: nvidia-smi ${this.exitDescription} after ${this.used.length} readings${said ? ` (${said})` : ''}`;
    }
    const stats: GpuMemoryStats = { ...base, available: true, reason, peakMiB: peak, meanMiB: mean, totalMiB: this.total };
    if (this.procValues.length > 0) {
      stats.processPeakMiB = Math.max(...this.procValues);
      stats.processMeanMiB = this.procValues.reduce((s, v) => s + v, 0) / this.procValues.length;
    } else {
      stats.processReason = this.procError ?? 'no per-process reading taken';
    }
    return stats;
  }
}

/** Runs `work` between a sampler's start and stop. */
export async function withGpuSampler<T>(work: (sampler: GpuSampler) => Promise<T>, opts: GpuSamplerOptions = {}): Promise<{ result: T; gpu: GpuMemoryStats }> {
  const sampler = await GpuSampler.start(opts);
  try {
    const result = await work(sampler);
    return { result, gpu: await sampler.stop() };
  } catch (err) {
    await sampler.stop();
    throw err;
  }
}
