import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { rm } from 'node:fs/promises';
import { withAtomicOutput } from '../util/atomic.js';
import { trackChild } from '../util/children.js';
import { removeOnExit } from '../util/cleanup.js';
import { ReshootError } from '../util/errors.js';
import { ffmpegCommand, lastStderrLine, rationalArg } from './ffmpeg.js';
import { ffprobeJson } from './probe.js';
import type { Frame, ProgressFn, Rational } from './types.js';

export interface EncodeOptions {
  fps: Rational;
  /** Replace an existing output file. Default false: refuse. */
  overwrite?: boolean;
  /** Copy (re-encode to AAC) the audio of this file; ignored when it has none. */
  audioFrom?: string;
  /** libx264 constant rate factor. Default 18. */
  crf?: number;
  /** libx264 preset. Default 'medium'. */
  preset?: string;
  ffmpegPath?: string;
  ffprobePath?: string;
  onProgress?: ProgressFn;
  /** For onProgress's total. */
  totalFrames?: number;
}

/**
 * Encodes RGB24 frames into an H.264 mp4 (libx264, yuv420p, constant rate `fps`,
 * +faststart). Written atomically: nothing appears at `outPath` unless encoding
 * succeeds. yuv420p needs even sizes, so odd widths/heights are padded (not
 * cropped) by one black pixel on the right/bottom. With `audioFrom`, that file's
 * first audio stream is re-encoded to AAC (in a second pass) and cut to the
 * video's length; every frame is kept. Frames are piped to ffmpeg with back-pressure.
 */
export async function encodeFrames(
  frames: AsyncIterable<Frame> | Iterable<Frame>,
  outPath: string,
  opts: EncodeOptions,
): Promise<{ frames: number }> {
  const { fps } = opts;
  if (!fps || !(fps.num > 0) || !(fps.den > 0)) throw new ReshootError(`encode ${outPath}: fps must be a positive rational`);
  const ffmpegPath = opts.ffmpegPath;
  // Checked here because a "folder" that is really a file would pass the atomic
  // writer's access() check (as root) and then fail with a raw ENOTDIR.
  const outDir = dirname(outPath);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw new ReshootError(`cannot write ${outPath}: ${outDir} is not a folder`);
  }
  let withAudio = false;
  if (opts.audioFrom) {
    const probed = await ffprobeJson(opts.audioFrom, { ffprobePath: opts.ffprobePath });
    withAudio = probed.streams.some((s) => s.codec_type === 'audio');
  }
  return withAtomicOutput(
    outPath,
    async (tmpPath) => {
      const it = toAsyncIterator(frames);
      const first = await it.next();
      if (first.done) throw new ReshootError(`encode ${outPath}: no frames to encode`);
      const { width, height } = first.value;
      const frameBytes = width * height * 3;
      const check = (f: Frame, i: number): void => {
        if (f.width !== width || f.height !== height || f.data.length !== frameBytes) {
          throw new ReshootError(
            `encode ${outPath}: frame ${i} is ${f.width}x${f.height} (${f.data.length} bytes) but frame 0 is ${width}x${height} RGB (${frameBytes} bytes)`,
          );
        }
      };
      check(first.value, 0);

      const input = new PassThrough({ highWaterMark: frameBytes * 2 });
      const cmd = ffmpegCommand({ ffmpegPath })
        .input(input)
        .inputFormat('rawvideo')
        .inputOptions(['-v', 'error', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', rationalArg(fps)]);
      const out: string[] = [
        '-map', '0:v',
        '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2',
        '-c:v', 'libx264',
        '-preset', opts.preset ?? 'medium',
        '-crf', String(opts.crf ?? 18),
        '-pix_fmt', 'yuv420p',
        '-r', rationalArg(fps),
        '-movflags', '+faststart',
      ];
      // Audio is muxed in a second pass: with the frames on a pipe and the audio from a file in one
      // ffmpeg, -shortest could stop reading the pipe while the writer waited for 'drain' (a hang seen
      // with fast x264 presets, whose short lookahead lets muxing start early).
      const videoPath = withAudio ? `${tmpPath}.video.mp4` : tmpPath;
      const unregisterVideo = withAudio ? removeOnExit(videoPath) : () => undefined;
      cmd.outputOptions(out).format('mp4').output(videoPath);

      let proc: ChildProcess | undefined;
      let failure: { err: Error; stderr: string } | undefined;
      let rejectFailed: (e: Error) => void = () => undefined;
      const failed = new Promise<never>((_, reject) => {
        rejectFailed = reject;
      });
      failed.catch(() => undefined);
      let markStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => {
        markStarted = resolve;
      });
      const finished = new Promise<void>((resolve) => {
        cmd.on('start', () => {
          proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
          trackChild(proc);
          markStarted();
        });
        cmd.on('error', (err: Error, _o: string | null, stderr: string | null) => {
          failure = { err, stderr: stderr ?? '' };
          rejectFailed(err);
          resolve();
        });
        cmd.on('end', () => resolve());
      });
      const ffmpegError = (): ReshootError =>
        new ReshootError(`encoding ${outPath} failed: ${lastStderrLine(failure?.stderr || failure?.err.message)}`, {
          cause: failure?.err,
        });

      cmd.run();
      let n = 0;
      try {
        const write = async (f: Frame): Promise<void> => {
          const buf = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
          if (!input.write(buf)) await Promise.race([once(input, 'drain'), failed]);
          n++;
          opts.onProgress?.(n, opts.totalFrames);
        };
        await write(first.value);
        for (let r = await it.next(); !r.done; r = await it.next()) {
          check(r.value, n);
          await write(r.value);
        }
        input.end();
        await finished;
      } catch (err) {
        // Only a failure of ffmpeg's own explains the error; the SIGKILL below would otherwise mask the real cause.
        const ffmpegFailedFirst = failure !== undefined;
        await Promise.race([started, finished]);
        if (proc && proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGKILL');
          await once(proc, 'exit').catch(() => undefined);
        }
        input.destroy();
        await finished;
        await it.return?.();
        if (videoPath !== tmpPath) {
          await rm(videoPath, { force: true });
          unregisterVideo();
        }
        if (ffmpegFailedFirst && !(err instanceof ReshootError)) throw ffmpegError();
        throw err;
      }
      if (failure) throw ffmpegError();
      if (withAudio && opts.audioFrom) {
        try {
          await muxAudio(videoPath, opts.audioFrom, tmpPath, (n * fps.den) / fps.num, ffmpegPath);
        } finally {
          await rm(videoPath, { force: true });
          unregisterVideo();
        }
      }
      return { frames: n };
    },
    { overwrite: opts.overwrite },
  );
}

/**
 * Copies the video stream of `video` and adds `audioFrom`'s first audio stream as AAC, cut to the
 * video's duration (`-t`; the bundled 2018 ffmpeg's -shortest cuts a copied video stream short).
 */
function muxAudio(video: string, audioFrom: string, out: string, seconds: number, ffmpegPath?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cmd = ffmpegCommand({ ffmpegPath });
    cmd.on('start', () => trackChild((cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc));
    cmd
      .input(video)
      .input(audioFrom)
      .outputOptions(['-v', 'error', '-map', '0:v:0', '-map', '1:a:0?', '-c:v', 'copy', '-c:a', 'aac', '-t', seconds.toFixed(6), '-movflags', '+faststart'])
      .format('mp4')
      .output(out)
      .on('error', (err: Error, _o: string | null, stderr: string | null) =>
        reject(new ReshootError(`adding the audio of ${audioFrom} failed: ${lastStderrLine(stderr || err.message)}`, { cause: err })),
      )
      .on('end', () => resolve())
      .run();
  });
}

function toAsyncIterator(frames: AsyncIterable<Frame> | Iterable<Frame>): AsyncIterator<Frame> | Iterator<Frame> {
  if (Symbol.asyncIterator in Object(frames)) return (frames as AsyncIterable<Frame>)[Symbol.asyncIterator]();
  return (frames as Iterable<Frame>)[Symbol.iterator]();
}
