/**
 * Skeleton overlays drawn straight into RGB buffers: a tiny rasteriser (filled
 * discs stamped along a segment) is enough for lines a few pixels wide and
 * keeps OpenCV's Mat round trip out of the per-frame path.
 */
import type { Frame } from '../video/types.js';
import { COCO17_EDGES, LEFT_ANKLE, RIGHT_ANKLE, type PoseFrame } from './types.js';

export type Rgb = readonly [number, number, number];

/** Fills the disc of radius r (pixels) centred on (cx, cy) (pixel-centre coordinates), clipped to the frame. */
export function fillCircle(frame: Frame, cx: number, cy: number, r: number, color: Rgb): void {
  const { width: w, height: h, data } = frame;
  const x0 = Math.max(0, Math.ceil(cx - r));
  const x1 = Math.min(w - 1, Math.floor(cx + r));
  const y0 = Math.max(0, Math.ceil(cy - r));
  const y1 = Math.min(h - 1, Math.floor(cy + r));
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    const dy = y - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x - cx;
      if (dx * dx + dy * dy > r2) continue;
      const o = (y * w + x) * 3;
      data[o] = color[0];
      data[o + 1] = color[1];
      data[o + 2] = color[2];
    }
  }
}

/**
 * Draws a segment of the given thickness: every pixel whose centre lies within
 * thickness/2 of the segment (a capsule) is set.
 */
export function drawLine(frame: Frame, xa: number, ya: number, xb: number, yb: number, thickness: number, color: Rgb): void {
  const { width: w, height: h, data } = frame;
  const r = Math.max(thickness / 2, 0.5);
  const x0 = Math.max(0, Math.ceil(Math.min(xa, xb) - r));
  const x1 = Math.min(w - 1, Math.floor(Math.max(xa, xb) + r));
  const y0 = Math.max(0, Math.ceil(Math.min(ya, yb) - r));
  const y1 = Math.min(h - 1, Math.floor(Math.max(ya, yb) + r));
  const dx = xb - xa;
  const dy = yb - ya;
  const len2 = dx * dx + dy * dy;
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      // Distance from the pixel centre to the closest point of the segment.
      let t = len2 > 0 ? ((x - xa) * dx + (y - ya) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = xa + t * dx - x;
      const ey = ya + t * dy - y;
      if (ex * ex + ey * ey > r2) continue;
      const o = (y * w + x) * 3;
      data[o] = color[0];
      data[o + 1] = color[1];
      data[o + 2] = color[2];
    }
  }
}

export interface OverlayStyle {
  /** Line width in pixels; default scales with the frame (0.5% of the longer side, at least 2). */
  thickness?: number;
  left?: Rgb;
  right?: Rgb;
  center?: Rgb;
  ankle?: Rgb;
}

// COCO-17: odd indices from 1 are left-side points, even from 2 right-side.
function side(i: number): 'left' | 'right' | 'center' {
  return i === 0 ? 'center' : i % 2 === 1 ? 'left' : 'right';
}

/**
 * A copy of `frame` with the pose drawn: edges between valid points (left side
 * cyan, right side orange, across the body white), valid joints as dots, and
 * the ankles as larger magenta discs with a dark ring. Invalid points are not drawn.
 */
export function drawPose(frame: Frame, pose: PoseFrame, style: OverlayStyle = {}): Frame {
  const out: Frame = { width: frame.width, height: frame.height, data: Uint8Array.from(frame.data) };
  if (!pose.found) return out;
  const t = style.thickness ?? Math.max(2, Math.round(Math.max(frame.width, frame.height) * 0.005));
  const colors = { left: style.left ?? [0, 220, 255], right: style.right ?? [255, 140, 0], center: style.center ?? [255, 255, 255] } as const;
  const ankle = style.ankle ?? [255, 0, 255];
  const kp = pose.keypoints;
  for (const [a, b] of COCO17_EDGES) {
    if (!kp[a].valid || !kp[b].valid) continue;
    const sa = side(a);
    const color = sa === side(b) ? colors[sa] : colors.center;
    drawLine(out, kp[a].x, kp[a].y, kp[b].x, kp[b].y, t, color);
  }
  for (let i = 0; i < kp.length; i++) {
    if (!kp[i].valid || i === LEFT_ANKLE || i === RIGHT_ANKLE) continue;
    fillCircle(out, kp[i].x, kp[i].y, t, colors[side(i)]);
  }
  for (const i of [LEFT_ANKLE, RIGHT_ANKLE]) {
    if (!kp[i].valid) continue;
    fillCircle(out, kp[i].x, kp[i].y, t * 2.5, [20, 20, 20]);
    fillCircle(out, kp[i].x, kp[i].y, t * 1.8, ankle);
  }
  return out;
}
