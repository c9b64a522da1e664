/**
 * Temporal consistency and seam benchmark on real footage through the
 * synthetic generator (a stand-in, not a model):
 *
 *   node --import tsx bench/temporal.ts [--frames 60] [--width 384] [--count 3] [--strength 0.6] [--speed-frames 20] [--out results/temporal.csv]
 *
 * 1. Decode the first --frames of vtest.avi (10 fps), downscaled to --width
 *    (default 384x288, half size, for speed on 2 cores).
 * 2. Plan --count segments from the clip's residual-flow motion energy.
 * 3. Generate every segment with the synthetic generator (its own random
 *    state and colour cast per segment), so both flicker and seams exist.
 * 4. Join the segments: hard cut (no blend, no colour match), linear,
 *    cosine, triangular, each with and without colour matching. Seam scores.
 * 5. Run the temporal stage on the cosine + colour-matched join (reset at
 *    segment starts, and with --carry). E_warp ratio, tOF, PSNR/SSIM vs clean
 *    and vs the raw join.
 * 6. Speed: dense flow + warp + blend (TemporalConsistency.push) at 640x480.
 *
 * Writes one CSV row per configuration and prints a table. Numbers on a shared
 * 2-core machine are noisy: rerun on a quiet one.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { fetchDatasets } from '../src/datasets/index.js';
import { decodeFrames, type Frame } from '../src/video/index.js';
import { blendSegments, motionEnergyOfFrames, planSegments, type RampKind, type SegmentPlan } from '../src/segment/index.js';
import { syntheticGenerateSegment } from '../src/generate/synthetic.js';
import { applyTemporalConsistency, TemporalConsistency } from '../src/temporal/index.js';
import { rgbToGray, resizeGray } from '../src/flow/index.js';
import { measureFlickerFrames, type FlickerReport } from '../src/metrics/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { cacheDir } from '../src/util/paths.js';

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '60' },
    width: { type: 'string', default: '384' },
    count: { type: 'string', default: '3' },
    strength: { type: 'string', default: '0.6' },
    'speed-frames': { type: 'string', default: '20' },
    out: { type: 'string', default: 'results/temporal.csv' },
  },
});
const FLOW_SCALES = [0.5, 0.25];
const N = Number(args.frames), WIDTH = Number(args.width), COUNT = Number(args.count), STRENGTH = Number(args.strength);

async function decode(path: string, count: number, width: number, height: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of decodeFrames(path, { count, scale: { width, height } })) frames.push(f);
  return frames;
}

function f(v: number | null | undefined, d = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '' : v.toFixed(d);
}

async function main(): Promise<void> {
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
        outSegs.push(await applyTemporalConsistency(clean.slice(s.start, s.end), segs[k], { strength: STRENGTH, flowScale, initial }));
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
    const tc = new TemporalConsistency({ strength: STRENGTH, flowScale });
    const guides = await Promise.all(big.map((fr) => resizeGray(rgbToGray(fr), Math.round(640 * flowScale), Math.round(480 * flowScale))));
    await tc.push(guides[0], bigGen[0]);
    const t0 = performance.now();
    for (let i = 1; i < big.length; i++) await tc.push(guides[i], bigGen[i]);
    const fps = (big.length - 1) / ((performance.now() - t0) / 1000);
    console.log(`speed 640x480, flow scale ${flowScale} (Farneback 0.5,3,15,3,5,1.2 both ways): ${fps.toFixed(1)} frames/s`);
    rows.push({ config: `speed 640x480 flow scale ${flowScale}`, frames: big.length - 1, stage_fps: fps.toFixed(1) });
  }

  const cols = ['config', 'frames', 'e_warp_output', 'e_warp_input', 'e_warp_ratio', 'tof', 'psnr_clean', 'ssim_clean', 'psnr_raw', 'ssim_raw', 'seam_scores', 'seam_max', 'color_jump_max', 'stage_fps'];
  await writeFileAtomic(resolve(args.out!), stringify(rows, { header: true, columns: cols }), { overwrite: true });
  console.table(rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? '']))));
  console.log(`wrote ${resolve(args.out!)}`);
}

await main();
