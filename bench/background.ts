/**
 * Background plate benchmark: a synthetic opaque person (a walking silhouette
 * textured with basketball1.png) over real photos (building.jpg), so the true
 * background of every frame is known. Measures PSNR / SSIM of the plate against
 * the true background (whole frame, where the person walked, where it had to
 * be inpainted), the share of the frame that needed inpainting, and time.
 *
 *   node --import tsx bench/background.ts [--out results/background.csv] [--width 640 --height 360] [--frames 60] [--cases a,b] [--speed]
 *
 * Cases:
 *   cross     static camera, person walks across (every pixel is seen clean at some time); frames go through H.264 (crf 18)
 *   sway      static camera, person sways in place (its core is never seen: inpainting); H.264
 *   lighting  light ramps up 30% over the clip: static plate vs sliding windows of 10 and 20 frames (3-frame smoothing)
 *   handheld  shaky camera over the photo (makeShakyClip, 6 px / 0.6 deg), stabilized with src/stabilize (l1, zoom)
 *             using the person masks; plate on the stabilized frames vs the stabilized true background
 * --speed adds time per static plate and per sliding-window frame (window 30; step/stride 1/1, 5/1, 5/5) at 1280x720, 60 frames.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { stringify } from 'csv-stringify/sync';
import {
  computePlate, slidingPlates, sourceFromArrays, makePlateScene, psnr, ssim, type FramePlate, type Plate, type PlateOptions, type PlateScene,
} from '../src/background/index.js';
import { datasetsCacheDir, fetchDatasets } from '../src/datasets/index.js';
import { analyzeMotion, buildTransforms, makeShakyClip, planStabilization, stabilizeFrame, toGray } from '../src/stabilize/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { decodeAll, encodeFrames, type Frame, type GrayFrame } from '../src/video/index.js';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'results/background.csv' },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '360' },
    frames: { type: 'string', default: '60' },
    cases: { type: 'string', default: 'cross,sway,lighting,handheld' },
    speed: { type: 'boolean', default: false },
  },
});
const W = Number(args.width), H = Number(args.height), N = Number(args.frames);
const cases = new Set(args.cases!.split(','));

async function load(file: string, w: number, h: number): Promise<Frame> {
  const { data, info } = await sharp(file).removeAlpha().resize(w, h, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** Frames through H.264 (crf 18) and back, as real footage would be. */
async function h264(frames: Frame[]): Promise<Frame[]> {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-bench-bg-'));
  try {
    const path = join(dir, 'clip.mp4');
    await encodeFrames(frames, path, { fps: { num: 30, den: 1 }, crf: 18 });
    return await decodeAll(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Row {
  case: string;
  method: string;
  width: number;
  height: number;
  frames: number;
  psnr: number;
  ssim: number;
  psnrWalked: number;
  psnrInpainted: number;
  inpaintedPct: number;
  neverSeenPct: number;
  seconds: number;
}
const rows: Row[] = [];
const pct = (g: GrayFrame) => (100 * g.data.reduce((a, v) => a + (v ? 1 : 0), 0)) / g.data.length;

async function measureStatic(name: string, method: string, scene: PlateScene, frames: Frame[], masks: GrayFrame[] | undefined, opts: PlateOptions): Promise<Plate> {
  const t0 = performance.now();
  const p = await computePlate(sourceFromArrays(frames, masks), opts);
  const seconds = (performance.now() - t0) / 1000;
  rows.push({
    case: name, method, width: W, height: H, frames: frames.length,
    psnr: psnr(p.plate, scene.truth[0]),
    ssim: await ssim(p.plate, scene.truth[0]),
    psnrWalked: psnr(p.plate, scene.truth[0], scene.everCovered),
    psnrInpainted: psnr(p.plate, scene.truth[0], p.holes),
    inpaintedPct: 100 * p.inpaintedFraction,
    neverSeenPct: pct(scene.alwaysCovered),
    seconds,
  });
  return p;
}

async function main(): Promise<void> {
  await fetchDatasets({ ids: ['building', 'basketball1'] });
  const cache = datasetsCacheDir();
  const bgFile = join(cache, 'building.jpg');
  const texFile = join(cache, 'basketball1.png');
  const bg = await load(bgFile, W, H);
  const tex = await load(texFile, Math.round(H * 0.35), Math.round(H * 0.7));

  for (const path of ['cross', 'sway'] as const) {
    if (!cases.has(path)) continue;
    const scene = makePlateScene({ background: bg, texture: tex, frames: N, path, noise: 2, seed: 11 });
    const frames = await h264(scene.frames);
    await measureStatic(path, 'median, no masks', scene, frames, undefined, {});
    await measureStatic(path, 'masked median + telea', scene, frames, scene.masks, { inpaint: 'telea' });
    if (path === 'sway') await measureStatic(path, 'masked median + ns', scene, frames, scene.masks, { inpaint: 'ns' });
  }

  if (cases.has('lighting')) {
    const scene = makePlateScene({ background: bg, texture: tex, frames: N, path: 'cross', lighting: 0.3, noise: 2, seed: 12 });
    const src = sourceFromArrays(scene.frames, scene.masks);
    let t0 = performance.now();
    const p = await computePlate(src);
    const tStatic = (performance.now() - t0) / 1000;
    const mean = { psnr: 0, ssim: 0, walked: 0 };
    for (let t = 0; t < N; t++) {
      mean.psnr += psnr(p.plate, scene.truth[t]) / N;
      mean.ssim += (await ssim(p.plate, scene.truth[t])) / N;
      mean.walked += psnr(p.plate, scene.truth[t], scene.everCovered) / N;
    }
    rows.push({ case: 'lighting', method: 'static masked median', width: W, height: H, frames: N, psnr: mean.psnr, ssim: mean.ssim, psnrWalked: mean.walked, psnrInpainted: NaN, inpaintedPct: 100 * p.inpaintedFraction, neverSeenPct: 0, seconds: tStatic });
    for (const [window, step, stride] of [[10, 1, 1], [20, 1, 1], [20, 5, 1], [20, 4, 2]]) {
      const m = { psnr: 0, ssim: 0, walked: 0, inp: 0 };
      // Time the plates only, not the metrics below.
      const got: FramePlate[] = [];
      t0 = performance.now();
      for await (const fp of slidingPlates(src, { window, step, stride })) got.push(fp);
      const seconds = (performance.now() - t0) / 1000;
      for (const fp of got) {
        const t = fp.index;
        m.psnr += psnr(fp.plate, scene.truth[t]) / N;
        m.ssim += (await ssim(fp.plate, scene.truth[t])) / N;
        m.walked += psnr(fp.plate, scene.truth[t], scene.everCovered) / N;
        m.inp += (100 * fp.inpaintedFraction) / N;
      }
      rows.push({ case: 'lighting', method: `sliding window ${window} step ${step} stride ${stride}`, width: W, height: H, frames: N, psnr: m.psnr, ssim: m.ssim, psnrWalked: m.walked, psnrInpainted: NaN, inpaintedPct: m.inp, neverSeenPct: 0, seconds });
    }
  }

  if (cases.has('handheld')) {
    const big = await load(bgFile, Math.round(W * 1.3), Math.round(H * 1.3));
    const clip = await makeShakyClip(big, { frames: N, width: W, height: H, amplitude: 6, amplitudeDeg: 0.6, seed: 5 });
    const scene = makePlateScene({ background: clip.frames, texture: tex, frames: N, path: 'cross', noise: 2, seed: 13 });
    const frames = await h264(scene.frames);
    const t0 = performance.now();
    const motions = await analyzeMotion(await Promise.all(frames.map(toGray)), { maskFor: (i) => scene.masks[i] });
    const { plan, trajectory, smoothed } = planStabilization(motions.map((m) => m.matrix), { width: W, height: H, smoother: 'l1', border: 'zoom' });
    const zoom = plan.zoom as number;
    const transforms = buildTransforms({
      source: { path: 'handheld', width: W, height: H, fps: { num: 30, den: 1 }, frameCount: N },
      params: { smoother: 'l1', border: 'zoom' }, createdBy: 'bench/background.ts', motions, trajectory, smoothed, plan,
    });
    const warp = <F extends Frame | GrayFrame>(f: F, t: number) => stabilizeFrame(f, transforms, t);
    const sFrames: Frame[] = [], sMasks: GrayFrame[] = [], sTruth: Frame[] = [];
    for (let t = 0; t < N; t++) {
      sFrames.push(await warp(frames[t], t));
      sMasks.push(await warp(scene.masks[t], t));
      sTruth.push(await warp(scene.truth[t], t));
    }
    const tStab = (performance.now() - t0) / 1000;
    for (const [method, fr, ms, tr] of [
      ['shaky frames (no stabilization), masked median', frames, scene.masks, scene.truth],
      ['stabilized (l1, zoom), masked median', sFrames, sMasks, sTruth],
    ] as const) {
      const t1 = performance.now();
      const p = await computePlate(sourceFromArrays([...fr], [...ms]));
      const seconds = (performance.now() - t1) / 1000;
      const m = { psnr: 0, ssim: 0 };
      for (let t = 0; t < N; t++) {
        m.psnr += psnr(p.plate, tr[t]) / N;
        m.ssim += (await ssim(p.plate, tr[t])) / N;
      }
      rows.push({ case: 'handheld', method, width: W, height: H, frames: N, psnr: m.psnr, ssim: m.ssim, psnrWalked: NaN, psnrInpainted: NaN, inpaintedPct: 100 * p.inpaintedFraction, neverSeenPct: 0, seconds });
    }
    console.log(`handheld: stabilization (analysis + warps of frames, masks, truth) took ${tStab.toFixed(1)} s, zoom ${zoom.toFixed(3)}`);
  }

  if (args.speed) {
    const w = 1280, h = 720, n = 60;
    const bg720 = await load(bgFile, w, h);
    const tex720 = await load(texFile, 252, 504);
    const scene = makePlateScene({ background: bg720, texture: tex720, frames: n, path: 'cross', noise: 2, seed: 14 });
    const src = sourceFromArrays(scene.frames, scene.masks);
    let t0 = performance.now();
    const p = await computePlate(src, { maxSamples: 25 });
    const tStatic = (performance.now() - t0) / 1000;
    rows.push({ case: 'speed-720p', method: 'static plate, 25 samples', width: w, height: h, frames: n, psnr: psnr(p.plate, scene.truth[0]), ssim: await ssim(p.plate, scene.truth[0]), psnrWalked: NaN, psnrInpainted: NaN, inpaintedPct: 100 * p.inpaintedFraction, neverSeenPct: 0, seconds: tStatic });
    for (const [step, stride] of [[1, 1], [5, 1], [5, 5]]) {
      t0 = performance.now();
      let k = 0;
      for await (const fp of slidingPlates(src, { window: 30, step, stride })) k += fp.index >= 0 ? 1 : 0;
      const tSlide = (performance.now() - t0) / 1000;
      rows.push({ case: 'speed-720p', method: `window 30 step ${step} stride ${stride}: ${(tSlide / k).toFixed(3)} s/frame`, width: w, height: h, frames: k, psnr: NaN, ssim: NaN, psnrWalked: NaN, psnrInpainted: NaN, inpaintedPct: NaN, neverSeenPct: 0, seconds: tSlide });
    }
  }

  const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  console.log(`case      | method                                          | PSNR dB | SSIM   | PSNR walked | PSNR inpainted | inpainted % | never seen % | s`);
  for (const r of rows) {
    console.log(`${r.case.padEnd(9)} | ${r.method.padEnd(47)} | ${f(r.psnr).padStart(7)} | ${f(r.ssim, 4)} | ${f(r.psnrWalked).padStart(11)} | ${f(r.psnrInpainted).padStart(14)} | ${f(r.inpaintedPct).padStart(11)} | ${f(r.neverSeenPct).padStart(12)} | ${f(r.seconds)}`);
  }
  const out = resolve(args.out!);
  await writeFileAtomic(out, stringify(rows.map((r) => ({ ...r })), { header: true }), { overwrite: true });
  console.log(`wrote ${out}`);
}

await main();
