/**
 * Contacts and ankles against the hand labels (datasets/labels/vtest-contacts.json):
 * every walker's range (plus 8 frames each side, never into the held-out frames)
 * is tracked with PeopleTracker, the subject is the track whose box holds the
 * walker's `at` point at the first labelled frame, contacts are detected on it
 * with the default options (or --options JSON), and scored per walker (contact F1, confusion at the
 * stance/swing boundaries, ankle error in original pixels).
 *
 *   node --import tsx bench/footlock-labels.ts [--labels datasets/labels/vtest-contacts.json] [--cache DIR]
 *
 * --cache keeps the pose tracks (one JSON per walker) so reruns skip the model.
 * --second-look MARGIN[,BELOW]: an experiment (src/footlock/README.md, "A second look at the feet"): every
 * found subject frame is shown to thunder again in a tighter square around its box (squareAround(box, MARGIN));
 * its ankles replace the track's, all of them, or with BELOW only ankles scoring below it where the second
 * look scores higher and is valid. Prints the extra model calls and their CPU time.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { detectContacts, resolveContactOptions, unswapLegs, type ContactOptions } from '../src/footlock/index.js';
import { addConfusion, f1, quantile, readContactLabels, scoreWalker, type Confusion } from '../src/footlock/contacts-eval.js';
import { createPoseEstimator, selectSubject, squareAround, trackPoses, type PoseEstimator, type PoseTrack } from '../src/pose/index.js';
import { datasetPath } from '../src/datasets/index.js';
import { decodeFrames, probeVideo } from '../src/video/index.js';

const { values } = parseArgs({ options: { labels: { type: 'string', default: 'datasets/labels/vtest-contacts.json' }, cache: { type: 'string' }, options: { type: 'string' }, 'second-look': { type: 'string' } } });
const labels = readContactLabels(values.labels!);
const clip = datasetPath('vtest');
const extra: ContactOptions = values.options ? JSON.parse(values.options) : {};

async function subjectTrack(w: (typeof labels.walkers)[number]): Promise<PoseTrack> {
  const cached = values.cache ? join(values.cache, `${w.frames[0]}-${w.frames[1]}-${w.at[0]}-${w.at[1]}.json`) : null;
  if (cached && existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as PoseTrack;
  // 8 frames of margin each side (fewer at the start of the clip).
  const start = Math.max(0, w.frames[0] - 8), count = w.frames[1] + 9 - start;
  for (const [a, b] of labels.heldOut) if (start <= b && start + count - 1 >= a) throw new Error(`${w.name}: margin reaches held-out ${a}-${b}`);
  const { track } = await trackPoses(clip, { subject: 'auto', start, count });
  // The subject: the track whose box (grown 20 %) holds `at` at the first labelled frame, nearest centre first.
  let best: { id: number; d: number } | null = null;
  for (const t of track.tracks!) {
    const f = t.frames.find((q) => q.index === w.frames[0]);
    if (!f?.box) continue;
    const b = f.box, mx = 0.2 * b.width + 4, my = 0.2 * b.height;
    if (w.at[0] < b.x - mx || w.at[0] > b.x + b.width + mx || w.at[1] < b.y - my || w.at[1] > b.y + b.height + my) continue;
    const d = Math.hypot(b.x + b.width / 2 - w.at[0], b.y + b.height / 2 - w.at[1]);
    if (!best || d < best.d) best = { id: t.id, d };
  }
  if (!best) throw new Error(`${w.name}: no track at ${w.at} in frame ${w.frames[0]}`);
  const people = { startIndex: start, frameCount: track.frames.length, fps: labels.fps, width: track.source.width, height: track.source.height, tracks: track.tracks!, cuts: [] };
  const sub = { ...track, frames: selectSubject(people, { id: best.id }).track.frames, subject: { id: best.id, rule: `${w.at[0]},${w.at[1]}@${w.frames[0]}` } };
  if (cached) {
    mkdirSync(values.cache!, { recursive: true });
    writeFileSync(cached, JSON.stringify(sub));
  }
  return sub;
}

const look = values['second-look']?.split(',').map(Number);
if (look && !(look[0] >= 0 && (look.length === 1 || (look.length === 2 && look[1] >= 0 && look[1] <= 1)))) throw new Error(`--second-look MARGIN[,BELOW]: got ${values['second-look']}`);
let lookEstimator: PoseEstimator | null = null, lookCalls = 0, lookReplaced = 0, lookCpu = 0;

/** The subject's ankles from a second, tighter look (see --second-look). */
async function secondLook(track: PoseTrack): Promise<PoseTrack> {
  lookEstimator ??= await createPoseEstimator({ model: 'thunder', threads: 1 });
  const [margin, below] = [look![0], look![1] ?? Infinity];
  const frames = track.frames.map((f) => ({ ...f, keypoints: f.keypoints.slice() }));
  const info = await probeVideo(clip);
  let i = 0;
  for await (const frame of decodeFrames(clip, { info, start: frames[0].index, count: frames.length })) {
    const f = frames[i++];
    if (!f.found || !f.box || !f.keypoints.slice(15, 17).some((k) => k.score < below)) continue;
    const t0 = process.cpuUsage();
    const p = await lookEstimator.estimate(frame, { region: squareAround(f.box, margin), index: f.index });
    const c = process.cpuUsage(t0);
    lookCpu += (c.user + c.system) / 1e6;
    lookCalls++;
    for (const k of [15, 16]) {
      if (below === Infinity || (f.keypoints[k].score < below && p.keypoints[k].valid && p.keypoints[k].score > f.keypoints[k].score)) {
        f.keypoints[k] = p.keypoints[k];
        lookReplaced++;
      }
    }
  }
  return { ...track, frames };
}

const zero = (): Confusion => ({ tp: 0, fp: 0, fn: 0, tn: 0 });
let pooled = zero(), boundary = zero(), interior = zero();
const allErr: number[] = [];
for (const w of labels.walkers) {
  const track = look ? await secondLook(await subjectTrack(w)) : await subjectTrack(w);
  const contacts = detectContacts(track, extra);
  // Scored on the ankles the contacts were decided on (left/right swaps undone unless --options sets legSwap 0).
  const ls = resolveContactOptions(extra).legSwap;
  const s = scoreWalker(w, ls > 0 ? unswapLegs(track, { swapCost: ls }).track : track, contacts);
  pooled = addConfusion(pooled, s.all);
  boundary = addConfusion(boundary, s.boundary);
  interior = addConfusion(interior, s.interior);
  allErr.push(...s.ankleErrors);
  const c = s.all;
  console.log(`${w.name.split(' ')[0]} frames ${w.frames.join('-')} subject #${track.subject?.id}: F1 ${f1(c).toFixed(3)} (tp ${c.tp} fp ${c.fp} fn ${c.fn} tn ${c.tn}, undecided ${s.undecided}); boundary tp ${s.boundary.tp} fp ${s.boundary.fp} fn ${s.boundary.fn} tn ${s.boundary.tn}; interior tp ${s.interior.tp} fp ${s.interior.fp} fn ${s.interior.fn} tn ${s.interior.tn}; ankle err median ${quantile(s.ankleErrors, 0.5).toFixed(1)} p90 ${quantile(s.ankleErrors, 0.9).toFixed(1)} px (n ${s.ankleErrors.length}, missing ${s.ankleMissing}); feet a->${s.match.a} b->${s.match.b}`);
}
allErr.sort((a, b) => a - b);
console.log(`pooled F1 ${f1(pooled).toFixed(3)} (tp ${pooled.tp} fp ${pooled.fp} fn ${pooled.fn} tn ${pooled.tn}); boundary frames F1 ${f1(boundary).toFixed(3)} (fp ${boundary.fp} fn ${boundary.fn} of ${boundary.tp + boundary.fp + boundary.fn + boundary.tn}), interior F1 ${f1(interior).toFixed(3)} (fp ${interior.fp} fn ${interior.fn} of ${interior.tp + interior.fp + interior.fn + interior.tn}); ankle err median ${quantile(allErr, 0.5).toFixed(1)} p90 ${quantile(allErr, 0.9).toFixed(1)} px`);
if (look) {
  console.log(`second look (margin ${look[0]}${look[1] !== undefined ? `, ankles below ${look[1]}` : ''}): ${lookCalls} extra thunder calls, ${lookReplaced} ankles replaced, ${lookCpu.toFixed(1)} s CPU (${((1000 * lookCpu) / Math.max(1, lookCalls)).toFixed(1)} ms per call)`);
  await (lookEstimator as PoseEstimator | null)?.release();
}
