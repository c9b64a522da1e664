/**
 * Contact options against the hand labels and the synthetic gait sets together
 * (the tuning behind DEFAULT_CONTACT_OPTIONS; see src/footlock/README.md).
 *
 *   node --import tsx bench/contacts-tune.ts --cache /tmp/contacts-cache [--hold W5,W8] [--variants '{"name": {...options}}']
 *
 * Needs the pose tracks cached by bench/footlock-labels.ts (--cache, run it first).
 * --hold: walkers kept out of the tuning score, reported on their own line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { detectContacts, resolveContactOptions, unswapLegs, type ContactOptions } from '../src/footlock/index.js';
import { addConfusion, f1, readContactLabels, scoreWalker, type Confusion } from '../src/footlock/contacts-eval.js';
import { gaitSet, generateGait, type GaitSpec } from '../src/datasets/index.js';
import { contactScores } from '../src/metrics/index.js';
import type { PoseTrack } from '../src/pose/types.js';

const { values } = parseArgs({ options: { labels: { type: 'string', default: 'datasets/labels/vtest-contacts.json' }, cache: { type: 'string', default: '/tmp/contacts-cache' }, hold: { type: 'string', default: '' }, variants: { type: 'string' } } });
const labels = readContactLabels(values.labels!);
const hold = new Set(values.hold!.split(',').filter(Boolean));
const real = labels.walkers.map((w) => ({ w, track: JSON.parse(readFileSync(join(values.cache!, `${w.frames[0]}-${w.frames[1]}-${w.at[0]}-${w.at[1]}.json`), 'utf8')) as PoseTrack }));
const main = gaitSet().map((c) => generateGait(c.spec));
const low = gaitSet({ fps: 10, frames: 80, bodyHeights: [65, 130], noises: [0.005, 0.01, 0.015] }).map((c) => generateGait({ ...c.spec, outlierRate: 0.02 } as GaitSpec));

function synth(set: typeof main, o: ContactOptions) {
  const per = set.map((g) => {
    const r = detectContacts(g.track, o);
    return { pred: [r.feet.left.contact, r.feet.right.contact], truth: [g.contacts.left, g.contacts.right] };
  });
  return { f1: contactScores(per.flatMap((p) => p.pred), per.flatMap((p) => p.truth)).f1, worst: Math.min(...per.map((p) => contactScores(p.pred, p.truth).f1)) };
}

const zero = (): Confusion => ({ tp: 0, fp: 0, fn: 0, tn: 0 });
export function evaluate(o: ContactOptions) {
  let tune = zero(), held = zero(), boundary = zero();
  const per: string[] = [];
  for (const { w, track } of real) {
    // Scored on the ankles the contacts were decided on (legs swapped back when legSwap is on).
    const ls = resolveContactOptions(o).legSwap;
    const s = scoreWalker(w, ls > 0 ? unswapLegs(track, { swapCost: ls }).track : track, detectContacts(track, o));
    if (hold.has(w.name.split(' ')[0])) held = addConfusion(held, s.all);
    else tune = addConfusion(tune, s.all);
    boundary = addConfusion(boundary, s.boundary);
    per.push(`${w.name.split(' ')[0]} ${f1(s.all).toFixed(2)}`);
  }
  const pooled = addConfusion(tune, held);
  return { tune: f1(tune), held: f1(held), pooled: f1(pooled), fp: pooled.fp, fn: pooled.fn, boundary: f1(boundary), per, main: synth(main, o), low: synth(low, o) };
}

const variants: Record<string, ContactOptions> = values.variants ? JSON.parse(values.variants) : { defaults: {} };
for (const [name, o] of Object.entries(variants)) {
  const r = evaluate(o);
  console.log(`${name.padEnd(28)} real: tune ${r.tune.toFixed(3)} held ${r.held.toFixed(3)} pooled ${r.pooled.toFixed(3)} (fp ${r.fp} fn ${r.fn}, boundary ${r.boundary.toFixed(2)}) [${r.per.join(', ')}]  synth 30fps ${r.main.f1.toFixed(4)} (worst ${r.main.worst.toFixed(3)}) 10fps ${r.low.f1.toFixed(4)} (worst ${r.low.worst.toFixed(3)})`);
}
