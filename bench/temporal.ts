/**
 * Temporal consistency benchmarks.
 *
 *   node --import tsx bench/temporal.ts [--suite flicker|seams] ...
 *
 * --suite flicker (default): the flicker set of issue 16. Clean clips (vtest.avi
 * frames 0.., Megamind.avi frames 100.. (between its cuts at 97 and 153), and
 * the synthetic handheld clip 'photo-dolly-shake' of src/datasets), --frames
 * each at --width, each perturbed with the four kinds A-D of
 * src/temporal/flicker-set.ts; every method runs on every (clip, kind) with the
 * clean clip as guide and is scored against the clean clip: E ratio
 * (geometric mean), PSNR, grad and edge ratios on moving pixels, and the
 * method's own frames/s over all its runs. Methods: no processing, ffmpeg
 * hqdn3d (strong temporal), a 3-frame temporal mix, a flow-warp blend 0.6
 * (Farneback at half size, no occlusion check), reshoot 'blend' (the earlier
 * method) and reshoot 'separated' at flow scales 0.5 (default), 1 and 0.25.
 *
 *   node --import tsx bench/temporal.ts --frames 40 --width 384 [--clips vtest,megamind,handheld] [--methods ...] [--out results/temporal-flicker.csv] [--compare auto|<baseline.csv>]
 *
 * --compare judges the rows against a baseline (auto: results/baseline-temporal.csv) with the bands of
 * src/bench/baseline.ts TEMPORAL_SUITE; exit 3 outside a band or when nothing matched its clips/frames/width.
 *
 * --suite seams: the earlier seam benchmark (segments through the synthetic
 * generator, joins, the stage per segment), see seamsSuite below:
 *
 *   node --import tsx bench/temporal.ts --suite seams [--frames 60] [--width 384] [--count 3] [--strength 0.6] [--speed-frames 20] [--out results/temporal.csv]
 *
 * --suite style: real per-frame generator flicker (issue 13). Each real clip
 * (vtest, megamind) is planned into --count segments, each segment goes through
 * the style transfer network (style:<--style> at --gen-size, onnxruntime CPU,
 * --threads), the segments are joined (cosine + colour match), and the
 * pipeline's temporal stage ('separated' at flow scales 0.5 and 0.25, and
 * TEMPORAL_STYLE_PRESET) runs per segment with carry off and on. Rows: E_warp
 * (output, input, ratio), E_warp output / raw generated, tOF, seam scores,
 * gradient ratio output / raw on moving pixels (texture kept) and on all
 * pixels, the low band's PSNR against the raw output on moving pixels (halo
 * check), PSNR against the raw output, seconds per segment (generate;
 * temporal); then per configuration the pooled figures over the clips:
 *
 *   node --import tsx bench/temporal.ts --suite style [--style matta] [--clips vtest,megamind] [--frames 40] [--width 384] [--gen-size 288] [--count 3] [--threads 2] [--out results/temporal-style.csv]
 *
 * --suite drift: the long-term colour anchor (colorMemory) over a long clip. vtest.avi
 * frames 0.. (--frames, default 100) at --width, kinds A and D, the clean clip as
 * guide; per frame the output's per-channel mean minus the clean frame's (colour and
 * brightness bias), summarised as the RMS bias over all frames and over the last
 * quarter, the largest |luma bias|, and the E ratio and PSNR:
 *
 *   node --import tsx bench/temporal.ts --suite drift [--frames 100] [--width 384]
 *
 * --suite style-methods: the real flicker of the style-transfer generator (src/generate/style,
 * `createGenerator('style:<name>')`, frame scope, its default working size) on vtest
 * frames 0.. (--frames, default 20) at --width; there is no clean stylised clip, so the
 * scores are the E_warp ratio against the INPUT clip (flow and occlusion from the input)
 * and the PSNR against the raw stylised frames (how much of the generator's output is kept):
 *
 *   node --import tsx bench/temporal.ts --suite style-methods [--style matta] [--frames 20] [--width 384]
 *
 * --suite speed: frames/s of `TemporalConsistency.push` at 640x480 (vtest, kind D),
 * 'blend' and 'separated' variants interleaved in one run (--speed-frames each, three
 * rounds, the first not counted), as wall-clock frames/s and frames per CPU second.
 *
 * Numbers on a shared 2-core machine are noisy: rerun on a quiet one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { fetchDatasets, getSynthPreset, synthesizeClip } from '../src/datasets/index.js';
import { decodeFrames, probeVideo, resolveFfmpeg, type Frame } from '../src/video/index.js';
import { blendSegments, motionEnergyOfFrames, planSegments, type RampKind, type SegmentPlan } from '../src/segment/index.js';
import { syntheticGenerateSegment } from '../src/generate/synthetic.js';
import { applyTemporalConsistency, TemporalConsistency, TEMPORAL_STYLE_PRESET, type TemporalOptions } from '../src/temporal/index.js';
import { FLICKER_KINDS, flickerTruth, geometricMean, gradientMagnitude, perturbClip, scoreFlicker, type FlickerKind, type FlickerScore } from '../src/temporal/flicker-set.js';
import { createStyleGenerator } from '../src/generate/style/index.js';
import { denseFlow, flowSize, rgbToGray, resizeGray, warpByFlow } from '../src/flow/index.js';
import { measureFlickerFrames, psnr, type FlickerReport } from '../src/metrics/index.js';
import { createGenerator } from '../src/generate/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { TEMPORAL_SUITE, baselinePath, compareWithBaseline, formatBaselineReport, readBaseline } from '../src/bench/baseline.js';
import { cacheDir } from '../src/util/paths.js';
import { blurRgb } from '../src/temporal/separated.js';

const { values: args } = parseArgs({
  options: {
    suite: { type: 'string', default: 'flicker' },
    frames: { type: 'string' },
    width: { type: 'string', default: '384' },
    clips: { type: 'string', default: 'vtest,megamind,handheld' },
    methods: { type: 'string' },
    count: { type: 'string', default: '3' },
    strength: { type: 'string', default: '0.6' },
    'speed-frames': { type: 'string', default: '20' },
    style: { type: 'string', default: 'matta' },
    'gen-size': { type: 'string', default: '288' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string' },
    compare: { type: 'string' },
  },
});
const FLOW_SCALES = [0.5, 0.25];
const N = Number(args.frames ?? (args.suite === 'seams' ? 60 : 40)), WIDTH = Number(args.width), COUNT = Number(args.count), STRENGTH = Number(args.strength);

async function decode(path: string, count: number, width: number, height: number, start = 0): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of decodeFrames(path, { start, count, scale: { width, height } })) frames.push(f);
  return frames;
}

function f(v: number | null | undefined, d = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '' : v.toFixed(d);
}

async function seamsSuite(): Promise<void> {
  const OUT = args.out ?? 'results/temporal.csv';
  await fetchDatasets({ ids: ['vtest'] }).catch(() => undefined);
  const path = cacheDir('datasets', 'vtest.avi');
  const height = Math.round((WIDTH * 576) / 768 / 2) * 2;
  const clean = await decode(path, N, WIDTH, height);
  console.log(`vtest.avi: ${clean.length} frames at ${WIDTH}x${height}`);

  const energy = await motionEnergyOfFrames(clean.map(rgbToGray));
  const plan: SegmentPlan = planSegments(clean.length, energy, { count: COUNT, energySource: 'flow-residual' });
  console.log(`plan (${plan.method}): ${plan.segments.map((s) => `${s.label} ${s.start}-${s.end - 1}`).join(', ')}; ${plan.reason}`);
  const segs = plan.segments.map((s, k) => syntheticGenerateSegment(clean.slice(s.start, s.end), k, { seed: 7, firstFrame: s.start }));

  const rows: Record<string, string | number>[] = [];
  const row = (config: string, r: FlickerReport, extra: Record<string, string | number> = {}) => {
    const seamScores = r.seams?.map((s) => s.score) ?? [];
    const jumps = r.seams?.map((s) => s.colorJumpMax) ?? [];
    rows.push({
      config,
      frames: r.frames,
      e_warp_output: f(r.eWarp.output, 6),
      e_warp_input: f(r.eWarp.input, 6),
      e_warp_ratio: f(r.eWarp.ratio, 3),
      tof: f(r.tOF, 4),
      psnr_clean: f(r.fidelity.clean?.psnr, 2),
      ssim_clean: f(r.fidelity.clean?.ssim, 4),
      psnr_raw: f(r.fidelity.raw?.psnr, 2),
      ssim_raw: f(r.fidelity.raw?.ssim, 4),
      seam_scores: seamScores.map((v) => v.toFixed(3)).join(' '),
      seam_max: f(seamScores.length ? Math.max(...seamScores) : NaN, 3),
      color_jump_max: f(jumps.length ? Math.max(...jumps) : NaN, 2),
      ...extra,
    });
  };

  // Joins.
  const joins = new Map<string, Frame[]>();
  const hardPlan: SegmentPlan = { ...plan, segments: plan.segments.map((s) => ({ ...s })) };
  {
    // Hard cut: every frame from the segment whose core it is in (no overlap frames used).
    const hard: Frame[] = [];
    plan.segments.forEach((s, k) => segs[k].slice(0, s.end - s.start - s.overlap).forEach((fr) => hard.push(fr)));
    joins.set('hard cut', hard);
  }
  for (const ramp of ['linear', 'cosine', 'triangular'] as RampKind[]) {
    for (const colorMatch of [false, true]) {
      const { frames } = await blendSegments(segs, plan, { ramp, colorMatch });
      joins.set(`${ramp}${colorMatch ? ' + colour match' : ''}`, frames);
    }
  }
  for (const [name, frames] of joins) {
    const r = await measureFlickerFrames(frames, clean, { plan: hardPlan, clean, ssim: true });
    row(`join: ${name}`, r);
    console.log(`${name.padEnd(28)} seams ${r.seams?.map((s) => `${s.score.toFixed(2)} (jump ${s.colorJumpMax.toFixed(1)})`).join(', ')}`);
  }

  // Temporal stage, in pipeline order: per segment (guide = the clean input frames of that
  // segment), restarting at every segment start or carrying the previous segment's output
  // into it, then the cosine + colour-matched join. Compared with the same join without it.
  const raw = joins.get('cosine + colour match')!;
  const rawReport = await measureFlickerFrames(raw, clean, { plan, clean, raw });
  row('temporal: none (cosine + colour match join)', rawReport);
  for (const flowScale of FLOW_SCALES) {
    for (const carry of [false, true]) {
      const t0 = performance.now();
      const outSegs: Frame[][] = [];
      for (const [k, s] of plan.segments.entries()) {
        const prev = k > 0 ? plan.segments[k - 1] : undefined;
        const initial = carry && prev ? { guide: clean[s.start - 1], output: outSegs[k - 1][s.start - 1 - prev.start] } : undefined;
        outSegs.push(await applyTemporalConsistency(clean.slice(s.start, s.end), segs[k], { method: 'blend', strength: STRENGTH, flowScale, initial }));
      }
      const secs = (performance.now() - t0) / 1000;
      const frames = outSegs.reduce((a, s) => a + s.length, 0);
      const { frames: out } = await blendSegments(outSegs, plan, { ramp: 'cosine', colorMatch: true });
      const r = await measureFlickerFrames(out, clean, { plan, clean, raw });
      row(`temporal: strength ${STRENGTH} flow scale ${flowScale} ${carry ? 'carry' : 'reset at segment starts'} + cosine + colour match`, r, { stage_fps: (frames / secs).toFixed(1) });
      console.log(
        `temporal scale ${flowScale} ${carry ? 'carry' : 'reset'}: E_warp ratio ${rawReport.eWarp.ratio.toFixed(3)} -> ${r.eWarp.ratio.toFixed(3)} (${(100 * (1 - r.eWarp.ratio / rawReport.eWarp.ratio)).toFixed(1)}% lower), ` +
          `tOF ${rawReport.tOF.toFixed(4)} -> ${r.tOF.toFixed(4)}, PSNR vs clean ${rawReport.fidelity.clean!.psnr.toFixed(2)} -> ${r.fidelity.clean!.psnr.toFixed(2)} dB, ` +
          `PSNR vs raw ${r.fidelity.raw!.psnr.toFixed(2)} dB, seams ${r.seams?.map((x) => x.score.toFixed(2)).join(' ')}`,
      );
    }
  }

  // Speed at 640x480: what the stage does per frame (flow on the guide at its flow scale, check, warp, blend).
  const speedFrames = Number(args['speed-frames']);
  const big = await decode(path, speedFrames + 1, 640, 480);
  const bigGen = syntheticGenerateSegment(big, 0, { seed: 3 });
  for (const flowScale of [0.5, 0.25]) {
    const tc = new TemporalConsistency({ method: 'blend', strength: STRENGTH, flowScale });
    const guides = await Promise.all(big.map((fr) => resizeGray(rgbToGray(fr), Math.round(640 * flowScale), Math.round(480 * flowScale))));
    await tc.push(guides[0], bigGen[0]);
    const t0 = performance.now();
    for (let i = 1; i < big.length; i++) await tc.push(guides[i], bigGen[i]);
    const fps = (big.length - 1) / ((performance.now() - t0) / 1000);
    console.log(`speed 640x480, flow scale ${flowScale} (Farneback 0.5,3,15,3,5,1.2 both ways): ${fps.toFixed(1)} frames/s`);
    rows.push({ config: `speed 640x480 flow scale ${flowScale}`, frames: big.length - 1, stage_fps: fps.toFixed(1) });
  }

  const cols = ['config', 'frames', 'e_warp_output', 'e_warp_input', 'e_warp_ratio', 'tof', 'psnr_clean', 'ssim_clean', 'psnr_raw', 'ssim_raw', 'seam_scores', 'seam_max', 'color_jump_max', 'stage_fps'];
  await writeFileAtomic(resolve(OUT), stringify(rows, { header: true, columns: cols }), { overwrite: true });
  console.table(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? '']))));
  console.log(`wrote ${resolve(OUT)}`);
}

// ---------------------------------------------------------------- flicker suite

type Runner = (guide: Frame[], gen: Frame[]) => Promise<Frame[]>;

/** ffmpeg hqdn3d on raw frames through pipes (strong temporal settings); the time includes ffmpeg's start. */
function hqdn3d(params: string): Runner {
  return (_guide, gen) =>
    new Promise<Frame[]>((done, fail) => {
      const { width: w, height: h } = gen[0];
      const child = spawn(resolveFfmpeg(), ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-r', '10', '-i', '-', '-vf', `hqdn3d=${params}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', fail);
      child.on('close', (code) => {
        if (code !== 0) return fail(new Error(`ffmpeg hqdn3d exited ${code}: ${err.trim()}`));
        const all = Buffer.concat(chunks), size = w * h * 3;
        if (all.length !== size * gen.length) return fail(new Error(`ffmpeg hqdn3d returned ${all.length} bytes for ${gen.length} frames`));
        done(gen.map((_, t) => ({ width: w, height: h, data: new Uint8Array(all.subarray(t * size, (t + 1) * size)) })));
      });
      for (const f of gen) child.stdin.write(f.data);
      child.stdin.end();
    });
}

/** Mean of frames t-1, t, t+1 (two at the ends): no flow, blurs whatever moves. */
const mix3: Runner = async (_guide, gen) =>
  gen.map((f, t) => {
    const set = [gen[t - 1], f, gen[t + 1]].filter((x): x is Frame => !!x);
    const data = new Uint8Array(f.data.length);
    for (let i = 0; i < data.length; i++) {
      let s = 0;
      for (const g of set) s += g.data[i];
      data[i] = Math.round(s / set.length);
    }
    return { ...f, data };
  });

/** The 40-line peer: out = 0.4 G + 0.6 warp(previous out) everywhere, Farneback flow t -> t-1 on the guide at half size, no occlusion check. */
const warpBlend: Runner = async (guide, gen) => {
  const { width: W, height: H } = gen[0];
  const fs = flowSize(W, H, 0.5);
  const out: Frame[] = [];
  let prevG = await resizeGray(rgbToGray(guide[0]), fs.width, fs.height);
  out.push(gen[0]);
  for (let t = 1; t < gen.length; t++) {
    const g = await resizeGray(rgbToGray(guide[t]), fs.width, fs.height);
    const warped = await warpByFlow(out[t - 1], await denseFlow(g, prevG));
    const data = new Uint8Array(W * H * 3);
    const G = gen[t].data, P = warped.data;
    for (let i = 0; i < data.length; i++) data[i] = 0.4 * G[i] + 0.6 * P[i] + 0.5;
    out.push({ width: W, height: H, data });
    prevG = g;
  }
  return out;
};

function reshoot(opts: TemporalOptions): Runner {
  return (guide, gen) => applyTemporalConsistency(guide, gen, opts);
}

const METHODS: { name: string; run: Runner | null }[] = [
  { name: 'no processing', run: null },
  { name: 'ffmpeg hqdn3d=4:3:12:9 (strong temporal)', run: hqdn3d('4:3:12:9') },
  { name: '3-frame temporal mix', run: mix3 },
  { name: 'flow-warp blend 0.6 (Farneback 0.5x, no check)', run: warpBlend },
  { name: "reshoot 'blend' 0.6 (earlier default)", run: reshoot({ method: 'blend' }) },
  { name: "reshoot 'separated' (default, flow 0.5x)", run: reshoot({ method: 'separated' }) },
  { name: "reshoot 'separated', flow 1x", run: reshoot({ method: 'separated', flowScale: 1 }) },
  { name: "reshoot 'separated', flow 0.25x", run: reshoot({ method: 'separated', flowScale: 0.25 }) },
  { name: 'reshoot TEMPORAL_STYLE_PRESET (style generators)', run: reshoot(TEMPORAL_STYLE_PRESET) },
];

async function loadClip(name: string, n: number, width: number): Promise<Frame[]> {
  if (name === 'vtest' || name === 'megamind') {
    const id = name === 'vtest' ? 'vtest' : 'megamind';
    await fetchDatasets({ ids: [id] }).catch(() => undefined);
    const path = cacheDir('datasets', name === 'vtest' ? 'vtest.avi' : 'Megamind.avi');
    const info = await probeVideo(path);
    const height = Math.round((width * info.height) / info.width / 2) * 2;
    // Megamind: frames 100.. lie between the hard cuts near 97 and 153.
    return decode(path, n, width, height, name === 'megamind' ? 100 : 0);
  }
  if (name === 'handheld') {
    const dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-temporal-'));
    try {
      const height = Math.round((width * 3) / 4 / 2) * 2;
      const spec = getSynthPreset('photo-dolly-shake', { width, height, frames: n });
      const path = join(dir, 'handheld.mp4');
      await synthesizeClip(spec, path, { overwrite: true });
      return await decode(path, n, width, height);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`unknown clip ${name} (vtest, megamind, handheld)`);
}

async function flickerSuite(): Promise<void> {
  const OUT = args.out ?? 'results/temporal-flicker.csv';
  const clipNames = args.clips!.split(',').map((c) => c.trim()).filter(Boolean);
  const wanted = args.methods ? args.methods.split(',').map((m) => m.trim()) : null;
  const methods = METHODS.filter((m) => !wanted || wanted.some((w) => m.name.includes(w)));
  type Cell = { clip: string; kind: FlickerKind; method: string; score: FlickerScore; seconds: number; frames: number };
  const cells: Cell[] = [];
  for (const clip of clipNames) {
    const clean = await loadClip(clip, N, WIDTH);
    const truth = await flickerTruth(clean);
    console.log(`${clip}: ${clean.length} frames at ${clean[0].width}x${clean[0].height}, E_warp clean ${truth.eClean.toExponential(3)}`);
    for (const [k, kind] of FLICKER_KINDS.entries()) {
      const gen = await perturbClip(clean, kind, 1000 + 10 * clipNames.indexOf(clip) + k);
      for (const m of methods) {
        const t0 = performance.now();
        const out = m.run ? await m.run(clean, gen) : gen;
        const seconds = (performance.now() - t0) / 1000;
        const score = await scoreFlicker(truth, out);
        cells.push({ clip, kind, method: m.name, score, seconds, frames: out.length });
        console.log(`  ${kind} ${m.name.padEnd(48)} E ${score.eRatio.toFixed(2).padStart(6)}  PSNR ${score.psnr.toFixed(2)}  grad ${score.grad.toFixed(3)}  edge ${score.edge.toFixed(3)}  ${m.run ? (out.length / seconds).toFixed(1) + ' fps' : ''}`);
      }
    }
  }
  const rows = methods.map((m) => {
    const mine = cells.filter((c) => c.method === m.name);
    const mean = (f: (c: Cell) => number) => mine.reduce((s, c) => s + f(c), 0) / mine.length;
    const byKind = Object.fromEntries(FLICKER_KINDS.map((k) => [`e_ratio_${k}`, geometricMean(mine.filter((c) => c.kind === k).map((c) => c.score.eRatio)).toFixed(2)]));
    const secs = mine.reduce((s, c) => s + c.seconds, 0), frames = mine.reduce((s, c) => s + c.frames, 0);
    return {
      clips: clipNames.join(' '),
      frames: String(N),
      width: String(WIDTH),
      method: m.name,
      e_ratio: geometricMean(mine.map((c) => c.score.eRatio)).toFixed(2),
      psnr: mean((c) => c.score.psnr).toFixed(2),
      grad: mean((c) => c.score.grad).toFixed(3),
      edge: mean((c) => c.score.edge).toFixed(3),
      fps: m.run ? (frames / secs).toFixed(1) : '',
      ...byKind,
    };
  });
  const cols = ['clips', 'frames', 'width', 'method', 'e_ratio', 'psnr', 'grad', 'edge', 'fps', ...FLICKER_KINDS.map((k) => `e_ratio_${k}`)];
  await writeFileAtomic(resolve(OUT), stringify(rows, { header: true, columns: cols }), { overwrite: true });
  console.table(rows);
  console.log('| method | E ratio | PSNR dB | grad | edge | fps | E A | E B | E C | E D |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.method} | ${r.e_ratio} | ${r.psnr} | ${r.grad} | ${r.edge} | ${r.fps || '-'} | ${FLICKER_KINDS.map((k) => r[`e_ratio_${k}` as keyof typeof r]).join(' | ')} |`);
  console.log(`wrote ${resolve(OUT)}`);
  if (args.compare) {
    // The committed baseline (results/baseline-temporal.csv with `auto`) must reproduce within its bands.
    const path = resolve(baselinePath(args.compare, TEMPORAL_SUITE, process.cwd()));
    const { rows: baseline, suite } = readBaseline(path);
    if (suite !== TEMPORAL_SUITE) throw new Error(`${path} is a ${suite.name} baseline, not a temporal one`);
    const report = compareWithBaseline(baseline, rows, suite);
    console.log(`\nagainst ${path}:\n${formatBaselineReport(report)}`);
    if (!report.checks.length) console.log('nothing compared: run with the baseline\'s --clips, --frames and --width (its clips/frames/width columns)');
    if (report.failures || !report.checks.length) process.exitCode = 3;
  }
}

// ---------------------------------------------------------------- style suite

async function styleSuite(): Promise<void> {
  const OUT = args.out ?? 'results/temporal-style.csv';
  const clipNames = (args.clips === 'vtest,megamind,handheld' ? 'vtest,megamind' : args.clips!).split(',').map((c) => c.trim()).filter(Boolean);
  const genSize = Number(args['gen-size']), threads = Number(args.threads);
  const gen = await createStyleGenerator(args.style!, { size: genSize, threads, provider: 'cpu' });
  console.log(`${gen.describe()}`);
  const rows: Record<string, string | number>[] = [];
  const pooled: Record<string, { eOut: number[]; eRaw: number[]; go: number; gr: number }> = {};
  try {
    for (const clip of clipNames) {
      if (clip !== 'vtest' && clip !== 'megamind') throw new Error(`--suite style runs on the real clips vtest and megamind, not ${clip}`);
      const clean = await loadClip(clip, N, WIDTH);
      const energy = await motionEnergyOfFrames(clean.map(rgbToGray));
      const plan: SegmentPlan = planSegments(clean.length, energy, { count: COUNT, energySource: 'flow-residual' });
      console.log(`${clip}: ${clean.length} frames at ${clean[0].width}x${clean[0].height}; plan ${plan.segments.map((s) => `${s.label} ${s.start}-${s.end - 1}`).join(', ')}`);
      // Each segment through the network on its own, as the pipeline does (overlap frames run in both neighbours).
      const segs: Frame[][] = [];
      const genSeconds: number[] = [];
      for (const s of plan.segments) {
        const t0 = performance.now();
        segs.push(await gen.generate({ segmentIndex: s.index, label: s.label, start: s.start, frames: clean.slice(s.start, s.end), plate: null, reference: clean[0], fps: { num: 10, den: 1 }, workDir: tmpdir() }));
        genSeconds.push((performance.now() - t0) / 1000);
      }
      const { frames: raw } = await blendSegments(segs, plan, { ramp: 'cosine', colorMatch: true });
      // Texture kept: gradient magnitude of the output over the raw output's, on pixels the input's flow says move.
      const truth = await flickerTruth(clean);
      const rawGrads = raw.map(gradientMagnitude);
      const gradSums = (out: Frame[], all = false) => {
        let go = 0, gr = 0;
        for (let t = 1; t < out.length; t++) {
          const g = gradientMagnitude(out[t]), mv = truth.moving[t];
          for (let i = 0; i < mv.length; i++) if (all || mv[i]) { go += g[i]; gr += rawGrads[t][i]; }
        }
        return [go, gr] as const;
      };
      const gradRatio = (out: Frame[], all = false) => {
        const [go, gr] = gradSums(out, all);
        return gr ? go / gr : NaN;
      };
      // Halo check: PSNR of the output's low band (Gaussian sigma 3) against the raw output's, on moving
      // pixels. A warp that drags a walker's previous position along leaves a low-frequency halo that
      // neither E_warp nor the gradient ratio sees.
      const rawLows = await Promise.all(raw.map((fr) => blurRgb(fr.data, fr.width, fr.height, 3)));
      const lowPsnrMoving = async (out: Frame[]) => {
        let se = 0, n = 0;
        for (let t = 1; t < out.length; t++) {
          const a = await blurRgb(out[t].data, out[t].width, out[t].height, 3), b = rawLows[t], mv = truth.moving[t];
          for (let i = 0; i < mv.length; i++) if (mv[i]) for (let c = 0; c < 3; c++) { se += (a[3 * i + c] - b[3 * i + c]) ** 2; n++; }
        }
        return n ? 10 * Math.log10((255 * 255) / (se / n)) : NaN;
      };
      const rawReport = await measureFlickerFrames(raw, clean, { plan, raw, ssim: false });
      const row = async (config: string, r: FlickerReport, out: Frame[], temporalSeconds: number[] | null) => {
        const seams = r.seams?.map((x) => x.score) ?? [];
        const low = await lowPsnrMoving(out);
        const [go, gr] = gradSums(out);
        const p = (pooled[config] ??= { eOut: [], eRaw: [], go: 0, gr: 0 });
        p.eOut.push(r.eWarp.output);
        p.eRaw.push(rawReport.eWarp.output);
        p.go += go;
        p.gr += gr;
        rows.push({
          clip,
          config,
          frames: r.frames,
          e_warp_output: f(r.eWarp.output, 6),
          e_warp_input: f(r.eWarp.input, 6),
          e_warp_ratio: f(r.eWarp.ratio, 3),
          e_warp_vs_raw: f(r.eWarp.output / rawReport.eWarp.output, 3),
          tof: f(r.tOF, 4),
          grad_vs_raw: f(gradRatio(out), 3),
          grad_all_vs_raw: f(gradRatio(out, true), 3),
          low_psnr_moving: f(low, 2),
          psnr_raw: f(r.fidelity.raw?.psnr, 2),
          seam_scores: seams.map((v) => v.toFixed(3)).join(' '),
          seam_max: f(seams.length ? Math.max(...seams) : NaN, 3),
          generate_s_per_segment: genSeconds.map((v) => v.toFixed(1)).join(' '),
          temporal_s_per_segment: temporalSeconds ? temporalSeconds.map((v) => v.toFixed(1)).join(' ') : '',
        });
        console.log(
          `  ${config.padEnd(44)} E_warp ${r.eWarp.output.toExponential(2)} (input ${r.eWarp.input.toExponential(2)}, vs raw ${(r.eWarp.output / rawReport.eWarp.output).toFixed(2)}), tOF ${r.tOF.toFixed(3)}, ` +
            `grad vs raw ${gradRatio(out).toFixed(3)} (all px ${gradRatio(out, true).toFixed(3)}), low-band PSNR moving ${low.toFixed(2)}, seams ${seams.map((v) => v.toFixed(2)).join(' ')}, s/segment generate ${genSeconds.map((v) => v.toFixed(1)).join(' ')}` +
            (temporalSeconds ? ` temporal ${temporalSeconds.map((v) => v.toFixed(1)).join(' ')}` : ''),
        );
      };
      await row('no temporal stage (raw style output, joined)', rawReport, raw, null);
      const variants: { name: string; opts: TemporalOptions }[] = [
        ...FLOW_SCALES.map((flowScale) => ({ name: `temporal separated ${STRENGTH}, flow ${flowScale}`, opts: { strength: STRENGTH, flowScale } })),
        { name: 'temporal separated, TEMPORAL_STYLE_PRESET', opts: TEMPORAL_STYLE_PRESET },
      ];
      for (const { name, opts } of variants) {
        for (const carry of [false, true]) {
          const outSegs: Frame[][] = [];
          const secs: number[] = [];
          for (const [k, s] of plan.segments.entries()) {
            const prev = k > 0 ? plan.segments[k - 1] : undefined;
            // Carry: primed with the previous segment's output at the frame before this segment starts (as the pipeline does).
            const initial = carry && prev ? { guide: clean[s.start - 1], output: outSegs[k - 1][s.start - 1 - prev.start] } : undefined;
            const t0 = performance.now();
            outSegs.push(await applyTemporalConsistency(clean.slice(s.start, s.end), segs[k], { ...opts, initial }));
            secs.push((performance.now() - t0) / 1000);
          }
          const { frames: out } = await blendSegments(outSegs, plan, { ramp: 'cosine', colorMatch: true });
          await row(`${name}, ${carry ? 'carry' : 'reset'}`, await measureFlickerFrames(out, clean, { plan, raw, ssim: false }), out, secs);
        }
      }
    }
  } finally {
    await gen.close();
  }
  // Pooled over the clips: E_warp output / raw as the mean of the clips' ratios, grad as one ratio of the summed gradients.
  console.log('pooled over clips: mean of E_warp vs raw | grad vs raw (moving px, summed)');
  for (const [config, p] of Object.entries(pooled)) {
    const e = p.eOut.reduce((s, v, i) => s + v / p.eRaw[i], 0) / p.eOut.length;
    console.log(`  ${config.padEnd(52)} ${e.toFixed(3)} | ${(p.go / p.gr).toFixed(3)}`);
    rows.push({ clip: 'pooled', config, e_warp_vs_raw: f(e, 3), grad_vs_raw: f(p.go / p.gr, 3) });
  }
  const cols = ['clip', 'config', 'frames', 'e_warp_output', 'e_warp_input', 'e_warp_ratio', 'e_warp_vs_raw', 'tof', 'grad_vs_raw', 'grad_all_vs_raw', 'low_psnr_moving', 'psnr_raw', 'seam_scores', 'seam_max', 'generate_s_per_segment', 'temporal_s_per_segment'];
  await writeFileAtomic(resolve(OUT), stringify(rows, { header: true, columns: cols }), { overwrite: true });
  console.log(`wrote ${resolve(OUT)}`);
}

// ---------------------------------------------------------------- drift suite

/** Per-frame per-channel mean of (out - clean) over all pixels. */
function channelBias(out: Frame, clean: Frame): [number, number, number] {
  const s = [0, 0, 0];
  for (let i = 0; i < out.data.length; i += 3) for (let c = 0; c < 3; c++) s[c] += out.data[i + c] - clean.data[i + c];
  const n = out.data.length / 3;
  return [s[0] / n, s[1] / n, s[2] / n];
}

async function driftSuite(): Promise<void> {
  const OUT = args.out ?? 'results/temporal-drift.csv';
  const n = Number(args.frames ?? 100);
  const clean = await loadClip('vtest', n, WIDTH);
  const truth = await flickerTruth(clean);
  console.log(`vtest: ${clean.length} frames at ${clean[0].width}x${clean[0].height}`);
  const configs: { name: string; opts: TemporalOptions | null }[] = [
    { name: 'no processing', opts: null },
    { name: "'separated' (default: colorStrength 0.9, an average of ~10 frames along the flow)", opts: {} },
    { name: "'separated', colorStrength 1 (pinned to the first frame's colour)", opts: { colorStrength: 1 } },
    { name: "'separated', colorMemory 30", opts: { colorMemory: 30 } },
    { name: "'separated', colorMemory 60", opts: { colorMemory: 60 } },
  ];
  const rows: Record<string, string>[] = [];
  for (const kind of ['A', 'D'] as FlickerKind[]) {
    const gen = await perturbClip(clean, kind, 2000 + kind.charCodeAt(0));
    for (const c of configs) {
      const out = c.opts ? await applyTemporalConsistency(clean, gen, c.opts) : gen;
      const bias = out.map((o, t) => channelBias(o, clean[t]));
      const rms = (bs: [number, number, number][]) => Math.sqrt(bs.reduce((s, b) => s + (b[0] ** 2 + b[1] ** 2 + b[2] ** 2) / 3, 0) / bs.length);
      const luma = bias.map((b) => Math.abs(0.299 * b[0] + 0.587 * b[1] + 0.114 * b[2]));
      const score = await scoreFlicker(truth, out);
      const row = {
        kind,
        config: c.name,
        rms_bias: rms(bias).toFixed(2),
        rms_bias_last_quarter: rms(bias.slice(Math.floor((3 * bias.length) / 4))).toFixed(2),
        max_luma_bias: Math.max(...luma).toFixed(2),
        e_ratio: score.eRatio.toFixed(2),
        psnr: score.psnr.toFixed(2),
      };
      rows.push(row);
      console.log(`${kind} ${c.name.padEnd(80)} RMS bias ${row.rms_bias} (last quarter ${row.rms_bias_last_quarter}), max |luma bias| ${row.max_luma_bias}, E ${row.e_ratio}, PSNR ${row.psnr}`);
    }
  }
  const cols = ['kind', 'config', 'rms_bias', 'rms_bias_last_quarter', 'max_luma_bias', 'e_ratio', 'psnr'];
  await writeFileAtomic(resolve(OUT), stringify(rows, { header: true, columns: cols }), { overwrite: true });
  console.log('| kind | config | RMS colour bias | last quarter | max luma bias | E ratio | PSNR dB |\n|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
  console.log(`wrote ${resolve(OUT)}`);
}

// ---------------------------------------------------------------- style suite

async function styleMethodsSuite(): Promise<void> {
  const n = Number(args.frames ?? 20);
  const clean = await loadClip('vtest', n, WIDTH);
  const truth = await flickerTruth(clean);
  const gen = await createGenerator(`style:${args.style}`, { style: { scope: 'frame' } });
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-style-'));
  let styled: Frame[];
  const t0 = performance.now();
  try {
    styled = await gen.generate({ segmentIndex: 0, label: 'seg-0', frames: clean, plate: null, reference: clean[0], fps: { num: 10, den: 1 }, workDir: dir });
  } finally {
    await gen.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${gen.describe()}: ${n} frames at ${clean[0].width}x${clean[0].height} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const rows: Record<string, string>[] = [];
  for (const m of METHODS.filter((x) => !x.name.includes('flow 1x') && !x.name.includes('0.25x'))) {
    const t1 = performance.now();
    const out = m.run ? await m.run(clean, styled) : styled;
    const secs = (performance.now() - t1) / 1000;
    const score = await scoreFlicker(truth, out);
    // Frames 1..: the recursive methods pass frame 0 through unchanged (an infinite PSNR).
    const p = out.slice(1).reduce((a, f, t) => a + psnr(f, styled[t + 1]), 0) / (out.length - 1);
    rows.push({ method: m.name, e_ratio: score.eRatio.toFixed(2), psnr_vs_generated: m.run ? p.toFixed(2) : '-', fps: m.run ? (out.length / secs).toFixed(1) : '-' });
  }
  console.log(`| method | E ratio (vs input) | PSNR vs style output dB (frames 1..) | fps |\n|---|---|---|---|`);
  for (const r of rows) console.log(`| ${r.method} | ${r.e_ratio} | ${r.psnr_vs_generated} | ${r.fps} |`);
}

// ---------------------------------------------------------------- speed suite

async function speedSuite(): Promise<void> {
  const n = Number(args['speed-frames']);
  const path = cacheDir('datasets', 'vtest.avi');
  await fetchDatasets({ ids: ['vtest'] }).catch(() => undefined);
  const big = await decode(path, n, 640, 480);
  const gen = await perturbClip(big, 'D', 5);
  const configs: { name: string; opts: TemporalOptions }[] = [
    { name: "'blend' 0.6", opts: { method: 'blend' } },
    { name: "'separated' (default)", opts: {} },
    { name: "'separated', occlusion 'forward-backward'", opts: { occlusion: 'forward-backward' } },
    { name: "'separated', detailGrid 'full' (the earlier full-size detail pass)", opts: { detailGrid: 'full', occlusion: 'forward-backward' } },
  ];
  const ms = new Map<string, number>(), cpu = new Map<string, number>();
  // Rounds interleaved so that a change of load on the shared machine hits every configuration
  // alike; the first round warms the JIT and is not counted. Besides wall time, the process's
  // CPU time (user + system): the stage is single-threaded, so frames per CPU second is what an
  // idle core would give, and it does not depend on how many other processes share the cores.
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    for (const c of configs) {
      const tc = new TemporalConsistency(c.opts);
      await tc.push(big[0], gen[0]);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let t = 1; t < n; t++) await tc.push(big[t], gen[t]);
      const dt = performance.now() - t0, dc = process.cpuUsage(c0);
      if (round === 0) continue;
      ms.set(c.name, (ms.get(c.name) ?? 0) + dt);
      cpu.set(c.name, (cpu.get(c.name) ?? 0) + (dc.user + dc.system) / 1000);
    }
  }
  const frames = (rounds - 1) * (n - 1);
  console.log('| configuration | frames/s (wall) | frames/s per CPU second |\n|---|---|---|');
  for (const c of configs) console.log(`| ${c.name} | ${(frames / (ms.get(c.name)! / 1000)).toFixed(1)} | ${(frames / (cpu.get(c.name)! / 1000)).toFixed(1)} |`);
}

await (args.suite === 'seams' ? seamsSuite() : args.suite === 'drift' ? driftSuite() : args.suite === 'speed' ? speedSuite() : args.suite === 'style' ? styleSuite() : args.suite === 'style-methods' ? styleMethodsSuite() : flickerSuite());
