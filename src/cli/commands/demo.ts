import { join, resolve } from 'node:path';
import { fetchDatasets, getSynthPreset, synthesizeClip } from '../../datasets/index.js';
import { probeVideo } from '../../video/index.js';
import { stabilizeVideo } from '../../stabilize/index.js';
import { measureStabilization } from '../../metrics/index.js';
import { ensureDir } from '../../util/atomic.js';
import { progressBar, withProgress } from '../progress.js';
import { formatInfo } from './info.js';

/** The demo's default input: a shaky clip synthesized from a real photo, so it runs anywhere. */
export const DEMO_PRESET = 'photo-dolly-shake';

/**
 * The main job on the embedded default input. It owns its output folder
 * (out/demo by default) and replaces its own earlier outputs there.
 */
export async function demoCommand(opts: { out: string }): Promise<void> {
  const outDir = resolve(opts.out);
  await ensureDir(outDir);
  const spec = getSynthPreset(DEMO_PRESET);
  const say = (s: string) => process.stdout.write(`${s}\n`);

  say(`[1/4] fetching the source photo of preset ${DEMO_PRESET}`);
  await fetchDatasets({ ids: [spec.source] });

  const shaky = join(outDir, 'shaky.mp4');
  say(`[2/4] synthesizing a shaky clip with known camera motion -> ${shaky}`);
  const gt = await withProgress('synthesize', (onProgress) => synthesizeClip(spec, shaky, { overwrite: true, onProgress }));
  say(formatInfo(await probeVideo(shaky)).replace(/^/gm, '      '));

  const stable = join(outDir, 'stabilized.mp4');
  const transforms = join(outDir, 'transforms.json');
  say(`[3/4] stabilizing -> ${stable} (removed motion: ${transforms})`);
  const bar = progressBar('stabilize');
  try {
    await stabilizeVideo(shaky, stable, { transformsPath: transforms, overwrite: true, onAnalyzeProgress: bar.update });
  } finally {
    bar.stop();
  }

  say('[4/4] measuring both clips against the ground truth');
  const before = await measureStabilization(shaky, { input: shaky, gt });
  const after = await measureStabilization(stable, { input: shaky, gt });
  const row = (name: string, r: typeof before) =>
    `      ${name.padEnd(12)} residual shake ${r.truth!.residualShake.px.toFixed(2).padStart(6)} px ${r.truth!.residualShake.deg.toFixed(3)} deg | ` +
    `jitter ${r.residualJitter.px.toFixed(2).padStart(6)} px | stability ${r.stability.mean.toFixed(3)} | ITF ${r.itf.toFixed(1)} dB | min coverage ${r.coverage!.min.toFixed(3)}`;
  say(row('shaky', before));
  say(row('stabilized', after));
}
