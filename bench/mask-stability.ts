/**
 * Temporal stability of person masks on real footage: BlazePose-full and
 * selfie per frame, and each through the temporal filter (src/person-mask
 * stability.ts), scored by MaskStabilityMeter (IoU of consecutive masks after
 * flow compensation at full size, boundary jitter px) plus fidelity (IoU of the
 * filtered mask against that frame's unfiltered one: how far the filter drifts
 * from what the model saw) and ms per frame.
 *
 *   node --import tsx bench/mask-stability.ts [--start 134] [--count 40] [--subject 745,300] [--strengths 0.3,0.5]
 *
 * Default range: vtest.avi 134-173 (walker W1 crossing, people passing behind;
 * outside the held-out ranges). The subject is tracked with PeopleTracker.
 */
import { parseArgs } from 'node:util';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { rgbToGray } from '../src/flow/index.js';
import { createPersonMasker, type MaskModelName } from '../src/person-mask/index.js';
import { MaskStabilityMeter, TemporalMaskFilter, maskPairStats } from '../src/person-mask/stability.js';
import { parseSubjectRule, trackPoses } from '../src/pose/index.js';
import { decodeFrames, type GrayFrame } from '../src/video/index.js';

const { values } = parseArgs({
  options: {
    start: { type: 'string', default: '134' },
    count: { type: 'string', default: '40' },
    subject: { type: 'string', default: '745,300' },
    strengths: { type: 'string', default: '0.3,0.5' },
  },
});
const start = Number(values.start), count = Number(values.count);
const strengths = values.strengths!.split(',').map(Number);
await fetchDatasets({ ids: ['vtest'] });
const clip = datasetPath('vtest');
const t0 = performance.now();
const { track } = await trackPoses(clip, { subject: parseSubjectRule(values.subject!), start, count, threads: 1 });
process.stderr.write(`poses: ${((performance.now() - t0) / 1000).toFixed(1)} s, subject #${track.subject?.id} found in ${track.frames.filter((f) => f.found).length}/${count}\n`);

const rows: Record<string, string | number>[] = [];
for (const model of ['full', 'selfie'] as MaskModelName[]) {
  const masker = await createPersonMasker({ model, feather: 0, threads: 1 });
  const variants = [{ name: `${model} per frame`, filter: null as TemporalMaskFilter | null }, ...strengths.map((s) => ({ name: `${model} + temporal ${s}`, filter: new TemporalMaskFilter({ strength: s }) }))];
  const meters = variants.map(() => new MaskStabilityMeter(1));
  const fidelity = variants.map(() => [] as number[]);
  const ms = variants.map(() => 0);
  let i = 0;
  for await (const frame of decodeFrames(clip, { start, count })) {
    const pose = track.frames[i];
    const gray: GrayFrame = rgbToGray(frame);
    const a = performance.now();
    const raw = pose?.found ? (await masker.mask(frame, pose)).alpha : null;
    const maskMs = performance.now() - a;
    for (let v = 0; v < variants.length; v++) {
      const b = performance.now();
      const m = variants[v].filter ? await variants[v].filter!.push(gray, raw) : raw;
      ms[v] += maskMs + (performance.now() - b);
      await meters[v].push(gray, m);
      if (m && raw) fidelity[v].push(maskPairStats(m, raw).iou);
    }
    i++;
  }
  await masker.release();
  for (let v = 0; v < variants.length; v++) {
    const s = meters[v].summary();
    const f = fidelity[v];
    rows.push({
      variant: variants[v].name,
      pairs: s.pairs,
      'IoU mean': s.iouMean.toFixed(4),
      'IoU p10': s.iouP10.toFixed(4),
      'jitter mean px': s.jitterMeanPx.toFixed(3),
      'jitter p90 px': s.jitterP90Px.toFixed(3),
      'IoU vs per-frame': (f.reduce((x, y) => x + y, 0) / Math.max(1, f.length)).toFixed(4),
      'ms/frame': (ms[v] / i).toFixed(1),
    });
  }
}
console.table(rows);
