/**
 * TEMPORARY stub (lead): replaced by the stab branch's real cut detector on merge.
 * Mean absolute difference of 32x18 luma thumbnails against the local median.
 */
import type { Frame, GrayFrame } from '../video/types.js';

export interface Shot {
  start: number;
  end: number;
}
export interface ShotOptions {
  threshold?: number;
}

export class ShotDetector {
  private prev: Float32Array | null = null;
  private scores: number[] = [];
  constructor(private readonly opts: ShotOptions = {}) {}
  push(frame: Frame | GrayFrame): void {
    const ch = frame.data.length / (frame.width * frame.height);
    const w = 32;
    const h = 18;
    const t = new Float32Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const sx = Math.floor(((x + 0.5) * frame.width) / w);
        const sy = Math.floor(((y + 0.5) * frame.height) / h);
        const i = (sy * frame.width + sx) * ch;
        t[y * w + x] = ch === 1 ? frame.data[i] : 0.299 * frame.data[i] + 0.587 * frame.data[i + 1] + 0.114 * frame.data[i + 2];
      }
    if (this.prev) {
      let s = 0;
      for (let i = 0; i < t.length; i++) s += Math.abs(t[i] - this.prev[i]);
      this.scores.push(s / t.length);
    } else this.scores.push(0);
    this.prev = t;
  }
  result(): { shots: Shot[]; cuts: number[]; scores: number[] } {
    const thr = this.opts.threshold ?? 30;
    const cuts = this.scores.map((s, i) => (i > 0 && s > thr ? i : -1)).filter((i) => i > 0);
    const starts = [0, ...cuts];
    const shots = starts.map((s, k) => ({ start: s, end: k + 1 < starts.length ? starts[k + 1] : this.scores.length }));
    return { shots, cuts, scores: this.scores };
  }
}
