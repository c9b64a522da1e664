import { join, resolve } from 'node:path';
import { fetchDatasets, getSynthPreset, synthesizeClip } from '../../datasets/index.js';
import { probeVideo } from '../../video/index.js';
import { ensureDir } from '../../util/atomic.js';
import { withProgress } from '../progress.js';
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

  say(`[1/2] fetching the source photo of preset ${DEMO_PRESET}`);
  await fetchDatasets({ ids: [spec.source] });

  const clip = join(outDir, 'shaky.mp4');
  say(`[2/2] synthesizing a shaky clip with known camera motion -> ${clip}`);
  await withProgress('synthesize', (onProgress) => synthesizeClip(spec, clip, { overwrite: true, onProgress }));

  say('');
  say(formatInfo(await probeVideo(clip)));
  say('');
  say(`ground truth (intentional path and shake per frame): ${clip.replace(/\.mp4$/, '.gt.json')}`);
}
