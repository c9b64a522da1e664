import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { trackChild } from '../util/children.js';
import { ReshootError } from '../util/errors.js';
import { ffmpegCommand, lastStderrLine } from './ffmpeg.js';
import { probeVideo } from './probe.js';
import type { Frame, VideoInfo } from './types.js';

export interface DecodeOptions {
  /** Result of probeVideo(path); probed when absent. */
  info?: VideoInfo;
  /** Index of the first frame to deliver (0-based, in the constant-rate output sequence). Default 0. */
  start?: number;
  /** Number of frames to deliver at most. Default: all. */
  count?: number;
  ffmpegPath?: string;
  ffprobePath?: string;
  signal?: AbortSignal;
  /** Deliver 8-bit gray (1 byte per pixel) instead of RGB24. */
  gray?: boolean;
  /** Resize every frame to this size (after rotation). */
  scale?: { width: number; height: number };
}

/** Frames ffmpeg may run ahead of the consumer (the pipe holds about this many). */
const READ_AHEAD_FRAMES = 2;

/**
 * Decodes `path` frame by frame: ffmpeg writes raw rgb24 (or gray8) to a pipe and
 * every frame is yielded as a fresh Uint8Array of width*height*channels bytes.
 *
 * - Rotation: ffmpeg autorotates, so frames have the display size (info.width x
 *   info.height, already swapped for 90/270 rotations).
 * - Frame rate: the fps filter resamples to info.fps (the average rate), so the
 *   output is constant-rate; on VFR input frames are duplicated/dropped to fit.
 * - start/count pick frames by index in that constant-rate sequence with a
 *   `select` filter, so frame `start` is exactly the start-th frame of a full decode
 *   (frames before `start` are still decoded, which costs time).
 * - Back-pressure: ffmpeg's stdout is read only as fast as the consumer pulls, so
 *   at most a few frames are buffered. Leaving the loop early kills ffmpeg.
 * - ffmpeg failing (non-zero exit) throws ReshootError with its last stderr line.
 */
export async function* decodeFrames(path: string, opts: DecodeOptions = {}): AsyncGenerator<Frame> {
  const info = opts.info ?? (await probeVideo(path, { ffprobePath: opts.ffprobePath, signal: opts.signal }));
  const start = opts.start ?? 0;
  const count = opts.count;
  if (!Number.isInteger(start) || start < 0) throw new ReshootError(`decode ${path}: start must be a whole number >= 0 (got ${start})`);
  if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
    throw new ReshootError(`decode ${path}: count must be a whole number >= 0 (got ${count})`);
  }
  if (count === 0) return;
  const width = opts.scale?.width ?? info.width;
  const height = opts.scale?.height ?? info.height;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new ReshootError(`decode ${path}: bad frame size ${width}x${height}`);
  }
  const channels = opts.gray ? 1 : 3;
  const frameBytes = width * height * channels;
  opts.signal?.throwIfAborted?.();

  // Every decoded frame exactly once, renumbered on a constant-rate clock: with -vsync 0 the raw muxer
  // dropped frames whose (VFR) timestamps rounded to the same tick, and an fps filter duplicates or
  // drops frames to fit the average rate, so neither gave the count probeVideo measures.
  const filters = [`setpts=N*${info.fps.den}/${info.fps.num}/TB`];
  // Area averaging: the right filter for the downscaling this is used for (motion analysis).
  if (opts.scale) filters.push(`scale=${width}:${height}:flags=area`);
  if (start > 0 || count !== undefined) {
    const last = count === undefined ? '' : `*lte(n\\,${start + count - 1})`;
    filters.push(`select='gte(n\\,${start})${last}'`);
  }
  const outputOptions = ['-vf', filters.join(','), '-vsync', '0', '-pix_fmt', opts.gray ? 'gray' : 'rgb24'];
  // Deliver exactly what probeVideo promised (never more, and fewer is an error below).
  const known = info.frameCountSource !== 'estimated';
  const expected = known ? Math.max(0, Math.min(count ?? Infinity, info.frameCount - start)) : count;
  if (expected === 0) return;
  if (expected !== undefined) outputOptions.push('-frames:v', String(expected));

  const out = new PassThrough({ highWaterMark: frameBytes * READ_AHEAD_FRAMES });
  const cmd = ffmpegCommand({ ffmpegPath: opts.ffmpegPath })
    .input(path)
    .inputOptions(['-nostdin', '-v', 'error'])
    .outputOptions(outputOptions)
    .format('rawvideo');
  let proc: ChildProcess | undefined;
  let failure: Error | undefined;
  let stderrText = '';
  const finished = new Promise<void>((resolve) => {
    cmd.on('start', () => {
      proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      trackChild(proc);
    });
    cmd.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
      failure = err;
      stderrText = stderr ?? '';
      resolve();
    });
    cmd.on('end', (_stdout: string | null, stderr: string | null) => {
      stderrText = stderr ?? '';
      resolve();
    });
  });
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    out.destroy();
  };
  const onAbort = (): void => stop();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  cmd.pipe(out, { end: true });

  let frame = new Uint8Array(frameBytes);
  let filled = 0;
  let delivered = 0;
  let completed = false;
  try {
    try {
      for await (const chunk of out as AsyncIterable<Buffer>) {
        let pos = 0;
        while (pos < chunk.length) {
          const n = Math.min(frameBytes - filled, chunk.length - pos);
          frame.set(chunk.subarray(pos, pos + n), filled);
          filled += n;
          pos += n;
          if (filled === frameBytes) {
            const done: Frame = { width, height, data: frame };
            frame = new Uint8Array(frameBytes);
            filled = 0;
            delivered++;
            yield done;
          }
        }
      }
    } catch (err) {
      if (!stopped) throw err;
    }
    if (opts.signal?.aborted) throw new ReshootError(`decoding ${path} was cancelled`);
    await finished;
    // fluent-ffmpeg reports "Output stream closed" when our pipe closes (it does once fully read) and ffmpeg
    // has not exited within 20 ms; under load that happens after a complete decode (seen in a CI run). With
    // every promised frame delivered and no stray bytes it is not a failure.
    const lateExit = failure?.message === 'Output stream closed' && filled === 0 && expected !== undefined && delivered === expected;
    if (failure && !lateExit) {
      throw new ReshootError(`decoding ${path} failed: ${lastStderrLine(stderrText || failure.message)}`, { cause: failure });
    }
    if (/moov atom not found|partial file/i.test(stderrText)) {
      throw new ReshootError(`decoding ${path} failed: the file is truncated (${lastStderrLine(stderrText)})`);
    }
    if (filled !== 0) {
      throw new ReshootError(`decoding ${path} failed: ffmpeg delivered ${filled} stray bytes (expected ${width}x${height} frames)`);
    }
    if (known && expected !== undefined && delivered < expected) {
      throw new ReshootError(`decoding ${path} failed: only ${start + delivered} of ${info.frameCount} frames are decodable (the file is damaged or truncated)`);
    }
    completed = true;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!completed) {
      stop();
      // Wait for ffmpeg to be gone, so no child outlives the generator.
      if (proc && proc.exitCode === null && proc.signalCode === null) await once(proc, 'exit').catch(() => undefined);
      await finished;
    }
  }
}

/** Decodes all (or start/count) frames into memory. Only for short clips. */
export async function decodeAll(path: string, opts: DecodeOptions = {}): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const f of decodeFrames(path, opts)) frames.push(f);
  return frames;
}
