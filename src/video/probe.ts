import { execFile } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { trackChild } from '../util/children.js';
import { ReshootError } from '../util/errors.js';
import { lastStderrLine, resolveFfprobe } from './ffmpeg.js';
import type { Rational, VideoInfo } from './types.js';

export interface ProbeOptions {
  ffprobePath?: string;
  /** Abort the ffprobe run(s). */
  signal?: AbortSignal;
}

/** One stream as ffprobe -of json reports it (only the fields used here). */
export interface FfprobeStream {
  index: number;
  codec_name?: string;
  codec_type?: string;
  width?: number;
  height?: number;
  coded_width?: number;
  coded_height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  tags?: Record<string, string>;
  disposition?: Record<string, number>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number | string }>;
}

export interface FfprobeResult {
  streams: FfprobeStream[];
  format?: { format_name?: string; duration?: string; size?: string };
  /** Whatever ffprobe printed on stderr at -v error (warnings about damaged input). */
  stderr: string;
}

/** File formats ffmpeg uses for single images (a still picture is not a video). */
const IMAGE_FORMAT = /^(image2|.*_pipe)$/;

function runFfprobe(
  path: string,
  args: string[],
  opts: ProbeOptions,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const bin = resolveFfprobe(opts);
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      ['-v', 'error', ...args, '-of', 'json', '-i', path],
      { maxBuffer: 64 * 1024 * 1024, signal: opts.signal, windowsHide: true },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ABORT_ERR') {
          reject(new ReshootError(`probing ${path} was cancelled`, { cause: err }));
          return;
        }
        if (err && typeof (err as { code?: unknown }).code === 'string') {
          reject(new ReshootError(`cannot run ffprobe (${bin}): ${err.message}`, { cause: err }));
          return;
        }
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
    trackChild(child);
  });
}

async function checkFile(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new ReshootError(`no such file: ${path}`);
  }
  if (st.isDirectory()) throw new ReshootError(`${path} is a folder, not a video file`);
  if (st.size === 0) throw new ReshootError(`${path} is empty (0 bytes)`);
}

/** Turns ffprobe's complaints about damaged input into one clear line, or undefined. */
async function damageMessage(path: string, stderr: string): Promise<string | undefined> {
  if (/moov atom not found/i.test(stderr) && (await looksLikeIsoBmff(path))) {
    return `${path} is truncated or unfinished (mp4/mov "moov" index atom missing)`;
  }
  if (/partial file/i.test(stderr)) return `${path} is truncated (ffmpeg reports a partial file)`;
  return undefined;
}

/** True when the file starts like an mp4/mov (a box type among the first bytes). */
async function looksLikeIsoBmff(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.alloc(8);
    const { bytesRead } = await fh.read(buf, 0, 8, 0);
    if (bytesRead < 8) return false;
    return /^(ftyp|moov|mdat|free|wide|skip|pnot)$/.test(buf.subarray(4, 8).toString('latin1'));
  } catch {
    return false;
  } finally {
    await fh?.close();
  }
}

/**
 * Raw ffprobe output (streams + format) for any media file; checks existence and
 * size first. Exposed for callers that need audio-only files (e.g. encode's audioFrom).
 */
export async function ffprobeJson(path: string, opts: ProbeOptions = {}): Promise<FfprobeResult> {
  await checkFile(path);
  const { stdout, stderr, code } = await runFfprobe(path, ['-show_streams', '-show_format'], opts);
  const damage = await damageMessage(path, stderr);
  if (damage) throw new ReshootError(damage);
  if (code !== 0) {
    throw new ReshootError(`${path} is not a video (ffprobe could not read it: ${stripPath(lastStderrLine(stderr), path)})`);
  }
  let parsed: { streams?: FfprobeStream[]; format?: FfprobeResult['format'] };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new ReshootError(`${path}: ffprobe printed output that is not JSON`);
  }
  return { streams: parsed.streams ?? [], format: parsed.format, stderr };
}

function stripPath(line: string, path: string): string {
  return line.startsWith(`${path}: `) ? line.slice(path.length + 2) : line;
}

/** Parses "30000/1001" (or "25") into a reduced Rational; undefined for 0/0 or junk. */
export function parseRational(s: string | undefined): Rational | undefined {
  if (!s) return undefined;
  const m = /^\s*(\d+)(?:\s*\/\s*(\d+))?\s*$/.exec(s);
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  if (!(num > 0) || !(den > 0)) return undefined;
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Clockwise display rotation (0/90/180/270). The old `rotate` tag is clockwise;
 * ffprobe's display-matrix `rotation` is counter-clockwise (av_display_rotation_get),
 * so it is negated. Checked against what the bundled ffmpeg's autorotate delivers.
 */
function rotationOf(stream: FfprobeStream): 0 | 90 | 180 | 270 {
  let cw: number | undefined;
  const tag = stream.tags?.rotate;
  if (tag !== undefined && tag !== '' && Number.isFinite(Number(tag))) cw = Number(tag);
  else {
    const sd = stream.side_data_list?.find((d) => d.rotation !== undefined);
    if (sd && Number.isFinite(Number(sd.rotation))) cw = -Number(sd.rotation);
  }
  if (cw === undefined) return 0;
  const r = ((((Math.round(cw / 90) * 90) % 360) + 360) % 360) as 0 | 90 | 180 | 270;
  return r;
}

/**
 * Describes a video file (see VideoInfo). Throws ReshootError, with one line naming
 * the file, for a missing / empty / unreadable / truncated file, a still image or a
 * file without a video stream.
 *
 * frameCount: the stream's nb_frames when the container stores it ('metadata'),
 * else packets counted by ffprobe -count_packets ('counted'), else duration * fps
 * ('estimated').
 *
 * variableFrameRate is a heuristic: true when r_frame_rate (the nominal/lowest
 * common rate) differs from avg_frame_rate (frames / duration) by more than 1%.
 * It can miss VFR files whose average happens to equal the nominal rate.
 */
export async function probeVideo(path: string, opts: ProbeOptions = {}): Promise<VideoInfo> {
  const { streams, format } = await ffprobeJson(path, opts);
  const formatName = format?.format_name ?? '';
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) {
    if (streams.some((s) => s.codec_type === 'video')) throw new ReshootError(`${path} has no video stream (only a cover picture)`);
    throw new ReshootError(`${path} has no video stream`);
  }
  if (IMAGE_FORMAT.test(formatName)) throw new ReshootError(`${path} is a still image, not a video`);
  // ffprobe's "tty" demuxer renders any text file as ANSI art "video": refuse it.
  if (formatName === 'tty' || video.codec_name === 'ansi') throw new ReshootError(`${path} is a text file, not a video`);
  const codedWidth = video.width ?? 0;
  const codedHeight = video.height ?? 0;
  if (!(codedWidth > 0 && codedHeight > 0)) throw new ReshootError(`${path}: ffprobe reports no frame size for the video stream`);
  const rotation = rotationOf(video);
  const swap = rotation === 90 || rotation === 270;

  const nominal = parseRational(video.r_frame_rate);
  const avg = parseRational(video.avg_frame_rate);
  let fps = avg ?? nominal;
  if (!fps) throw new ReshootError(`${path}: ffprobe reports no frame rate for the video stream`);
  const nominalFps = nominal ?? fps;

  const durS = Number(video.duration);
  const durF = Number(format?.duration);
  const duration = Number.isFinite(durS) && durS > 0 ? durS : Number.isFinite(durF) && durF > 0 ? durF : 0;

  let frameCount = 0;
  let frameCountSource: VideoInfo['frameCountSource'] = 'metadata';
  const nb = Number(video.nb_frames);
  const hasNb = Number.isInteger(nb) && nb > 0;
  // Every file is demuxed once (no decoding; vtest.avi's 795 packets take 0.1 s): the header's frame
  // count can be wrong (a cut-off AVI still says 795), and an mp4 edit list can hide packets that
  // the decoder then drops (flag D), so the frames decode will deliver are the packets without D.
  const res = await countPackets(path, video.index, opts);
  const damage = await damageMessage(path, res.stderr);
  if (damage) throw new ReshootError(damage);
  if (res.total !== undefined) {
    if (hasNb && res.total < nb) throw new ReshootError(`${path} is truncated: ${res.total} of ${nb} frames present`);
    // Matroska and others keep no frame count: a demuxer read error is how a cut-off file shows.
    if (/read error|truncat|end of file|ended prematurely/i.test(res.stderr)) {
      throw new ReshootError(`${path} is truncated: only ${res.decodable} frames are readable (${lastStderrLine(res.stderr).replace(/^\[[^\]]*\]\s*/, '')})`);
    }
  }
  if (res.decodable !== undefined && res.decodable > 0) {
    frameCount = res.decodable;
    frameCountSource = hasNb && nb === res.decodable ? 'metadata' : 'counted';
  } else if (hasNb) {
    frameCount = nb;
  } else {
    frameCount = Math.round(duration * (fps.num / fps.den));
    frameCountSource = 'estimated';
  }
  // Matroska stores no average rate: for a VFR file r_frame_rate is only the timebase's guess, so the
  // average is frames / duration (kept as a rational in milliseconds) when the two disagree by > 1 %.
  if (!avg && frameCountSource !== 'estimated' && frameCount > 1 && duration > 0) {
    const measured = frameCount / duration;
    if (Math.abs(measured - fps.num / fps.den) > 0.01 * measured) fps = parseRational(`${frameCount * 1000}/${Math.round(duration * 1000)}`) ?? fps;
  }
  const fpsValue = fps.num / fps.den;
  const nominalValue = nominalFps.num / nominalFps.den;
  const variableFrameRate = Math.abs(nominalValue - fpsValue) > 0.01 * fpsValue;

  if (frameCount <= 1 && /^(png|mjpeg|bmp|tiff|webp|jpegls|jpeg2000|gif)$/.test(video.codec_name ?? '') && duration <= 0.1) {
    throw new ReshootError(`${path} is a still image, not a video`);
  }

  const audio = streams.find((s) => s.codec_type === 'audio');
  const info: VideoInfo = {
    path,
    width: swap ? codedHeight : codedWidth,
    height: swap ? codedWidth : codedHeight,
    codedWidth,
    codedHeight,
    rotation,
    fps,
    fpsValue,
    nominalFps,
    variableFrameRate,
    frameCount,
    frameCountSource,
    duration,
    codec: video.codec_name ?? 'unknown',
    pixelFormat: video.pix_fmt ?? 'unknown',
    hasAudio: audio !== undefined,
  };
  if (audio?.codec_name) info.audioCodec = audio.codec_name;
  return info;
}

/**
 * Demuxes the video stream (no decoding): `total` packets, and `decodable` = packets without the
 * discard flag D (an mp4 edit list marks packets outside the edit D; the decoder drops them).
 */
async function countPackets(
  path: string,
  index: number,
  opts: ProbeOptions,
): Promise<{ total: number | undefined; decodable: number | undefined; stderr: string }> {
  const { stdout, stderr, code } = await runFfprobe(path, ['-select_streams', String(index), '-show_entries', 'packet=flags'], opts);
  if (code !== 0) return { total: undefined, decodable: undefined, stderr };
  try {
    const packets = (JSON.parse(stdout) as { packets?: Array<{ flags?: string }> }).packets ?? [];
    const decodable = packets.filter((p) => !(p.flags ?? '').includes('D')).length;
    return { total: packets.length, decodable, stderr };
  } catch {
    return { total: undefined, decodable: undefined, stderr };
  }
}
