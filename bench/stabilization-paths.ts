/**
 * Path-only check of the smoothers on the held-out-like cases
 * (src/bench/stabilization-cases.ts): the inter-frame motions are the ground
 * truth's exact ones, so no video is rendered, analysed or encoded and a case
 * takes milliseconds. Drift and shake at the frame corners are computed as in
 * bench/stabilization.ts from F_t = Z ∘ S_t ∘ P_t^-1. Use it to tune; the
 * video bench (bench/stabilization.ts) is what the verdicts come from.
 *
 *   node --import tsx bench/stabilization-paths.ts [--set tuning|check] [--opts '{"path":"piecewise"}'] [--measured DIR]
 *
 * --measured DIR: use DIR/motions-<case>.json (a JSON array of 2x3 matrices,
 * the motions analyzeVideo measured on the rendered clip) where present, so
 * the smoothers see real estimation error; the cases without one are skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { synthGroundTruth, getSynthPreset, listSynthPresets } from '../src/datasets/index.js';
import { compareWithTruth, flatten } from '../src/metrics/index.js';
import { accumulatePath, l1, planCorrections, outputTransform, zoomAt, type L1Options } from '../src/stabilize/index.js';
import { STABILIZATION_CASES, cornerDeviation } from '../src/bench/stabilization-cases.js';

const { values } = parseArgs({ options: { set: { type: 'string' }, opts: { type: 'string', default: '{}' }, measured: { type: 'string' } } });
const extra = JSON.parse(values.opts!) as L1Options;
const specs = [
  ...Object.entries(STABILIZATION_CASES).filter(([, c]) => !values.set || c.set === values.set).map(([n, c]) => ({ name: n, set: c.set, spec: c.spec })),
  ...(!values.set || values.set === 'tuning' ? listSynthPresets().map((p) => ({ name: p.name, set: 'tuning (preset)', spec: getSynthPreset(p.name) })) : []),
];
const rows = [];
for (const { name, set, spec } of specs) {
  const gt = synthGroundTruth(spec);
  const W = gt.width, H = gt.height;
  const file = values.measured ? join(values.measured, `motions-${name}.json`) : undefined;
  if (file && !existsSync(file)) continue;
  const motions = file ? (JSON.parse(readFileSync(file, 'utf8')) as number[][]) : gt.interframe.map(flatten);
  const path = accumulatePath(motions, W, H);
  const t0 = process.hrtime.bigint();
  const smoothed = l1(path, { width: W, height: H, ...extra });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const plan = planCorrections(path, smoothed, { width: W, height: H, border: 'zoom' });
  const maps = plan.corrections.map((c, t) => outputTransform(c, zoomAt(plan, t), W, H));
  const truth = compareWithTruth(maps, gt);
  const corner = cornerDeviation(maps, gt);
  const f = (v: number) => Number(v.toFixed(3));
  rows.push({ case: name, set, shake: f(truth.highFrequencyShake.px), drift: f(truth.intentionalError.px), 'corner shake': f(corner.shakePx), 'corner drift': f(corner.driftPx), zoom: f(zoomAt(plan, 0)), ms: Math.round(ms) });
}
console.table(rows);
