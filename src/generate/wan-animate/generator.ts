/**
 * `wan-animate:<command>`: a preset of `cmd:` for Wan2.2-Animate's own scripts. Per segment it writes
 * the segment as a Wan replace-mode folder (the export's conventions: 30 fps, area 1280x720 in
 * multiples of 16, OpenPose pose, 512x512 faces, mask and background), runs the command on it,
 * and maps the mp4 the command wrote back to the segment's frames (nearest time, Wan's padding
 * cropped off, resized to the canvas). The pipeline then does the rest of `finish`: temporal,
 * composite, foot lock, blend and re-shake.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadOpenCV } from '../../cv/opencv.js';
import { ReshootError } from '../../util/errors.js';
import { decodeFrames, probeVideo, type Frame } from '../../video/index.js';
import { runGeneratorCommand, shellQuote } from '../cmd.js';
import { readRgb } from '../images.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from '../types.js';
import { exportedFrameFor, WAN_AREA, WAN_CLIP_LEN, WAN_FPS, wanAnimateSize, wanClipPlan, wanFrameIndices, wanLetterbox } from './conventions.js';
import { unletterboxImage, WanFolderWriter } from './folder.js';

export const WAN_SEGMENT_MANIFEST = 'reshoot-segment.json';

export interface WanAnimateGeneratorOptions {
  /** 1 or 5 (generate.py --refert_num). Default 1. */
  refertNum?: number;
  /** 4n+1. Default 77. */
  clipLen?: number;
  /** Frame rate of the folder: a number (default 30) or 'source'. */
  fps?: number | 'source';
  area?: { width: number; height: number };
  /** The character image (src_ref.png). Default: the segment's reference frame. */
  reference?: string;
  /** Per segment. Default 3 600 000 ms (a 14B model takes minutes per clip). */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** The command's pid as it starts (the bench's GPU sampler follows its process tree). */
  onSpawn?: (pid: number, segment: number) => void;
}

export function createWanAnimateGenerator(command: string, opts: WanAnimateGeneratorOptions = {}): Generator {
  if (!command.trim()) throw new ReshootError('generator wan-animate: needs a command, e.g. wan-animate:"python generate.py --task animate-14B --ckpt_dir ckpt --src_root_path {src_root} --refert_num {refert_num} --replace_flag --save_file {out}"');
  const refertNum = opts.refertNum ?? 1;
  const clipLen = opts.clipLen ?? WAN_CLIP_LEN;
  wanClipPlan(clipLen, refertNum, clipLen); // the flags, checked now
  const timeoutMs = opts.timeoutMs ?? 3_600_000;
  const area = opts.area ?? WAN_AREA;
  const name = `wan-animate:${command}`;
  let reference: Frame | null = null;

  async function run(input: SegmentInput): Promise<Frame[]> {
    const { width, height, count } = validateSegmentInput(input);
    const cv = await loadOpenCV();
    const dir = resolve(input.workDir);
    const wanDir = join(dir, 'wan');
    const out = join(dir, 'wan-generated.mp4');
    await rm(wanDir, { recursive: true, force: true });
    await rm(out, { force: true });
    const inFps = input.fps.num / input.fps.den;
    const fps = opts.fps === 'source' ? input.fps : { num: opts.fps ?? WAN_FPS, den: 1 };
    const fpsValue = fps.num / fps.den;
    const indices = opts.fps === 'source' ? Array.from({ length: count }, (_, i) => i) : wanFrameIndices(count, inFps, fpsValue);
    const plan = wanClipPlan(indices.length, refertNum, clipLen);
    const size = wanAnimateSize(width, height, area.width * area.height);
    const letterbox = wanLetterbox(width, height, size.width, size.height);
    if (opts.reference && !reference) reference = await readRgb(opts.reference);
    const writer = await WanFolderWriter.create(cv, { dir: wanDir, sourceWidth: width, sourceHeight: height, letterbox, fps }, reference ?? input.reference);
    try {
      for (const i of indices) {
        input.signal?.throwIfAborted();
        await writer.push(input.frames[i], input.masks?.[i] ?? null, input.poses?.[i] ?? null);
      }
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const manifest = {
      schema: 'reshoot.wan-animate-segment/1',
      segment: { index: input.segmentIndex, label: input.label, start: input.start ?? 0, count },
      source: { width, height, fps: input.fps },
      wan: { width: size.width, height: size.height, fps, frames: indices.length, letterbox },
      clipPlan: plan,
      frameMapping: { exportToSegment: indices },
      faces: writer.records,
      output: out,
    };
    await writeFile(join(wanDir, WAN_SEGMENT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    const values: Record<string, string> = {
      src_root: shellQuote(wanDir),
      out: shellQuote(out),
      dir: shellQuote(dir),
      refert_num: String(refertNum),
      clip_len: String(clipLen),
      segment: String(input.segmentIndex),
      start: String(input.start ?? 0),
      count: String(indices.length),
      width: String(size.width),
      height: String(size.height),
      fps: `${fps.num}/${fps.den}`,
    };
    // As cmd: does it: only known names are replaced (here with underscores), other braces are left alone.
    const line = command.replace(/\{([a-z_]+)\}/g, (whole, key: string) => (key in values ? values[key] : whole));
    const env = {
      ...process.env,
      ...opts.env,
      RESHOOT_SRC_ROOT: wanDir,
      RESHOOT_OUT: out,
      RESHOOT_DIR: dir,
      RESHOOT_REFERT_NUM: String(refertNum),
      RESHOOT_CLIP_LEN: String(clipLen),
      RESHOOT_SEGMENT: String(input.segmentIndex),
    };
    input.onProgress?.(0, count);
    await runGeneratorCommand(line, {
      name,
      segmentIndex: input.segmentIndex,
      env,
      cwd: opts.cwd,
      timeoutMs,
      stdoutPath: join(dir, 'stdout.log'),
      stderrPath: join(dir, 'stderr.log'),
      signal: input.signal,
      onSpawn: opts.onSpawn ? (pid) => opts.onSpawn!(pid, input.segmentIndex) : undefined,
    });
    if (!existsSync(out)) throw new ReshootError(`generator ${name}: segment ${input.segmentIndex}: the command exited 0 but wrote no ${out}`);
    const info = await probeVideo(out);
    if (info.frameCount < indices.length) {
      throw new ReshootError(`generator ${name}: segment ${input.segmentIndex}: ${out} has ${info.frameCount} frames, the folder has ${indices.length}`);
    }
    const aspect = size.width / size.height;
    if (Math.abs(info.width / info.height - aspect) / aspect > 0.02) {
      throw new ReshootError(`generator ${name}: segment ${input.segmentIndex}: ${out} is ${info.width}x${info.height}, the folder is ${size.width}x${size.height}`);
    }
    const want = Array.from({ length: count }, (_, i) => exportedFrameFor(i, inFps, fpsValue, indices.length));
    const byK = new Map<number, Frame>();
    let k = 0;
    for await (const f of decodeFrames(out, { info, count: indices.length, signal: input.signal })) {
      if (want.includes(k)) byK.set(k, unletterboxImage(cv, f, letterbox, width, height));
      k++;
    }
    const frames = want.map((kk) => byK.get(kk)!);
    if (frames.some((f) => !f)) throw new ReshootError(`generator ${name}: segment ${input.segmentIndex}: ${out} ended early`);
    input.onProgress?.(count, count);
    return validateGeneratedFrames(frames, input, name);
  }

  return {
    name,
    kind: 'wan-animate',
    isModel: 'unknown',
    wholeSegment: true,
    describe: () => `Wan2.2-Animate folder per segment -> ${command} (refert_num ${refertNum}, clip_len ${clipLen}, ${opts.fps ?? WAN_FPS} fps, area ${area.width}x${area.height}; timeout ${timeoutMs / 1000} s)`,
    generate: run,
    release: async () => undefined,
    close: async () => undefined,
  };
}
