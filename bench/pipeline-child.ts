/**
 * Child of bench/pipeline.ts: runs `processVideo` on one clip with a config
 * and prints the run manifest's per-segment timings and this process's peak
 * RSS (VmHWM) as one JSON line. A fresh process per clip keeps peaks apart.
 *
 *   node --import tsx bench/pipeline-child.ts <input> <output> <config-json>
 */
import { readFileSync } from 'node:fs';
import { processVideo } from '../src/pipeline/process.js';
import { resolveConfig } from '../src/pipeline/config.js';

const [input, output, configJson] = process.argv.slice(2);
const config = resolveConfig(JSON.parse(configJson ?? '{}'));
const r = await processVideo({ input, output, config, overwrite: true });
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(
  `${JSON.stringify({ seconds: r.seconds, steps: r.run.manifest.steps, segments: r.run.manifest.segments, peakRssMB: hwm ? Number(hwm[1]) / 1024 : null })}\n`,
);
