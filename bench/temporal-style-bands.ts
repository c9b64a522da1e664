/**
 * Issue 13: where the style generator's flicker lives. --frames frames of vtest (from 0) and Megamind
 * (from 100) at 384 px wide through style:matta (frame scope, --gen-size; the same temp-folder cache as
 * bench/temporal-style-sweep.ts), split per frame into a low band (Gaussian blur, sigma 1, 2, 4, 8 px)
 * and a high band (frame - low, stored +128). E_warp's squared error of each band over the same
 * non-occluded pixels (input flow t -> t+1, Farneback defaults, full size), as a share of the full
 * frame's (the rest is the cross term), and the shares of moving pixels (input flow >= 1 px): in pixels
 * and in E_warp.
 *
 *   node --import tsx bench/temporal-style-bands.ts [--clips vtest,megamind] [--frames 30] [--gen-size 288]
 */
import { parseArgs } from 'node:util';
import type { Frame } from '../src/video/index.js';
import { flickerTruth } from '../src/temporal/flicker-set.js';
import { blurRgb } from '../src/temporal/separated.js';
import { warpByFlow } from '../src/flow/index.js';
import { styledClip } from './style-clips.js';

const { values: args } = parseArgs({ options: { clips: { type: 'string', default: 'vtest,megamind' }, frames: { type: 'string', default: '30' }, 'gen-size': { type: 'string', default: '288' } } });
const N = Number(args.frames), W = 384, genSize = Number(args['gen-size']);
const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

for (const clip of args.clips!.split(',').map((c) => c.trim())) {
  const { clean, styled: raw, height: H } = await styledClip(clip, { style: 'matta', frames: N, width: W, genSize });
  const truth = await flickerTruth(clean);
  for (const sigma of [1, 2, 4, 8]) {
    const lows = await Promise.all(raw.map((f) => blurRgb(f.data, W, H, sigma)));
    const bands: Record<'full' | 'low' | 'high', Frame[]> = {
      full: raw,
      low: raw.map((f, t) => ({ width: W, height: H, data: Uint8Array.from(lows[t], clamp) })),
      high: raw.map((f, t) => ({ width: W, height: H, data: Uint8Array.from(f.data, (v, i) => clamp(v - lows[t][i] + 128)) })),
    };
    // Squared error sums [moving, static] per band, and pixel counts.
    const sums = { full: [0, 0], low: [0, 0], high: [0, 0] };
    const count = [0, 0];
    for (let t = 0; t + 1 < raw.length; t++) {
      const mask = truth.masks[t], moving = truth.moving[t + 1];
      for (const band of ['full', 'low', 'high'] as const) {
        const a = bands[band][t].data, b = (await warpByFlow(bands[band][t + 1], truth.flows[t])).data;
        for (let i = 0, j = 0; i < mask.length; i++, j += 3) {
          if (!mask[i]) continue;
          const k = moving[i] ? 0 : 1;
          sums[band][k] += (a[j] - b[j]) ** 2 + (a[j + 1] - b[j + 1]) ** 2 + (a[j + 2] - b[j + 2]) ** 2;
          if (band === 'full') count[k]++;
        }
      }
    }
    const total = sums.full[0] + sums.full[1];
    const share = (band: 'low' | 'high', k?: number) => ((k === undefined ? sums[band][0] + sums[band][1] : sums[band][k]) / total).toFixed(3);
    console.log(
      `${clip.padEnd(8)} sigma ${sigma}: share of E_warp in the low band ${share('low')}, high band ${share('high')}; moving pixels ${(count[0] / (count[0] + count[1])).toFixed(3)} of the pixels, ` +
        `${(sums.full[0] / total).toFixed(3)} of E_warp (low band ${share('low', 0)}, high band ${share('high', 0)})`,
    );
  }
}
