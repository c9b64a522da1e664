import { ReshootError } from '../util/errors.js';
import type { Frame } from '../video/types.js';

/**
 * Per-pixel, per-channel median over a changing set of frames where each frame
 * only contributes the pixels marked clean (person mask off).
 *
 * Every channel of every pixel keeps its clean samples in a small sorted array
 * (capacity = the most frames ever held at once), so adding or removing a frame
 * costs O(capacity) per pixel and the median is a lookup. That makes a sliding
 * window as cheap per step as one insertion plus one removal, instead of a full
 * median per frame. Memory: width * height * 3 * capacity bytes.
 */
export class MaskedMedian {
  readonly width: number;
  readonly height: number;
  readonly capacity: number;
  /** Clean samples per pixel (the same for its 3 channels). */
  readonly count: Uint16Array;
  private readonly sorted: Uint8Array;

  constructor(width: number, height: number, capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= 65535)) {
      throw new ReshootError(`plate: sample capacity must be 1..65535 frames (got ${capacity})`);
    }
    this.width = width;
    this.height = height;
    this.capacity = capacity;
    this.count = new Uint16Array(width * height);
    this.sorted = new Uint8Array(width * height * 3 * capacity);
  }

  private check(frame: Frame, clean: Uint8Array | null): void {
    if (frame.width !== this.width || frame.height !== this.height || frame.data.length !== this.width * this.height * 3) {
      throw new ReshootError(`plate: frame is ${frame.width}x${frame.height}, expected ${this.width}x${this.height} RGB`);
    }
    if (clean && clean.length !== this.width * this.height) throw new ReshootError('plate: clean mask has the wrong size');
  }

  /** Adds the clean pixels of `frame` (clean[p] !== 0; null = all clean). */
  add(frame: Frame, clean: Uint8Array | null): void {
    this.check(frame, clean);
    const { sorted, count, capacity } = this;
    const data = frame.data;
    const n = this.width * this.height;
    for (let p = 0; p < n; p++) {
      if (clean && clean[p] === 0) continue;
      const k = count[p];
      if (k >= capacity) throw new ReshootError(`plate: more than ${capacity} samples at one pixel`);
      for (let c = 0; c < 3; c++) {
        const base = (p * 3 + c) * capacity;
        const v = data[p * 3 + c];
        let j = base + k;
        while (j > base && sorted[j - 1] > v) {
          sorted[j] = sorted[j - 1];
          j--;
        }
        sorted[j] = v;
      }
      count[p] = k + 1;
    }
  }

  /** Removes a frame added before with the same clean mask. */
  remove(frame: Frame, clean: Uint8Array | null): void {
    this.check(frame, clean);
    const { sorted, count, capacity } = this;
    const data = frame.data;
    const n = this.width * this.height;
    for (let p = 0; p < n; p++) {
      if (clean && clean[p] === 0) continue;
      const k = count[p];
      if (k === 0) throw new ReshootError('plate: removing a sample that was never added');
      for (let c = 0; c < 3; c++) {
        const base = (p * 3 + c) * capacity;
        const v = data[p * 3 + c];
        let j = base;
        const end = base + k;
        while (j < end && sorted[j] !== v) j++;
        if (j === end) throw new ReshootError('plate: removing a sample that was never added');
        for (; j < end - 1; j++) sorted[j] = sorted[j + 1];
      }
      count[p] = k - 1;
    }
  }

  /**
   * The median image (mean of the two middle samples for an even count, rounded)
   * and the per-pixel spread: the largest interquartile range over the three
   * channels. Pixels without samples get 0 in both.
   */
  median(): { image: Frame; spread: Uint8Array } {
    const { sorted, count, capacity, width, height } = this;
    const n = width * height;
    const out = new Uint8Array(n * 3);
    const spread = new Uint8Array(n);
    // Sample positions by count, computed once: median pair and quartiles.
    const lo = new Int32Array(capacity + 1), hi = new Int32Array(capacity + 1);
    const q1 = new Int32Array(capacity + 1), q3 = new Int32Array(capacity + 1);
    for (let k = 1; k <= capacity; k++) {
      lo[k] = (k - 1) >> 1;
      hi[k] = k >> 1;
      q1[k] = Math.floor((k - 1) / 4);
      q3[k] = Math.ceil((3 * (k - 1)) / 4);
    }
    const cap3 = capacity * 3;
    for (let p = 0; p < n; p++) {
      const k = count[p];
      if (k === 0) continue;
      const b0 = p * cap3, b1 = b0 + capacity, b2 = b1 + capacity;
      const l = lo[k], h = hi[k], a = q1[k], z = q3[k];
      const o = p * 3;
      out[o] = (sorted[b0 + l] + sorted[b0 + h] + 1) >> 1;
      out[o + 1] = (sorted[b1 + l] + sorted[b1 + h] + 1) >> 1;
      out[o + 2] = (sorted[b2 + l] + sorted[b2 + h] + 1) >> 1;
      let s = sorted[b0 + z] - sorted[b0 + a];
      const s1 = sorted[b1 + z] - sorted[b1 + a];
      const s2 = sorted[b2 + z] - sorted[b2 + a];
      if (s1 > s) s = s1;
      if (s2 > s) s = s2;
      spread[p] = s;
    }
    return { image: { width, height, data: out }, spread };
  }
}
