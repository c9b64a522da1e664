/**
 * Micro-benchmarks of the hot kernels (tinybench): feature tracking, dense
 * flow, warp, temporal median, encode, pose and mask inference, on the
 * basketball pair -> results/<timestamp>-kernels.csv. Same as `reshoot bench --kernels`.
 *
 *   node --import tsx bench/kernels.ts [--only "dense flow,warp"] [--time-ms 1500] [--out file.csv]
 */
import { parseArgs } from 'node:util';
import { runKernelBenchmarks } from '../src/bench/kernels.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    'time-ms': { type: 'string', default: '1500' },
    out: { type: 'string' },
  },
});
const r = await runKernelBenchmarks({
  only: values.only?.split(',').map((s) => s.trim()),
  timeMs: Number(values['time-ms']),
  out: values.out,
  log: (line) => process.stderr.write(`${line}\n`),
});
console.log(r.table);
console.log(`wrote ${r.csvPath}`);
