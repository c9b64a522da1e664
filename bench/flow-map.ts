/**
 * The temporal stage warps two images by one flow per frame (the previous output, cubic, and the previous
 * guide, linear), with the flow computed at a quarter of the size. warpByFlow(image, flow) rebuilds the
 * full-size float map (upsample, scale, add the pixel grid) and remap converts it to fixed point in each
 * call; createFlowMap does both once (the same bytes: test/flow.test.ts). CPU time per frame pair, in
 * interleaved rounds, on two frames of bench/pipeline.ts's 720p clip (vtest.avi at 1280x720).
 *
 *   node --import tsx bench/flow-map.ts [--rounds 3] [--reps 8]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { createFlowMap, denseFlow, resizeGray, rgbToGray, warpByFlow } from '../src/flow/index.js';
import { decodeFrames, resolveFfmpeg, type Frame } from '../src/video/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, reps: { type: 'string', default: '8' } } });
await fetchDatasets({ ids: ['vtest'] });
const clip = join(tmpdir(), 'reshoot-flow-map-walk720.mp4');
if (!existsSync(clip)) {
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-y', '-i', datasetPath('vtest'), '-vf', 'setpts=PTS/3,scale=1280:960,crop=1280:720,fps=30,format=yuv420p', '-frames:v', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', clip]);
}
const frames: Frame[] = [];
for await (const f of decodeFrames(clip, { count: 2 })) frames.push(f);
const [a, b] = frames;
const { width: W, height: H } = a;
const flow = await denseFlow(await resizeGray(rgbToGray(a), W / 4, H / 4), await resizeGray(rgbToGray(b), W / 4, H / 4));
const reps = Number(values.reps);
async function cpuMs(fn: () => Promise<unknown>): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / reps;
}
console.log(`${W}x${H}, flow ${flow.width}x${flow.height}, ${reps} reps per figure, load ${loadavg()[0].toFixed(1)}`);
for (let r = 0; r < Number(values.rounds); r++) {
  const perCall = await cpuMs(async () => {
    await warpByFlow(b, flow, { interpolation: 'cubic' });
    await warpByFlow(a, flow);
  });
  const once = await cpuMs(async () => {
    const m = await createFlowMap(flow, W, H);
    try {
      await warpByFlow(b, m, { interpolation: 'cubic' });
      await warpByFlow(a, m);
    } finally {
      m.delete();
    }
  });
  const m = await createFlowMap(flow, W, H);
  const map = await cpuMs(async () => (await createFlowMap(flow, W, H)).delete());
  const cubic = await cpuMs(() => warpByFlow(b, m, { interpolation: 'cubic' }));
  const linear = await cpuMs(() => warpByFlow(a, m));
  m.delete();
  console.log(`round ${r + 1}: two warps, map per call ${perCall.toFixed(1)} ms CPU; one FlowMap ${once.toFixed(1)} ms (making the map ${map.toFixed(1)}, cubic remap ${cubic.toFixed(1)}, linear remap ${linear.toFixed(1)})`);
}
console.log(`load at the end ${loadavg()[0].toFixed(1)}`);
