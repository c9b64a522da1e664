/** The segment chain on plain arrays: order of stages, batching, per-stage timing, length checks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perFrame, runChain, type ChainFrame, type FrameStage } from '../src/pipeline/chain.js';
import type { Segment } from '../src/segment/index.js';

const seg: Segment = { index: 0, label: 'approach', start: 10, end: 15, overlap: 0 };
const px = (v: number) => ({ width: 1, height: 1, data: Uint8Array.of(v, v, v) });
const frames = (): ChainFrame[] => [10, 11, 12, 13, 14].map((t) => ({ t, input: px(t), output: px(t), mask: null, pose: null }));

test('stages apply in list order to every frame, in batches, and frames come out in order', async () => {
  const log: string[] = [];
  const add = perFrame('generate', (f) => px(f.output.data[0] + 100));
  const double: FrameStage = {
    name: 'temporal',
    open: (s) => void log.push(`open ${s.index}`),
    push: (batch) => {
      log.push(`batch ${batch.map((f) => f.t).join(',')}`);
      return batch.map((f) => ({ ...f, output: px(f.output.data[0] * 2 - 200) }));
    },
    close: () => void log.push('close'),
  };
  const all = frames();
  const batches = [all.slice(0, 2), all.slice(2)];
  const out: ChainFrame[] = [];
  const seconds: Record<string, number> = {};
  for await (const f of runChain([add, double], seg, batches, (s, x) => (seconds[s] = (seconds[s] ?? 0) + x))) out.push(f);
  // (t + 100) * 2 - 200 = 2t: the generate stage ran before the temporal one.
  assert.deepEqual(out.map((f) => f.output.data[0]), [20, 22, 24, 26, 28]);
  assert.deepEqual(out.map((f) => f.t), [10, 11, 12, 13, 14]);
  assert.deepEqual(out.map((f) => f.input.data[0]), [10, 11, 12, 13, 14]); // the input is never replaced
  assert.deepEqual(log, ['open 0', 'batch 10,11', 'batch 12,13,14', 'close']);
  assert.deepEqual(Object.keys(seconds).sort(), ['generate', 'temporal']);
});

test('a stage that drops frames fails the chain with its name, and close still runs', async () => {
  let closed = false;
  const dropper: FrameStage = { name: 'composite', push: (b) => b.slice(1), close: () => void (closed = true) };
  await assert.rejects(async () => {
    for await (const _ of runChain([dropper], seg, [frames()])) void _;
  }, /stage composite returned 4 frames for 5/);
  assert.equal(closed, true);
});
