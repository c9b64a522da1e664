/**
 * Issue 13: the temporal stage on real style flicker, one option set per entry. 20 vtest frames at
 * 384x288 through style:matta (frame scope; cached in /tmp/styled-matta-20.bin after the first run),
 * then applyTemporalConsistency with each option set: E_warp(output) / E_warp(raw style output), flow
 * and occlusion from the input, and the gradient-magnitude ratio output / raw on moving pixels.
 *
 *   node --import tsx bench/temporal-style-sweep.ts '[["default",{}],["flow 1",{"flowScale":1}]]'
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrames, type Frame } from '../src/video/index.js';
import { applyTemporalConsistency, type TemporalOptions } from '../src/temporal/index.js';
import { flickerTruth, gradientMagnitude } from '../src/temporal/flicker-set.js';
import { measureFlickerFrames } from '../src/metrics/index.js';
import { createGenerator } from '../src/generate/index.js';
import { cacheDir } from '../src/util/paths.js';
const N = 20, W = 384, H = 288;
const clean: Frame[] = [];
for await (const f of decodeFrames(cacheDir('datasets', 'vtest.avi'), { count: N, scale: { width: W, height: H } })) clean.push(f);
const cache = '/tmp/styled-matta-20.bin';
let styled: Frame[];
if (existsSync(cache)) {
  const b = readFileSync(cache); styled = clean.map((_, t) => ({ width: W, height: H, data: new Uint8Array(b.subarray(t * W * H * 3, (t + 1) * W * H * 3)) }));
} else {
  const gen = await createGenerator('style:matta', { style: { scope: 'frame' } });
  try { styled = await gen.generate({ segmentIndex: 0, label: 'seg-0', frames: clean, plate: null, reference: clean[0], fps: { num: 10, den: 1 }, workDir: mkdtempSync(join(tmpdir(), 'st-')) }); } finally { await gen.close(); }
  writeFileSync(cache, Buffer.concat(styled.map((f) => Buffer.from(f.data))));
}
const truth = await flickerTruth(clean);
const rawG = styled.map(gradientMagnitude);
const grad = (out: Frame[]) => { let a = 0, b = 0; for (let t = 1; t < out.length; t++) { const g = gradientMagnitude(out[t]), mv = truth.moving[t]; for (let i = 0; i < mv.length; i++) if (mv[i]) { a += g[i]; b += rawG[t][i]; } } return a / b; };
const rawR = await measureFlickerFrames(styled, clean, { ssim: false });
const configs: Array<[string, TemporalOptions]> = JSON.parse(process.argv[2] ?? '[["default",{}]]');
for (const [name, o] of configs) {
  const out = await applyTemporalConsistency(clean, styled, o);
  const r = await measureFlickerFrames(out, clean, { ssim: false });
  console.log(`${name.padEnd(40)} vs raw ${(r.eWarp.output / rawR.eWarp.output).toFixed(3)} grad ${grad(out).toFixed(3)}`);
}
