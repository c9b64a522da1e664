import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { ReshootError } from '../util/errors.js';
import { packageRoot } from '../util/paths.js';

/** Options naming the ffmpeg / ffprobe binaries explicitly. */
export interface BinaryOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
}

// No ESM-only module metadata (tslab rejects it): the installer packages are found with `require` when it
// exists (CommonJS), else a require anchored at the reshoot package folder or cwd.
function installerPath(pkg: string): string | undefined {
  const tries: Array<() => unknown> = [];
  if (typeof require === 'function') tries.push(() => require(pkg));
  tries.push(() => createRequire(join(packageRoot(), 'package.json'))(pkg));
  tries.push(() => createRequire(join(process.cwd(), 'noop.js'))(pkg));
  for (const t of tries) {
    try {
      const mod = t() as { path?: string };
      if (mod && typeof mod.path === 'string') return mod.path;
    } catch {
      // try the next way
    }
  }
  return undefined;
}

function checkExecutable(path: string, what: string, source: string): string {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new ReshootError(`${what} binary not found at ${path} (from ${source})`);
  }
  if (!isFile) throw new ReshootError(`${what} binary ${path} (from ${source}) is not a file`);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new ReshootError(`${what} binary ${path} (from ${source}) is not executable`);
  }
  return path;
}

/**
 * The ffmpeg binary to run: `opts.ffmpegPath` > env RESHOOT_FFMPEG > the binary
 * shipped by the npm package @ffmpeg-installer/ffmpeg. Throws ReshootError when
 * the chosen file is missing or not executable.
 */
export function resolveFfmpeg(opts: { ffmpegPath?: string } = {}): string {
  if (opts.ffmpegPath) return checkExecutable(opts.ffmpegPath, 'ffmpeg', 'the ffmpegPath option');
  const env = process.env.RESHOOT_FFMPEG;
  if (env) return checkExecutable(env, 'ffmpeg', 'RESHOOT_FFMPEG');
  const p = installerPath('@ffmpeg-installer/ffmpeg');
  if (!p) throw new ReshootError('no ffmpeg binary: @ffmpeg-installer/ffmpeg is not installed; set RESHOOT_FFMPEG');
  return checkExecutable(p, 'ffmpeg', '@ffmpeg-installer/ffmpeg');
}

/**
 * The ffprobe binary to run: `opts.ffprobePath` > env RESHOOT_FFPROBE > the binary
 * shipped by the npm package @ffprobe-installer/ffprobe.
 */
export function resolveFfprobe(opts: { ffprobePath?: string } = {}): string {
  if (opts.ffprobePath) return checkExecutable(opts.ffprobePath, 'ffprobe', 'the ffprobePath option');
  const env = process.env.RESHOOT_FFPROBE;
  if (env) return checkExecutable(env, 'ffprobe', 'RESHOOT_FFPROBE');
  const p = installerPath('@ffprobe-installer/ffprobe');
  if (!p) throw new ReshootError('no ffprobe binary: @ffprobe-installer/ffprobe is not installed; set RESHOOT_FFPROBE');
  return checkExecutable(p, 'ffprobe', '@ffprobe-installer/ffprobe');
}

/** A fluent-ffmpeg command with both binary paths set on this command only (not globally). */
export function ffmpegCommand(opts: BinaryOptions = {}): ffmpeg.FfmpegCommand {
  const cmd = ffmpeg({ stdoutLines: 200 });
  cmd.setFfmpegPath(resolveFfmpeg(opts));
  return cmd;
}

/** The last meaningful line of an ffmpeg/ffprobe stderr text (for one-line errors). */
export function lastStderrLine(stderr: string | undefined): string {
  const lines = (stderr ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^(Conversion failed!|Exiting normally)/.test(l));
  // The cause beats the consequence: on a full disk ffmpeg's last line is "Error initializing output
  // stream 0:0 --", while "No space left on device" came earlier.
  const cause = lines.find((l) => /No space left on device|Disk quota exceeded|Read-only file system|Permission denied|Input\/output error/i.test(l));
  if (cause) return cause;
  return lines.length ? lines[lines.length - 1] : 'no error output';
}

/** "num/den" as ffmpeg wants a rational on the command line. */
export function rationalArg(r: { num: number; den: number }): string {
  return `${r.num}/${r.den}`;
}
