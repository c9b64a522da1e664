/**
 * ffmpeg's vid.stab (vidstabdetect + vidstabtransform), the stabilizer users
 * already know, run as the baseline in the stabilization benchmark. Uses the
 * same ffmpeg binary reshoot uses (the npm-shipped build has libvidstab).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveFfmpeg, lastStderrLine } from '../src/video/index.js';
import { withAtomicOutput } from '../src/util/atomic.js';

export interface VidstabOptions {
  /** vidstabtransform smoothing: frames on each side of the low-pass (vid.stab's window is 2*smoothing+1). */
  smoothing: number;
  /** vidstabtransform zoom (percent); 0 in the benchmark. */
  zoom?: number;
  /** 1 = static optimal zoom so no borders are visible (vid.stab's default). */
  optzoom?: number;
  shakiness?: number;
  accuracy?: number;
  overwrite?: boolean;
}

export interface VidstabResult {
  /** Seconds spent in vidstabdetect (motion analysis; includes decoding). */
  detectSeconds: number;
  /** Seconds spent in vidstabtransform (smoothing, warping, encoding). */
  transformSeconds: number;
}

/** Runs the ffmpeg reshoot uses with `args`; resolves to the wall time in seconds. */
export function ffmpegSeconds(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(resolveFfmpeg(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Number(process.hrtime.bigint() - started) / 1e9);
      else reject(new Error(`ffmpeg failed (${code}): ${lastStderrLine(stderr)}`));
    });
  });
}

/** Stabilizes `input` into `output` (H.264, crf 18) with vid.stab's two passes. */
export async function runVidstab(input: string, output: string, opts: VidstabOptions): Promise<VidstabResult> {
  const work = await mkdtemp(join(tmpdir(), 'reshoot-vidstab-'));
  const trf = join(work, 'transforms.trf');
  try {
    const detectSeconds = await ffmpegSeconds([
      '-v', 'error', '-i', input,
      '-vf', `vidstabdetect=shakiness=${opts.shakiness ?? 5}:accuracy=${opts.accuracy ?? 15}:result=${trf}`,
      '-f', 'null', '-',
    ]);
    const transformSeconds = await withAtomicOutput(
      output,
      (tmp) =>
        ffmpegSeconds([
          '-v', 'error', '-y', '-i', input,
          '-vf', `vidstabtransform=input=${trf}:smoothing=${opts.smoothing}:zoom=${opts.zoom ?? 0}:optzoom=${opts.optzoom ?? 1}:interpol=bilinear`,
          '-c:v', 'libx264', '-preset', 'medium', '-crf', '18', '-pix_fmt', 'yuv420p', tmp,
        ]),
      { overwrite: opts.overwrite },
    );
    return { detectSeconds, transformSeconds };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
