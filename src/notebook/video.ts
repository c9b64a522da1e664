/**
 * Short side-by-side clips in a notebook (raw | stabilized, joined | temporal,
 * drifted | locked, input | output): stills cannot show flicker or drift. The
 * tiles are scaled to one height, the frame number is drawn into the pixels
 * (so a paused or stepped frame says which one it is), encoded H.264 in an mp4
 * with src/video's encodeFrames, and inlined as base64 so the exported HTML
 * plays offline. Buttons step one frame at a time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { Frame, GrayFrame } from '../video/types.js';
import { encodeFrames } from '../video/index.js';
import { ReshootError } from '../util/errors.js';

export interface VideoClip {
  /** Shown above the tile: what the clip is ("raw", "stabilized"). */
  label: string;
  frames: (Frame | GrayFrame)[];
}

export interface VideoOptions {
  /** Playback rate, frames per second. Default 10. */
  fps?: number;
  /** Tile height in px (even). Default 240. */
  height?: number;
  /** Number drawn for the first frame (the clip's index in its source video). Default 0. */
  firstIndex?: number;
  /** libx264 CRF: higher is smaller. Default 28. */
  crf?: number;
  /** A line under the video. */
  caption?: string;
}

/** 5x7 bitmap digits: drawn by hand so no font has to be installed. */
const DIGITS: Record<string, string[]> = {
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11111', '00010', '00100', '00010', '00001', '10001', '01110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
};

/** Draws `text` (digits) in white on a black box at (x, y), `scale` px per font pixel, into an RGB frame in place. */
export function drawNumber(frame: Frame, text: string, x: number, y: number, scale = 2): void {
  const glyphs = [...text].map((ch) => DIGITS[ch]).filter((g): g is string[] => g !== undefined);
  const w = (glyphs.length * 6 + 1) * scale;
  const h = 9 * scale;
  for (let py = y; py < Math.min(frame.height, y + h); py++) {
    for (let px = x; px < Math.min(frame.width, x + w); px++) {
      const gx = Math.floor((px - x) / scale) - 1;
      const gy = Math.floor((py - y) / scale) - 1;
      const gi = Math.floor(gx / 6);
      const on = gx >= 0 && gy >= 0 && gy < 7 && gi < glyphs.length && gx % 6 < 5 && glyphs[gi][gy][gx % 6] === '1';
      const o = 3 * (py * frame.width + px);
      const v = on ? 255 : 0;
      frame.data[o] = v;
      frame.data[o + 1] = v;
      frame.data[o + 2] = v;
    }
  }
}

async function tile(frame: Frame | GrayFrame, height: number): Promise<{ data: Buffer; width: number }> {
  const channels = frame.data.length === frame.width * frame.height ? 1 : 3;
  const { data, info } = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels } })
    .resize({ height, width: 2 * Math.round((frame.width * height) / frame.height / 2), fit: 'fill' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new ReshootError(`showVideo: expected RGB after resize, got ${info.channels} channels`);
  return { data, width: info.width };
}

/** The side-by-side frames (tiles, 4 px gap, frame number drawn top-left of each tile) and each tile's width. */
export async function sideBySideFrames(clips: VideoClip[], opts: VideoOptions = {}): Promise<{ frames: Frame[]; widths: number[] }> {
  if (clips.length === 0) throw new ReshootError('showVideo: no clips');
  const n = clips[0].frames.length;
  if (n === 0) throw new ReshootError(`showVideo: clip "${clips[0].label}" has no frames`);
  for (const c of clips) if (c.frames.length !== n) throw new ReshootError(`showVideo: clip "${c.label}" has ${c.frames.length} frames, "${clips[0].label}" has ${n}`);
  const height = 2 * Math.round((opts.height ?? 240) / 2);
  const gap = 4;
  const first = opts.firstIndex ?? 0;
  const frames: Frame[] = [];
  let widths: number[] = [];
  for (let t = 0; t < n; t++) {
    const tiles = await Promise.all(clips.map((c) => tile(c.frames[t], height)));
    widths = tiles.map((x) => x.width);
    const width = widths.reduce((a, b) => a + b, 0) + gap * (tiles.length - 1);
    const out: Frame = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
    let left = 0;
    for (const tl of tiles) {
      for (let y = 0; y < height; y++) out.data.set(tl.data.subarray(y * tl.width * 3, (y + 1) * tl.width * 3), (y * width + left) * 3);
      drawNumber(out, String(first + t), left + 4, 4, Math.max(1, Math.round(height / 120)));
      left += tl.width + gap;
    }
    frames.push(out);
  }
  return { frames, widths };
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

/** The HTML of a side-by-side clip: labels, an inline H.264 mp4, frame-step buttons, caption. */
export async function videoHtml(clips: VideoClip[], opts: VideoOptions = {}): Promise<string> {
  const fps = opts.fps ?? 10;
  if (!(fps > 0)) throw new ReshootError(`showVideo: fps must be positive, got ${fps}`);
  const { frames, widths } = await sideBySideFrames(clips, opts);
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-video-'));
  let mp4: Buffer;
  try {
    const file = join(dir, 'clip.mp4');
    await encodeFrames(frames, file, { fps: { num: Math.round(fps * 1000), den: 1000 }, crf: opts.crf ?? 28, preset: 'veryfast' });
    mp4 = readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const id = `vid-${randomBytes(6).toString('hex')}`;
  const first = opts.firstIndex ?? 0;
  const labels = clips.map((c, i) => `<span style="display:inline-block;width:${widths[i]}px;margin-right:4px;font:13px sans-serif;text-align:center">${escapeHtml(c.label)}</span>`).join('');
  // Step by one frame: seek to the middle of the frame's display interval so the browser shows exactly that frame.
  const step = (d: number) => `(function(v){v.pause();var f=Math.round(v.currentTime*${fps}-0.5)+(${d});f=Math.max(0,Math.min(${frames.length - 1},f));v.currentTime=(f+0.5)/${fps};})(document.getElementById('${id}'))`;
  return (
    `<div class="reshoot-video" style="margin:6px 0"><div style="white-space:nowrap">${labels}</div>` +
    `<video id="${id}" controls loop muted playsinline width="${frames[0].width}" height="${frames[0].height}" src="data:video/mp4;base64,${mp4.toString('base64')}"></video>` +
    `<div style="font:12px sans-serif;color:#444"><button onclick="${step(-1)}">&#9664; frame</button> <button onclick="${step(1)}">frame &#9654;</button> ` +
    `frames ${first}-${first + frames.length - 1} at ${fps} fps; the number in each tile is the source frame index.` +
    `${opts.caption ? ` ${escapeHtml(opts.caption)}` : ''}</div></div>`
  );
}
