/**
 * measureShared (src/notebook/flicker.ts) reuses the input's flows across outputs; its numbers must be
 * those of the metric's own implementation, measureFlickerFrames (src/metrics/flicker.ts), on real frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrames, type Frame } from '../src/video/index.js';
import { InputFlowCache, measureFlickerFrames } from '../src/metrics/index.js';
import { planSegments } from '../src/segment/index.js';
import { inputFlows, measureShared } from '../src/notebook/index.js';
import { ReshootError } from '../src/util/errors.js';
import { cacheDir } from '../src/util/paths.js';

const N = 10;

async function clip(): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of decodeFrames(cacheDir('datasets', 'vtest.avi'), { start: 40, count: N, scale: { width: 160, height: 120 } })) frames.push(f);
  return frames;
}

// A flickering "output": every frame brightened by its own offset, plus a 1 px shift on odd frames.
function flicker(frames: Frame[]): Frame[] {
  return frames.map((f, t) => {
    const d = new Uint8Array(f.data.length);
    const off = [0, 9, -7, 14, 3, -12, 6, 0, 11, -5][t % 10];
    for (let y = 0; y < f.height; y++) {
      for (let x = 0; x < f.width; x++) {
        const sx = t % 2 ? Math.min(f.width - 1, x + 1) : x;
        for (let c = 0; c < 3; c++) d[(y * f.width + x) * 3 + c] = Math.max(0, Math.min(255, f.data[(y * f.width + sx) * 3 + c] + off));
      }
    }
    return { width: f.width, height: f.height, data: d };
  });
}

test('measureShared gives the numbers of measureFlickerFrames for several outputs of one input', async () => {
  const input = await clip();
  assert.equal(input.length, N);
  const out = flicker(input);
  const plan = planSegments(N, new Array(N).fill(1), { count: 2, overlap: 2, minLength: 3 });
  const flows = await inputFlows(input);
  for (const [output, refs] of [[out, { raw: input, clean: input }], [input, {}]] as [Frame[], { raw?: Frame[]; clean?: Frame[] }][]) {
    const ref = await measureFlickerFrames(output, input, { plan, ...refs });
    const got = await measureShared(flows, output, { plan, ...refs });
    assert.deepEqual(got, ref);
  }
  // A window at the start: as measuring the first frames of both clips.
  const ref = await measureFlickerFrames(out.slice(0, 6), input.slice(0, 6), { clean: input.slice(0, 6), ssim: false });
  const got = await measureShared(flows, out.slice(0, 6), { clean: input, ssim: false });
  assert.deepEqual(got, ref);
  assert.ok(got.eWarp.ratio > 1.5, `the flickering output is less steady than its input (ratio ${got.eWarp.ratio})`);
});

test('measureShared refuses outputs that do not fit the input, in one line', async () => {
  const input = (await clip()).slice(0, 3);
  const flows = await inputFlows(input);
  const small: Frame = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) };
  await assert.rejects(measureShared(flows, [small, small]), (e: unknown) => e instanceof ReshootError && /8x8 but the input is 160x120/.test(e.message));
  await assert.rejects(measureShared(flows, input.concat(input)), (e: unknown) => e instanceof ReshootError && /6 frames, the input 3/.test(e.message));
  await assert.rejects(inputFlows(input.slice(0, 1)), ReshootError);
});

test('an input flow cache belongs to its input: other frames or another flow scale are refused in one line', async () => {
  const input = (await clip()).slice(0, 4);
  const cache = new InputFlowCache();
  await measureFlickerFrames(input, input, { inputFlows: cache, ssim: false });
  // Same pixels, other frame objects: the cache cannot know they are the same clip, so it refuses.
  const copy = input.map((f) => ({ ...f, data: f.data.slice() }));
  await assert.rejects(measureFlickerFrames(copy, copy, { inputFlows: cache }), (e: unknown) => e instanceof ReshootError && /input frame 0 is not the frame/.test(e.message));
  await assert.rejects(measureFlickerFrames(input, input, { inputFlows: cache, flowScale: 0.5 }), (e: unknown) => e instanceof ReshootError && /flow scale 1, not 0.5/.test(e.message));
});
