/**
 * onnxruntime's busy-waiting intra-op threads (allow_spinning) on this shared machine: CPU and wall per call
 * with spinning on and off, alternating, for the foot lock's pose call (MoveNet thunder on a 300 px crop of
 * a 720p frame, 2 threads) and the style generator (matta at 256 x 340, 2 threads). The pipeline runs both
 * with spinning off (src/pipeline/process.ts ankleEstimator, src/generate/style/generator.ts).
 *
 *   node --import tsx bench/spinning.ts [--rounds 2]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { prepareStyleModel, readStyleWeights, resolveStyleFolder, STYLE_INPUT } from '../src/generate/style/index.js';
import { createPoseEstimator } from '../src/pose/index.js';
import { decodeFrames, type Frame } from '../src/video/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' } } });
await fetchDatasets({ ids: ['vtest'] });
const frames: Frame[] = [];
for await (const f of decodeFrames(datasetPath('vtest'), { count: 20, scale: { width: 1280, height: 960 } })) frames.push(f);
const region = { x: 900, y: 250, size: 300 };
const prepared = await prepareStyleModel(await readStyleWeights(resolveStyleFolder('matta')));
const H = 256, W = 340;
const image = new Float32Array(H * W * 3).map((_, i) => (i * 37) % 255);
const per = (c: NodeJS.CpuUsage, t0: number, n: number) => `${((c.user + c.system) / 1000 / n).toFixed(1)} ms CPU, ${((performance.now() - t0) / n).toFixed(1)} ms wall per call`;
console.log(`load ${loadavg()[0].toFixed(1)}`);
for (let r = 0; r < Number(values.rounds); r++) {
  for (const spinning of [true, false]) {
    const est = await createPoseEstimator({ model: 'thunder', threads: 2, spinning });
    await est.estimate(frames[0], { region, index: 0 });
    let c0 = process.cpuUsage(), t0 = performance.now();
    for (let i = 0; i < frames.length; i++) await est.estimate(frames[i], { region, index: i });
    const pose = per(process.cpuUsage(c0), t0, frames.length);
    await est.release();
    const s = await ort.InferenceSession.create(prepared.bytes, {
      intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', executionProviders: ['cpu'],
      ...(!spinning && { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    });
    const feeds = { [STYLE_INPUT]: new ort.Tensor('float32', image, [1, H, W, 3]) };
    await s.run(feeds);
    c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < 5; i++) await s.run(feeds);
    const style = per(process.cpuUsage(c0), t0, 5);
    await s.release();
    console.log(`round ${r + 1}, spinning ${spinning ? 'on ' : 'off'}: thunder crop ${pose}; style matta ${style}`);
  }
}
console.log(`load at the end ${loadavg()[0].toFixed(1)}`);
