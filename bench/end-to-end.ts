/**
 * End-to-end acceptance bench (the whole pipeline judged from its output's pixels):
 *
 *   node --import tsx bench/end-to-end.ts [--clips vtest-shake,megamind,vtest-pan-shake,all-cuts,full-frame-person,no-person] [--ablation] [--out results/]
 *
 * Default: the first three. The last three are the bad inputs (passthrough only: they must finish with a note in
 * run.json and keep the identity).
 *
 * Writes results/<ts>-end-to-end.csv (one row per clip x generator x variant) and
 * contact sheets (input | output | 4x difference at 6 frames) under
 * results/<ts>-end-to-end/. See src/bench/end-to-end-run.ts for the targets.
 * Also `reshoot bench --end-to-end`.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileTimestamp } from '../src/bench/csv.js';
import { runEndToEnd } from '../src/bench/end-to-end-run.js';

const { values } = parseArgs({ options: { clips: { type: 'string' }, ablation: { type: 'boolean', default: false }, out: { type: 'string', default: 'results' } } });
const started = performance.now();
const { rows, csv, sheets } = await runEndToEnd({
  clips: values.clips?.split(','),
  ablation: values.ablation,
  outDir: resolve(values.out!),
  stamp: fileTimestamp(),
  log: (s) => console.log(s),
});
console.log(`\n${rows.filter((r) => r.pass).length} of ${rows.length} rows pass; ${csv}; sheets: ${sheets.length} under ${resolve(values.out!)}`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
