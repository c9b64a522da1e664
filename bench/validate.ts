/**
 * The validation run: datasets x configurations -> results/<timestamp>-validation.csv
 * (+ .env.json), the same as `reshoot bench`, for running from a checkout.
 *
 *   node --import tsx bench/validate.ts [--datasets a,b] [--configs x,y] [--segments 3,5]
 *        [--max-frames n] [--repeat n] [--budget-gpu-gb 45] [--budget-seconds 30] [--out file.csv]
 *
 * What runs per segment is a RunConfiguration (src/bench/runner.ts). Until
 * src/pipeline lands it is the stabilization-only run (src/bench/stabilize-run.ts);
 * the pipeline plugs in by passing `run` and `available` to runValidationToCsv.
 */
import { parseArgs } from 'node:util';
import { formatSummaryTable, runValidationToCsv } from '../src/bench/index.js';

const { values } = parseArgs({
  options: {
    datasets: { type: 'string' },
    configs: { type: 'string' },
    segments: { type: 'string' },
    'max-frames': { type: 'string' },
    repeat: { type: 'string', default: '1' },
    'budget-gpu-gb': { type: 'string', default: '45' },
    'budget-seconds': { type: 'string', default: '30' },
    out: { type: 'string' },
  },
});
const list = (s?: string) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

const result = await runValidationToCsv({
  datasets: list(values.datasets),
  configurations: list(values.configs),
  segments: list(values.segments)?.map(Number),
  maxFrames: values['max-frames'] ? Number(values['max-frames']) : undefined,
  repeats: Number(values.repeat),
  budgets: { gpuGb: Number(values['budget-gpu-gb']), seconds: Number(values['budget-seconds']) },
  out: values.out,
  onProgress: (done, total, label) => process.stderr.write(`\r${done}/${total} segments  ${label.padEnd(50)}`),
});
process.stderr.write('\n');
console.log(formatSummaryTable(result.rows));
console.log(`wrote ${result.csvPath} and ${result.envPath} in ${result.seconds.toFixed(1)} s`);
