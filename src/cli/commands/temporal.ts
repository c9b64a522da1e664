/**
 * `reshoot temporal`: temporal consistency of a generated clip against its guide. In its own
 * module, importing only the temporal stage, so that the command starts without loading the
 * segment planner, the metrics and the rest of the CLI (issue 16: start-up was about 1.3 CPU s
 * of an 80-frame run); the segment plan's reader is loaded only with --plan.
 */
import { resolve } from 'node:path';
import { temporalVideo } from '../../temporal/consistency.js';
import { assertCanWrite } from '../../util/atomic.js';
import { withProgress } from '../progress.js';

export interface TemporalCliOptions {
  guide: string;
  out: string;
  plan?: string;
  strength: number;
  flowScale: number;
  maxGuideError: number;
  carry?: boolean;
  threads?: number;
  /** libx264 preset of the output (default: temporalVideo's, TEMPORAL_ENCODE.preset). */
  x264Preset?: string;
  overwrite?: boolean;
}

export async function temporalCommand(generated: string, opts: TemporalCliOptions): Promise<void> {
  const out = resolve(opts.out);
  assertCanWrite(out, { overwrite: opts.overwrite });
  const plan = opts.plan ? await (await import('./segments.js')).readPlan(opts.plan) : undefined;
  const r = await withProgress('temporal', (onProgress) =>
    temporalVideo(resolve(generated), resolve(opts.guide), out, {
      strength: opts.strength,
      flowScale: opts.flowScale,
      maxGuideError: opts.maxGuideError,
      carry: opts.carry,
      resetAt: plan?.segments.map((s) => s.start),
      threads: opts.threads,
      preset: opts.x264Preset,
      overwrite: opts.overwrite,
      onProgress,
    }),
  );
  if (plan && plan.frameCount !== r.frames) process.stderr.write(`reshoot: warning: the plan covers ${plan.frameCount} frames, the clip has ${r.frames}\n`);
  process.stdout.write(
    [
      `temporal consistency on ${r.frames} frames -> ${out}`,
      `strength ${opts.strength}, flow at ${opts.flowScale} x size (Farneback on the guide), ${r.resets} restart(s)${opts.carry ? ' (carried across seams)' : ''}`,
      `blended  ${(100 * r.meanReliable).toFixed(1)}% of pixels on average (the rest failed the occlusion check)`,
      `speed    ${(r.frames / r.seconds).toFixed(1)} frames/s`,
    ].join('\n') + '\n',
  );
}
