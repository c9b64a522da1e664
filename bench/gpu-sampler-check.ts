/**
 * On a machine with an NVIDIA GPU: does the sampler's peak match an
 * independent reading of a known allocation (target: within 5 %)?
 *
 *   node --import tsx bench/gpu-sampler-check.ts [--gib 8] [--hold-s 4] [--cmd "<command that allocates and holds>"]
 *
 * Default allocation: PyTorch, if installed (`torch.empty(gib GiB, uint8, cuda)`,
 * held for --hold-s seconds). The independent readings are single
 * `nvidia-smi --query-compute-apps` calls taken by this script in the middle of
 * the hold (the allocating process's own used_memory) and the allocation size
 * itself; the sampler's per-process peak (root = the allocating command) is
 * compared with both. Prints the figures and exits 1 when off by more than 5 %.
 */
import { execFileSync, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { GpuSampler, parseComputeApps, processTree, resolveNvidiaSmi } from '../src/bench/index.js';

const { values } = parseArgs({ options: { gib: { type: 'string', default: '8' }, 'hold-s': { type: 'string', default: '4' }, cmd: { type: 'string' } } });
const gib = Number(values.gib);
const hold = Number(values['hold-s']);
const cmd =
  values.cmd ??
  `python3 -c "import torch,time; x=torch.empty(${gib}*2**30, dtype=torch.uint8, device='cuda'); torch.cuda.synchronize(); time.sleep(${hold})"`;

const sampler = await GpuSampler.start({ intervalMs: 50, processIntervalMs: 200 });
const child = spawn('sh', ['-c', cmd], { stdio: 'inherit' });
sampler.trackProcess(child.pid!);
await new Promise((r) => setTimeout(r, (hold * 1000) / 2 + 1500));
const tree = new Set(processTree(child.pid!));
const apps = parseComputeApps(execFileSync(resolveNvidiaSmi(), ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { encoding: 'utf8' })).apps;
const independent = apps.filter((a) => tree.has(a.pid)).reduce((s, a) => s + a.usedMiB, 0);
await new Promise((r) => child.on('close', r));
const stats = await sampler.stop();
const allocMiB = gib * 1024;
console.log(JSON.stringify({ cmd, allocationMiB: allocMiB, independentProcessMiB: independent, sampler: stats }, null, 2));
if (!stats.available || stats.processPeakMiB === undefined) {
  console.error(`no per-process figures: ${stats.reason ?? stats.processReason}`);
  process.exit(1);
}
const offIndependent = Math.abs(stats.processPeakMiB - independent) / independent;
// The CUDA context adds a few hundred MiB on top of the allocation, so the allocation is a lower bound.
const overAllocation = (stats.processPeakMiB - allocMiB) / allocMiB;
console.log(`sampler process peak ${stats.processPeakMiB} MiB vs independent ${independent} MiB: ${(offIndependent * 100).toFixed(2)} % off`);
console.log(`vs the allocation ${allocMiB} MiB: ${(overAllocation * 100).toFixed(2)} % above (CUDA context included)`);
console.log(`device-wide peak ${stats.peakMiB} MiB over ${stats.samples} readings every ${stats.intervalMs} ms`);
// Pass: within 5 % of the independent reading, and not below the allocation itself.
process.exit(offIndependent <= 0.05 && overAllocation >= 0 ? 0 : 1);
