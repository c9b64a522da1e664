import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fetchDatasets, getSynthPreset, synthesizeClip } from '../../datasets/index.js';
import { measureFlicker } from '../../metrics/index.js';
import { resolveConfig } from '../../pipeline/config.js';
import { processVideo } from '../../pipeline/process.js';
import type { SegmentPlan } from '../../segment/index.js';
import { ensureDir, writeJsonAtomic } from '../../util/atomic.js';
import { probeVideo } from '../../video/index.js';
import { sheetFrames, writeContactSheet } from '../../bench/contact-sheet.js';
import { measureEndToEnd } from '../../bench/end-to-end.js';
import { withProgress } from '../progress.js';
import { formatInfo } from './info.js';
import { cliListener } from './process.js';

/**
 * The demo's default input: real footage (vtest.avi, pedestrians) seen by a
 * synthetic handheld camera with known shake, so it runs anywhere the datasets
 * can be fetched (shared folder or Debian's opencv-doc).
 */
export const DEMO_PRESET = 'vtest-shake';
export const DEMO_FRAMES = 80;

/**
 * The main job on the embedded default input: the whole pipeline with the
 * synthetic generator (a stand-in for a generative model, named as such),
 * then flicker and seam metrics of the result. It owns its output folder
 * (out/demo by default) and replaces its own earlier outputs there.
 */
export async function demoCommand(opts: { out: string }): Promise<void> {
  const outDir = resolve(opts.out);
  await ensureDir(outDir);
  const spec = { ...getSynthPreset(DEMO_PRESET), frames: DEMO_FRAMES };
  const say = (s: string) => process.stdout.write(`${s}\n`);

  say(`[1/4] fetching ${spec.source} (real footage)`);
  await fetchDatasets({ ids: [spec.source] });

  const shaky = join(outDir, 'shaky.mp4');
  say(`[2/4] adding known handheld shake (preset ${DEMO_PRESET}, ${DEMO_FRAMES} frames) -> ${shaky}`);
  await withProgress('synthesize', (onProgress) => synthesizeClip(spec, shaky, { overwrite: true, onProgress }));
  say(formatInfo(await probeVideo(shaky)).replace(/^/gm, '      '));

  const output = join(outDir, 'output.mp4');
  const runDir = join(outDir, 'output.run');
  say(`[3/4] reshoot process (preset balanced, generator: synthetic stand-in) -> ${output}`);
  const listener = cliListener((s) => say(`      ${s}`));
  const result = await (async () => {
    try {
      return await processVideo({
        input: shaky,
        output,
        runDir,
        overwrite: true,
        config: resolveConfig({ generator: { spec: 'synthetic' } }),
        onEvent: listener.onEvent,
      });
    } finally {
      listener.stop();
    }
  })();

  say('[4/4] measuring flicker and seams of the output against the input');
  const plan = JSON.parse(await readFile(join(runDir, 'plan.json'), 'utf8')) as SegmentPlan;
  const flicker = await withProgress('measure', (onProgress) => measureFlicker(output, { input: shaky, plan, flowScale: 0.5, ssim: false, onProgress }));
  // The end-to-end invariants: outside the subject the output must be the input (other people kept),
  // and nothing at the borders may repeat an edge. Plus a contact sheet to look at.
  const scene = await measureEndToEnd(shaky, output, runDir);
  const sheet = join(outDir, 'contact-sheet.png');
  await writeContactSheet(shaky, output, sheet, sheetFrames(scene.summary.frames, 6));
  const report = {
    input: shaky,
    output,
    runDir,
    generator: 'synthetic (a seeded stand-in that imitates per-frame generative flicker; not a model)',
    seconds: result.seconds,
    peakRssMB: result.run.manifest.peakRssMB,
    segments: result.run.manifest.segments.map((s) => ({ index: s.index, label: s.label, frames: `${s.start}-${s.end - 1}`, seconds: s.seconds })),
    flicker: { eWarp: flicker.eWarp, tOF: flicker.tOF, seams: flicker.seams },
    scene: scene.summary,
    notes: result.run.manifest.notes ?? [],
  };
  const reportPath = join(outDir, 'report.json');
  await writeJsonAtomic(reportPath, report, { overwrite: true });
  for (const s of report.segments) say(`      segment ${s.index} ${s.label.padEnd(9)} frames ${s.frames}: ${(s.seconds.total ?? 0).toFixed(1)} s`);
  say(`      E_warp output ${flicker.eWarp.output.toExponential(2)} vs input ${flicker.eWarp.input.toExponential(2)} (ratio ${flicker.eWarp.ratio.toFixed(2)}), tOF ${flicker.tOF.toFixed(3)}`);
  for (const s of flicker.seams ?? []) {
    say(`      seam ${s.index}/${s.index + 1} at frame ${s.start}: score ${s.score.toFixed(2)} (1 = invisible), colour jump ${s.colorJumpMax.toFixed(1)} levels`);
  }
  say(
    `      scene kept: PSNR outside the subject (${scene.summary.sceneRadius} px around its mask) mean ${scene.summary.psnrSceneMean.toFixed(1)} dB, worst frame ${scene.summary.psnrSceneMin.toFixed(1)} dB; whole frame mean ${scene.summary.psnrMean.toFixed(1)} dB; edge copies ${(100 * scene.summary.edgeCopyMax).toFixed(3)} % of pixels at most`,
  );
  say('');
  say(`output  ${output}`);
  say(`sheet   ${sheet} (input | output | 4x difference)`);
  say(`run     ${runDir} (run.json: config, versions, timings; transforms, poses, contacts, plan, plate)`);
  say(`report  ${reportPath}`);
  say(`total   ${result.seconds.toFixed(1)} s`);
}
