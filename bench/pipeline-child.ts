/**
 * Child of bench/pipeline.ts: runs `processVideo` on one clip with a config
 * and prints the run manifest's per-segment timings and this process's peak
 * RSS (VmHWM) as one JSON line. A fresh process per clip keeps peaks apart.
 *
 *   node --import tsx bench/pipeline-child.ts <input> <output> <config-json> [sequential|overlap]
 */
import { readFileSync } from 'node:fs';
import { processVideo } from '../src/pipeline/process.js';
import { resolveConfig } from '../src/pipeline/config.js';

const [input, output, configJson, mode] = process.argv.slice(2);
const config = resolveConfig(JSON.parse(configJson ?? '{}'));
// CPU seconds of this process (all its threads: onnxruntime's included; ffmpeg children not) per whole-video
// step and per segment, from the stage events: wall time alone says little on a shared machine.
const cpu: { steps: Record<string, number>; segments: Record<number, number>; total: number } = { steps: {}, segments: {}, total: 0 };
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const started = new Map<string, number>();
const cpu0 = cpuNow();
// When each segment has the generator (seconds from the start): what the overlap target is computed from.
const wall0 = performance.now();
const timeline: { t: number; type: string; stage: string; segment?: number }[] = [];
const r = await processVideo({
  input, output, config, overwrite: true, sequential: mode === 'sequential',
  onEvent: (e) => {
    if (e.type === 'progress') return;
    timeline.push({ t: (performance.now() - wall0) / 1000, type: e.type, stage: e.stage, segment: e.segment });
    const key = e.stage === 'segment' ? `segment:${e.segment}` : e.stage;
    if (e.type === 'stage-start') started.set(key, cpuNow());
    else if (started.has(key)) {
      const s = cpuNow() - started.get(key)!;
      if (e.stage === 'segment') cpu.segments[e.segment!] = s;
      else cpu.steps[e.stage] = s;
    }
  },
});
cpu.total = cpuNow() - cpu0;
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(
  `${JSON.stringify({ seconds: r.seconds, steps: r.run.manifest.steps, segments: r.run.manifest.segments, cpu, timeline, wallSeconds: (performance.now() - wall0) / 1000, peakRssMB: hwm ? Number(hwm[1]) / 1024 : null })}\n`,
);
