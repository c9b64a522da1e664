import { ReshootError } from '../util/errors.js';
import { deriveSeed, gaussian, mulberry32 } from '../util/rng.js';
import type { Frame, GrayFrame } from '../video/types.js';

/**
 * Ground truth for plate measurements: a known background (a real photo) with
 * a synthetic opaque person pasted over it, so the true background of every
 * frame and the true person mask are known exactly.
 */
export interface PlateScene {
  frames: Frame[];
  /** Exact person alpha per frame (0 or 255). */
  masks: GrayFrame[];
  /** True background of each frame (lighting applied, no noise, no person). */
  truth: Frame[];
  /** 255 where the person covers the pixel in at least one frame. */
  everCovered: GrayFrame;
  /** 255 where the person covers the pixel in every frame (no clean observation exists). */
  alwaysCovered: GrayFrame;
}

export interface PlateSceneOptions {
  /** The background photo at the clip size, or one background per frame (e.g. a shaky camera over a photo). */
  background: Frame | Frame[];
  /** Texture for the person (e.g. basketball1.png), any size: stretched over the person's box. */
  texture: Frame;
  frames: number;
  /**
   * How the person moves: 'cross' walks from 15% to 85% of the width (every
   * pixel is seen clean at some time), 'sway' stays near the centre swaying by
   * 3% of the width (its core is never seen: inpainting is needed).
   */
  path?: 'cross' | 'sway';
  /** Person height as a share of the frame height. Default 0.7. */
  personHeight?: number;
  /** Global brightness gain goes linearly from 1 to 1 + lighting over the clip. Default 0. */
  lighting?: number;
  /** Std of the per-pixel sensor noise added to every frame, 8-bit levels. Default 2. */
  noise?: number;
  seed?: number;
}

function segDist2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const vx = bx - ax, vy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy || 1)));
  const dx = px - (ax + t * vx), dy = py - (ay + t * vy);
  return dx * dx + dy * dy;
}

/**
 * True where a walking silhouette of height h, centred on x = cx with its
 * head at y = top, covers (x, y): head and torso ellipses, capsule arms and
 * legs that swing with `phase`.
 */
export function silhouetteCovers(x: number, y: number, cx: number, top: number, h: number, phase: number): boolean {
  const u = (x - cx) / h, v = (y - top) / h;
  if (v < 0 || v > 1 || Math.abs(u) > 0.3) return false;
  const e = (ux: number, uy: number, rx: number, ry: number) => ((u - ux) / rx) ** 2 + ((v - uy) / ry) ** 2 <= 1;
  if (e(0, 0.09, 0.06, 0.08) || e(0, 0.36, 0.12, 0.2)) return true;
  const swing = 0.08 * Math.sin(phase);
  const r2arm = 0.03 ** 2, r2leg = 0.045 ** 2;
  if (segDist2(u, v, -0.12, 0.2, -0.17 - swing, 0.52) <= r2arm || segDist2(u, v, 0.12, 0.2, 0.17 + swing, 0.52) <= r2arm) return true;
  return segDist2(u, v, -0.05, 0.5, -0.06 + swing, 0.96) <= r2leg || segDist2(u, v, 0.05, 0.5, 0.06 - swing, 0.96) <= r2leg;
}

export function makePlateScene(opts: PlateSceneOptions): PlateScene {
  const tex = opts.texture;
  const bgs = Array.isArray(opts.background) ? opts.background : [opts.background];
  const W = bgs[0].width, H = bgs[0].height;
  const n = opts.frames;
  if (!(Number.isInteger(n) && n >= 1)) throw new ReshootError(`scene: frames must be >= 1 (got ${n})`);
  if (Array.isArray(opts.background) && bgs.length < n) throw new ReshootError(`scene: ${bgs.length} backgrounds for ${n} frames`);
  const path = opts.path ?? 'cross';
  const h = Math.round((opts.personHeight ?? 0.7) * H);
  const top = Math.round(H * 0.92) - h;
  const lighting = opts.lighting ?? 0;
  const noiseStd = opts.noise ?? 2;
  const rnd = gaussian(mulberry32(deriveSeed(opts.seed ?? 7, 0xb9)));
  const frames: Frame[] = [], masks: GrayFrame[] = [], truth: Frame[] = [];
  const ever = new Uint8Array(W * H), always = new Uint8Array(W * H).fill(255);
  const boxW = 0.6 * h;
  for (let t = 0; t < n; t++) {
    const s = n === 1 ? 0.5 : t / (n - 1);
    const cx = path === 'cross' ? W * (0.15 + 0.7 * s) : W * (0.5 + 0.03 * Math.sin(2 * Math.PI * s));
    const phase = 2 * Math.PI * (t / 12);
    const gain = 1 + lighting * s;
    const bg = bgs[Array.isArray(opts.background) ? t : 0];
    const tr = new Uint8Array(W * H * 3);
    for (let i = 0; i < tr.length; i++) tr[i] = Math.min(255, Math.round(bg.data[i] * gain));
    const img = new Uint8Array(W * H * 3);
    const mask = new Uint8Array(W * H);
    // The silhouette lies within |u| <= 0.3 h of its centre line.
    const x0 = Math.floor(cx - 0.3 * h) - 1, x1 = Math.ceil(cx + 0.3 * h) + 1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const p = y * W + x;
        let r = tr[p * 3], g = tr[p * 3 + 1], b = tr[p * 3 + 2];
        if (x >= x0 && x <= x1 && y >= top && silhouetteCovers(x + 0.5, y + 0.5, cx, top, h, phase)) {
          mask[p] = 255;
          // Texture in the person's own frame, so it moves with the person.
          const tx = Math.min(tex.width - 1, Math.max(0, Math.floor(((x - cx + boxW / 2) / boxW) * tex.width)));
          const ty = Math.min(tex.height - 1, Math.max(0, Math.floor(((y - top) / h) * tex.height)));
          const q = (ty * tex.width + tx) * 3;
          r = tex.data[q];
          g = tex.data[q + 1];
          b = tex.data[q + 2];
        }
        if (noiseStd > 0) {
          r += noiseStd * rnd();
          g += noiseStd * rnd();
          b += noiseStd * rnd();
        }
        img[p * 3] = r <= 0 ? 0 : r >= 255 ? 255 : Math.round(r);
        img[p * 3 + 1] = g <= 0 ? 0 : g >= 255 ? 255 : Math.round(g);
        img[p * 3 + 2] = b <= 0 ? 0 : b >= 255 ? 255 : Math.round(b);
      }
    }
    for (let p = 0; p < W * H; p++) {
      if (mask[p]) ever[p] = 255;
      else always[p] = 0;
    }
    frames.push({ width: W, height: H, data: img });
    masks.push({ width: W, height: H, data: mask });
    truth.push({ width: W, height: H, data: tr });
  }
  return { frames, masks, truth, everCovered: { width: W, height: H, data: ever }, alwaysCovered: { width: W, height: H, data: always } };
}
