/**
 * Foot lock inside the pipeline: the generated person's planted feet follow
 * the driving (input) person's planted feet.
 *
 * The input is real footage, re-shaken back under the real camera and shown
 * over the real scene, so "where a planted foot belongs" is where the real
 * foot is. `planFootLock` (lock.ts) holds the *ankle track it is given* still;
 * fed the driving pose it "corrects" the real person's keypoint jitter and, by
 * chaining anchors over a clip, drifts the layer by many pixels (measured:
 * passthrough identity 31.4 dB with it, 39.1 dB without, on vtest with shake).
 *
 * Here the correction is measured, per frame, from the offset d between the
 * generated ankle and the driving ankle, both detected by the same pose model
 * in the same crop (so detector bias cancels and an unchanged person gives
 * exactly zero). Only planted feet count (contacts from the driving pose), and
 * only the CHANGE of d since the foot touched down: a slide is the generated
 * foot moving while the real one stands, whereas a constant offset is the
 * detector reading a new look differently (measured: a correctly placed,
 * recoloured walker read 5-8 px off, and locking on d itself moved him by
 * that). A slide is the median of the last three readings; changes inside a
 * dead band (keypoint noise) are dropped, the rest shrunk by it; the correction is smoothed over frames and released when no
 * foot is planted. Translation only, `strength` of it applied (0.7: the
 * seed's 70/30).
 */
import type { PoseFrame } from '../pose/types.js';
import type { Frame } from '../video/types.js';
import { IDENTITY, type Mat2x3 } from '../geometry/index.js';
import type { Contacts, Point } from './contacts.js';

export interface FollowLockOptions {
  /** Share of the correction applied, 0..1. Default 0.7. */
  strength?: number;
  /**
   * Dead band: offsets up to max(deadbandPx, deadbandBody x body height) are keypoint noise. Defaults 1.5 px
   * and 0.05: MoveNet's ankle error against hand labels of real walkers is 2.3-3.4 px median and 4.3-5.8 px
   * p90 on people 62-145 px tall (footlock/README.md), and a generated person with a new look is detected
   * with at least that error (measured: a correctly placed recoloured walker read 3-6 px off).
   */
  deadbandPx?: number;
  deadbandBody?: number;
  /** Weight of the previous correction in the per-frame smoothing (one pole), 0..1. Default 0.5. */
  smoothing?: number;
  /** Per frame without a planted foot the correction shrinks by this factor. Default 0.5. */
  release?: number;
  /** An ankle within this fraction of the frame's size from its border is not trusted (cut-off feet, close-ups). Default 0.02. */
  borderMargin?: number;
}

export const DEFAULT_FOLLOW_OPTIONS: Required<FollowLockOptions> = {
  strength: 0.7,
  deadbandPx: 1.5,
  deadbandBody: 0.05,
  smoothing: 0.5,
  release: 0.5,
  borderMargin: 0.02,
};

const ANKLES = [15, 16] as const;

/** Generated-minus-driving offset of each ankle in one frame (null: not measurable). */
export interface AnkleOffsets {
  left: Point | null;
  right: Point | null;
}

/**
 * Offsets of the generated ankles from the driving ones: `detect` runs the pose
 * model on a frame (same crop for both frames, chosen by the caller).
 */
export async function measureAnkleOffsets(
  detect: (frame: Frame) => Promise<PoseFrame>,
  driving: Frame,
  generated: Frame,
  opts: { borderMargin?: number } = {},
): Promise<AnkleOffsets> {
  const [a, b] = [await detect(driving), await detect(generated)];
  const margin = opts.borderMargin ?? DEFAULT_FOLLOW_OPTIONS.borderMargin;
  const inside = (p: { x: number; y: number }) =>
    p.x >= margin * driving.width && p.x <= (1 - margin) * driving.width && p.y >= margin * driving.height && p.y <= (1 - margin) * driving.height;
  const offset = (k: number): Point | null => {
    const p = a.keypoints[k], q = b.keypoints[k];
    if (!a.found || !b.found || !p?.valid || !q?.valid || !inside(p) || !inside(q)) return null;
    return { x: q.x - p.x, y: q.y - p.y };
  };
  return { left: offset(ANKLES[0]), right: offset(ANKLES[1]) };
}

/** Per-frame correction (a translation of the person layer) from the measured offsets. */
export class FollowDrivingLock {
  private readonly o: Required<FollowLockOptions>;
  private cx = 0;
  private cy = 0;
  /** Per foot: d at touch-down of the current contact (null: not planted, or not measured yet). */
  private landed: [Point | null, Point | null] = [null, null];
  /** Per foot: the slides measured in the current contact, latest last (the median of the last 3 is used). */
  private slides: [Point[], Point[]] = [[], []];

  constructor(private readonly contacts: Contacts, options: FollowLockOptions = {}) {
    this.o = { ...DEFAULT_FOLLOW_OPTIONS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (this.o as Record<string, number>)[k] = v as number;
  }

  /** Whether frame t has a planted foot (only then is measuring worth it). */
  planted(t: number): boolean {
    return this.contacts.feet.left.contact[t] === true || this.contacts.feet.right.contact[t] === true;
  }

  /** Forget the running correction (a new segment or shot). */
  reset(): void {
    this.cx = 0;
    this.cy = 0;
    this.landed = [null, null];
    this.slides = [[], []];
  }

  /**
   * The full-strength target at t: minus the planted feet's mean change of offset since touch-down, dead
   * band applied. Call once per frame, in order (it tracks touch-downs).
   */
  target(t: number, offsets: AnkleOffsets): Point | null {
    const slides: Point[] = [];
    [
      { c: this.contacts.feet.left.contact[t], d: offsets.left },
      { c: this.contacts.feet.right.contact[t], d: offsets.right },
    ].forEach((f, i) => {
      if (f.c !== true) {
        this.landed[i] = null;
        this.slides[i] = [];
        return;
      }
      if (!f.d) return;
      this.landed[i] ??= f.d;
      const history = this.slides[i];
      history.push({ x: f.d.x - this.landed[i]!.x, y: f.d.y - this.landed[i]!.y });
      if (history.length > 3) history.shift();
      // The median of the last three readings: one misread ankle (a generated look the detector reads
      // badly) is not a slide. Until three readings exist the foot asks for nothing.
      slides.push(history.length < 3 ? { x: 0, y: 0 } : { x: median3(history.map((p) => p.x)), y: median3(history.map((p) => p.y)) });
    });
    const feet = slides.map((d) => ({ d }));
    if (!feet.length) return null;
    const mx = feet.reduce((s, f) => s + f.d!.x, 0) / feet.length;
    const my = feet.reduce((s, f) => s + f.d!.y, 0) / feet.length;
    const h = this.contacts.bodyHeight[t];
    const band = Math.max(this.o.deadbandPx, h && h > 0 ? this.o.deadbandBody * h : 0);
    const len = Math.hypot(mx, my);
    if (len <= band) return { x: 0, y: 0 };
    const k = (len - band) / len;
    return { x: -mx * k, y: -my * k };
  }

  /** The correction to apply at t (strength included). Call once per frame, in order. */
  step(t: number, offsets: AnkleOffsets): Mat2x3 {
    const goal = this.target(t, offsets);
    if (goal) {
      const s = this.o.smoothing;
      this.cx = s * this.cx + (1 - s) * goal.x;
      this.cy = s * this.cy + (1 - s) * goal.y;
    } else {
      this.cx *= this.o.release;
      this.cy *= this.o.release;
    }
    if (Math.hypot(this.cx, this.cy) < 0.05) {
      this.cx = 0;
      this.cy = 0;
    }
    const k = this.o.strength;
    return this.cx === 0 && this.cy === 0 ? [...IDENTITY] : [1, 0, k * this.cx, 0, 1, k * this.cy];
  }
}

function median3(v: number[]): number {
  return Math.max(Math.min(v[0], v[1]), Math.min(Math.max(v[0], v[1]), v[2]));
}
