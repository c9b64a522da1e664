/**
 * Example stage (issue 18): inverts the colours of a frame. It exists to show
 * what adding a per-frame stage touches; it is not a useful effect.
 */
import type { Frame } from '../video/types.js';

/** 255 - v for every byte (RGB or gray). */
export function invertFrame(f: Frame): Frame {
  return { width: f.width, height: f.height, data: f.data.map((v) => 255 - v) };
}
