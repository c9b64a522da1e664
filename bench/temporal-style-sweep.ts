/**
 * Issue 13: the temporal stage on real style flicker, one option set per entry. --frames frames of each
 * --clips clip (vtest from frame 0, Megamind from frame 100, between its cuts) at 384 px wide through
 * style:--style (default matta; frame scope, one segment, --gen-size short side or the generator's default; cached in
 * the temp folder after the first run), then applyTemporalConsistency with each option set:
 * E_warp(output) / E_warp(raw style output) (flow and occlusion from the input), the gradient-magnitude
 * ratio output / raw on moving pixels and on all pixels, the low band's PSNR against the raw output on
 * moving pixels (Gaussian sigma 3: a halo dragged along by a wrong warp shows there, not in E_warp or
 * the gradient ratio), PSNR against the raw output, and the filter's CPU seconds.
 *
 *   node --import tsx bench/temporal-style-sweep.ts '[["default",{}],["flow 1",{"flowScale":1}]]' [--clips vtest,megamind] [--frames 20] [--gen-size 288] [--style matta]
 */
import { parseArgs } from 'node:util';
import type { Frame } from '../src/video/index.js';
import { applyTemporalConsistency, type TemporalOptions } from '../src/temporal/index.js';
import { flickerTruth, gradientMagnitude } from '../src/temporal/flicker-set.js';
import { blurRgb } from '../src/temporal/separated.js';
import { InputFlowCache, measureFlickerFrames, psnr } from '../src/metrics/index.js';
import { styledClip } from './style-clips.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { clips: { type: 'string', default: 'vtest' }, frames: { type: 'string', default: '20' }, 'gen-size': { type: 'string' }, style: { type: 'string', default: 'matta' } },
});
const N = Number(args.frames), W = 384;
const genSize = args['gen-size'] ? Number(args['gen-size']) : undefined;
const configs: Array<[string, TemporalOptions]> = JSON.parse(positionals[0] ?? '[["default",{}]]');

for (const clip of args.clips!.split(',').map((c) => c.trim())) {
  const { clean, styled, height: H } = await styledClip(clip, { style: args.style!, frames: N, width: W, genSize });
  const truth = await flickerTruth(clean);
  const rawG = styled.map(gradientMagnitude);
  const rawLow = await Promise.all(styled.map((f) => blurRgb(f.data, W, H, 3)));
  const grad = (out: Frame[], all = false) => {
    let a = 0, b = 0;
    for (let t = 1; t < out.length; t++) {
      const g = gradientMagnitude(out[t]), mv = truth.moving[t];
      for (let i = 0; i < mv.length; i++) if (all || mv[i]) { a += g[i]; b += rawG[t][i]; }
    }
    return a / b;
  };
  const lowPsnrMoving = async (out: Frame[]) => {
    let se = 0, n = 0;
    for (let t = 1; t < out.length; t++) {
      const a = await blurRgb(out[t].data, W, H, 3), b = rawLow[t], mv = truth.moving[t];
      for (let i = 0; i < mv.length; i++) if (mv[i]) for (let c = 0; c < 3; c++) { se += (a[3 * i + c] - b[3 * i + c]) ** 2; n++; }
    }
    return 10 * Math.log10((255 * 255) / (se / n));
  };
  const flows = new InputFlowCache();
  const rawR = await measureFlickerFrames(styled, clean, { ssim: false, tof: false, inputFlows: flows });
  for (const [name, o] of configs) {
    const c0 = process.cpuUsage();
    const out = await applyTemporalConsistency(clean, styled, o);
    const c = process.cpuUsage(c0);
    const r = await measureFlickerFrames(out, clean, { ssim: false, tof: false, inputFlows: flows });
    const p = out.slice(1).reduce((s, f, t) => s + psnr(f, styled[t + 1]), 0) / (out.length - 1);
    console.log(
      `${clip.padEnd(8)} ${name.padEnd(40)} vs raw ${(r.eWarp.output / rawR.eWarp.output).toFixed(3)} grad ${grad(out).toFixed(3)} (all px ${grad(out, true).toFixed(3)}) ` +
        `low-band PSNR moving ${(await lowPsnrMoving(out)).toFixed(2)} PSNR raw ${p.toFixed(2)} CPU ${((c.user + c.system) / 1e6).toFixed(1)} s`,
    );
  }
}
