import { exportWanAnimate } from '../../export/wan-animate.js';
import { finishExternal } from '../../pipeline/finish-external.js';
import { ReshootError } from '../../util/errors.js';
import { cliListener, configFromFlags, type ProcessCliOptions } from './process.js';

export const EXPORT_FORMATS = ['wan-animate'] as const;

export interface ExportCliOptions extends Omit<ProcessCliOptions, 'runDir' | 'json'> {
  format: string;
  clipLen?: number;
  fps?: string;
  area?: string;
  reference?: string;
}

/** "1280x720" -> {width, height}. */
export function parseArea(s: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m || !(Number(m[1]) > 0 && Number(m[2]) > 0)) throw new ReshootError(`--area must be <width>x<height>, e.g. 1280x720; got "${s}"`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

export async function exportCommand(input: string, opts: ExportCliOptions): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) throw new ReshootError(`--format must be one of ${EXPORT_FORMATS.join(', ')}; got "${opts.format}"`);
  if (opts.refertNum === undefined) {
    throw new ReshootError('--refert-num 1|5 is required: pass the same value to generate.py --refert_num (its default of 77 fails Wan\'s assertion)');
  }
  let fps: number | 'source' | undefined;
  if (opts.fps !== undefined) {
    fps = opts.fps === 'source' ? 'source' : Number(opts.fps);
    if (fps !== 'source' && !Number.isFinite(fps)) throw new ReshootError(`--fps must be a number or "source"; got "${opts.fps}"`);
  }
  const config = configFromFlags(opts);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const listener = cliListener(log);
  try {
    const r = await exportWanAnimate({
      input,
      outDir: opts.out,
      config,
      refertNum: opts.refertNum,
      clipLen: opts.clipLen,
      fps,
      area: opts.area ? parseArea(opts.area) : undefined,
      reference: opts.reference,
      overwrite: opts.overwrite,
      onEvent: listener.onEvent,
    });
    const m = r.manifest;
    const say = (s: string) => process.stdout.write(`${s}\n`);
    say(`folder   ${r.dir}`);
    say(`frames   ${m.wan.frames} at ${m.wan.fpsValue} fps, ${m.wan.width}x${m.wan.height} (canvas ${m.canvas.width}x${m.canvas.height} inside, padded ${m.wan.letterbox.x},${m.wan.letterbox.y})`);
    say(`clips    ${m.clipPlan.clips.length} x ${m.clipPlan.clipLen} frames, refert_num ${m.clipPlan.refertNum} (padded to ${m.clipPlan.targetLength})`);
    say(`next     ${m.next.generate}`);
    say(`then     ${m.next.finish}`);
  } finally {
    listener.stop();
  }
}

export interface FinishCliOptions {
  run: string;
  out: string;
  overwrite?: boolean;
}

export async function finishCommand(generated: string, opts: FinishCliOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const listener = cliListener(log);
  try {
    const r = await finishExternal({ generated, runFolder: opts.run, output: opts.out, overwrite: opts.overwrite, onEvent: listener.onEvent });
    process.stdout.write(`output   ${r.output}\nrun      ${r.runDir}\ntotal    ${r.seconds.toFixed(1)} s\n`);
  } finally {
    listener.stop();
  }
}
