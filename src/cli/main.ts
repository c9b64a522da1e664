/**
 * The `reshoot` command line. Each command lives in commands/; this file only
 * wires them to commander and turns errors into one line on stderr.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isReshootError } from '../util/errors.js';
import { infoCommand } from './commands/info.js';
import { datasetsFetchCommand, datasetsListCommand, datasetsSynthCommand } from './commands/datasets.js';
import { demoCommand } from './commands/demo.js';
import { metricsStabilizationCommand, reshakeCommand, stabilizeCommand } from './commands/stabilize.js';

const program = new Command();

program
  .name('reshoot')
  .description('Decompose -> Stabilize -> Generate -> Composite -> Re-shake: tools around a generative video model.')
  .version('0.1.0')
  .option('--ffmpeg <path>', 'use this ffmpeg binary instead of the npm-shipped one (or set RESHOOT_FFMPEG)')
  .option('--ffprobe <path>', 'use this ffprobe binary instead of the npm-shipped one (or set RESHOOT_FFPROBE)')
  .showHelpAfterError('(run reshoot --help for usage)')
  .hook('preAction', (cmd) => {
    const o = cmd.opts<{ ffmpeg?: string; ffprobe?: string }>();
    if (o.ffmpeg) process.env.RESHOOT_FFMPEG = o.ffmpeg;
    if (o.ffprobe) process.env.RESHOOT_FFPROBE = o.ffprobe;
  });

program
  .command('info')
  .description('probe a video: size, fps, frames, duration, rotation, pixel format, audio')
  .argument('<video>', 'video file')
  .option('--json', 'print machine-readable JSON')
  .action(infoCommand);

const datasets = program.command('datasets').description('real clips (manifest, fetch) and synthetic shaky clips with ground truth');
datasets.command('list').description('list the clips in datasets/manifest.json and the synthetic presets').action(datasetsListCommand);
datasets
  .command('fetch')
  .description('copy the real clips into the cache (from ../shared/datasets, else Debian opencv-doc), verifying sha256')
  .argument('[ids...]', 'clip ids (default: all)')
  .option('--from <dir>', 'folder holding the clips (default: RESHOOT_SHARED_DATASETS or ../shared/datasets)')
  .action(datasetsFetchCommand);
datasets
  .command('synth')
  .description('write a seeded synthetic shaky clip (mp4) and its ground-truth motion (JSON)')
  .argument('[presets...]', 'preset names (see `reshoot datasets list`)')
  .option('--all', 'every preset')
  .requiredOption('-o, --out <dir>', 'output folder')
  .option('--seed <n>', 'random seed (default: the preset seed)', parseInteger)
  .option('--frames <n>', 'number of frames (default: the preset length)', parseInteger)
  .option('--overwrite', 'replace existing outputs')
  .action(datasetsSynthCommand);

program
  .command('stabilize')
  .description('remove camera shake (optical-flow tracks, robust similarity, path smoothing); keeps intentional motion')
  .argument('<input>', 'video file')
  .requiredOption('-o, --out <file>', 'stabilized video (mp4)')
  .option('--transforms <file>', 'write the removed motion as transforms.json (needed for reshake)')
  .option('--smoother <name>', 'l1 (crop-constrained L1 path, best measured) | moving-average | gaussian | constrained', 'l1')
  .option('--window <frames>', 'moving-average window', parseInteger, 30)
  .option('--max-crop-zoom <factor>', 'crop budget of the l1 and constrained smoothers, as a zoom', parseFloatArg, 1.2)
  .option('--sigma <frames>', 'gaussian sigma', parseFloatArg, 15)
  .option('--border <policy>', 'zoom (one minimal zoom hiding all borders) | adaptive (per frame) | fill', 'zoom')
  .option('--zoom <factor>', 'fixed zoom instead of the computed minimal one', parseFloatArg)
  .option('--workers <n>', 'threads for motion analysis', parseInteger, 1)
  .option('--overwrite', 'replace existing outputs')
  .action(stabilizeCommand);

program
  .command('reshake')
  .description('put the camera motion of transforms.json back into a clip of the same size and length')
  .argument('<input>', 'video file (e.g. the generated clip)')
  .requiredOption('--transforms <file>', 'transforms.json written by `reshoot stabilize`')
  .requiredOption('-o, --out <file>', 'output video (mp4)')
  .option('--overwrite', 'replace an existing output')
  .action(reshakeCommand);

const metrics = program.command('metrics').description('measure a video');
metrics
  .command('stabilization')
  .description('residual jitter, stability, ITF; with --input also crop, coverage, distortion; with --gt the ground-truth errors')
  .argument('<video>', 'stabilized video')
  .option('--input <file>', 'the shaky original it was made from')
  .option('--gt <file>', 'ground truth of a synthetic clip (X.gt.json; its clip X.mp4 is the input unless --input says otherwise)')
  .option('--json', 'print JSON')
  .action(metricsStabilizationCommand);

program
  .command('demo')
  .description('run the pipeline on the embedded default input (grows as stages land)')
  .option('-o, --out <dir>', 'output folder', 'out/demo')
  .action(demoCommand);

function parseFloatArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isReshootError(err)) {
    process.stderr.write(`reshoot: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof CommanderError) {
    process.stderr.write(`reshoot: ${err.message}\n`);
    process.exitCode = err.exitCode || 1;
  } else {
    const e = err as Error;
    process.stderr.write(`reshoot: internal error: ${e?.message ?? String(err)}\n`);
    if (process.env.RESHOOT_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
    process.exitCode = 70;
  }
}
