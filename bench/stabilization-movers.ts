/**
 * The stabilizer's motion analysis on the moving-subject cases of
 * bench/stabilization.ts (megamind-shake, montage-shake, vtest-people-shake:
 * characters or people, hard cuts, a known handheld shake) and, with --held,
 * on the issue-14 cases (src/bench/stabilization-cases.ts), WITHOUT rendering
 * or encoding the output: analyse (analyzeVideo, true shots given), plan, and
 * judge the plan's input->output maps against the ground truth (the same
 * compareWithTruth / cornerDeviation as the video bench, which measures the
 * maps from the output's pixels instead). Seconds a case once the shaky
 * inputs are rendered (cached in --work). For tuning motion options:
 *
 *   node --import tsx bench/stabilization-movers.ts [--cases a,b] [--held a,b] [--motion '{"ransacThreshold":0.2}'] [--work /tmp/reshoot-movers]
 *
 * Prints per case: residual shake clip-wide (mean removed over the clip) and
 * per shot (mean removed per shot), its low-pass (drift) and high-pass, the
 * input's residual, the zoom and the analysis CPU seconds; --held cases print
 * corner shake and drift as bench/stabilization-paths.ts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { STABILIZATION_CASES, cornerDeviation } from '../src/bench/stabilization-cases.js';
import { datasetPath, fetchDatasets, getSynthPreset, synthesizeClip, synthGroundTruth, type GroundTruth } from '../src/datasets/index.js';
import { compareWithTruth } from '../src/metrics/index.js';
import { analyzeVideo, outputTransform, zoomAt } from '../src/stabilize/index.js';
import { decodeFrames, encodeFrames, type Frame } from '../src/video/index.js';
import { loadOpenCV } from '../src/cv/opencv.js';
const { values } = parseArgs({ options: { cases: { type: 'string' }, held: { type: 'string' }, motion: { type: 'string', default: '{}' }, work: { type: 'string', default: '/tmp/reshoot-movers' } } });
const W = values.work!;
mkdirSync(W, { recursive: true });
const cutsToShots = (cuts: number[], n: number) => [0, ...cuts, n].slice(0, -1).map((start, i, a) => ({ start, end: i + 1 < a.length ? a[i + 1] : n }));
async function build(name: string): Promise<{ input: string; gt: GroundTruth; shots: { start: number; end: number }[] }> {
  const input = join(W, `${name}.mp4`);
  if (name === 'megamind-shake') {
    const spec = getSynthPreset('vtest-shake', { name: 'megamind-shake', source: 'megamind', sourceStart: 80, frames: 90, seed: 2001 });
    const gt = existsSync(input) ? synthGroundTruth(spec) : await synthesizeClip(spec, input, { overwrite: true });
    return { input, gt, shots: cutsToShots([18, 74], 90) };
  }
  if (name === 'vtest-people-shake') {
    const spec = getSynthPreset('vtest-shake', { name: 'vtest-people-shake', seed: 2002 });
    const gt = existsSync(input) ? synthGroundTruth(spec) : await synthesizeClip(spec, input, { overwrite: true });
    return { input, gt, shots: [{ start: 0, end: 80 }] };
  }
  const source = join(W, 'montage-source.mp4');
  const spec = getSynthPreset('vtest-shake', { name: 'montage-shake', frames: 120, seed: 2003 });
  if (!existsSync(input)) {
    const cv = await loadOpenCV();
    const resize = (f: Frame): Frame => {
      const src = cv.matFromArray(f.height, f.width, cv.CV_8UC3, f.data as unknown as number[]);
      const dst = new cv.Mat();
      cv.resize(src, dst, new cv.Size(768, 576), 0, 0, cv.INTER_AREA);
      const r = { width: 768, height: 576, data: new Uint8Array(dst.data as Uint8Array) };
      src.delete(); dst.delete();
      return r;
    };
    async function* montage(): AsyncGenerator<Frame> {
      yield* decodeFrames(datasetPath('vtest'), { start: 0, count: 40 });
      for await (const f of decodeFrames(datasetPath('megamind'), { start: 100, count: 40 })) yield resize(f);
      yield* decodeFrames(datasetPath('vtest'), { start: 500, count: 40 });
    }
    await encodeFrames(montage(), source, { fps: { num: 10, den: 1 }, crf: 12, overwrite: true });
    await synthesizeClip(spec, input, { overwrite: true, sourcePath: source });
  }
  return { input, gt: synthGroundTruth(spec), shots: cutsToShots([40, 80], 120) };
}
function perShot(dev: { x: number; y: number }[], shots: { start: number; end: number }[]) {
  let ss = 0;
  for (const s of shots) {
    const d = dev.slice(s.start, s.end);
    const mx = d.reduce((a, v) => a + v.x, 0) / d.length, my = d.reduce((a, v) => a + v.y, 0) / d.length;
    for (const v of d) ss += (v.x - mx) ** 2 + (v.y - my) ** 2;
  }
  return Math.sqrt(ss / dev.length);
}
const cases = (values.cases ?? (values.held ? '' : 'megamind-shake,montage-shake,vtest-people-shake')).split(',').filter(Boolean);
const motion = JSON.parse(values.motion!);
await fetchDatasets({ ids: ['vtest', 'megamind'] });
const f = (v: number) => v.toFixed(3);
for (const name of cases) {
  const { input, gt, shots } = await build(name);
  const t0 = process.cpuUsage();
  const r = await analyzeVideo(input, { shots, motion });
  const cpu = process.cpuUsage(t0);
  const { plan } = r.stabilization;
  const maps = plan.corrections.map((c, t) => outputTransform(c, zoomAt(plan, t), gt.width, gt.height));
  const truth = compareWithTruth(maps, gt);
  const raw = compareWithTruth(maps.map(() => [1, 0, 0, 0, 1, 0]), gt);
  console.log(`${name.padEnd(20)} residual ${f(truth.residualShake.px)} px (per shot ${f(perShot(truth.deviation, shots))}), drift ${f(truth.intentionalError.px)}, hf ${f(truth.highFrequencyShake.px)} | input ${f(raw.residualShake.px)} (per shot ${f(perShot(raw.deviation, shots))}) | zoom ${zoomAt(plan, 0).toFixed(3)}, analysis cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
}
for (const name of (values.held ?? '').split(',').filter(Boolean)) {
  const c = STABILIZATION_CASES[name];
  if (!c) throw new Error(`unknown case ${name}`);
  await fetchDatasets({ ids: [c.spec.source] });
  const input = join(W, `${name}.mp4`);
  const gt = existsSync(input) ? synthGroundTruth(c.spec) : await synthesizeClip(c.spec, input, { overwrite: true });
  const r = await analyzeVideo(input, { motion });
  const { plan } = r.stabilization;
  const maps = plan.corrections.map((m, t) => outputTransform(m, zoomAt(plan, t), gt.width, gt.height));
  const d = cornerDeviation(maps, gt);
  console.log(`${name.padEnd(20)} corner shake ${f(d.shakePx)} px, corner drift ${f(d.driftPx)} px, zoom ${zoomAt(plan, 0).toFixed(3)}`);
}
