/**
 * Motion energy of a video without poses: mean residual optical-flow
 * magnitude per frame at a low resolution. "Residual" = after removing the
 * median flow vector (the dominant, usually camera, translation), so a pan
 * does not read as subject motion.
 */
import { denseFlow, type FlowField } from '../flow/index.js';
import { decodeFrames, probeVideo, type GrayFrame, type ProgressFn } from '../video/index.js';

function median(xs: Float32Array | number[]): number {
  const s = Float32Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Mean |flow - median(flow)| of one flow field, in its own pixels. */
export function residualFlowMagnitude(flow: FlowField): number {
  const n = flow.width * flow.height;
  const u = new Float32Array(n), v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    u[i] = flow.data[2 * i];
    v[i] = flow.data[2 * i + 1];
  }
  const mu = median(u), mv = median(v);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.hypot(u[i] - mu, v[i] - mv);
  return s / n;
}

/** Motion energy of in-memory gray frames (any size): one value per frame, frame 0 copies frame 1. */
export async function motionEnergyOfFrames(frames: GrayFrame[]): Promise<number[]> {
  const e: number[] = [0];
  for (let i = 1; i < frames.length; i++) e.push(residualFlowMagnitude(await denseFlow(frames[i - 1], frames[i])));
  if (e.length > 1) e[0] = e[1];
  return e;
}

export interface FlowEnergyOptions {
  /** Width the flow runs at (height keeps the aspect). Default 160. */
  width?: number;
  onProgress?: ProgressFn;
}

/**
 * Motion energy of a video file, streaming (two small gray frames in memory).
 * Values are residual flow magnitudes in pixels of the FULL frame per frame.
 */
export async function flowMotionEnergy(path: string, opts: FlowEnergyOptions = {}): Promise<{ energy: number[]; frameCount: number; width: number; height: number }> {
  const info = await probeVideo(path);
  const w = Math.min(info.width, opts.width ?? 160);
  const h = Math.max(8, Math.round((info.height * w) / info.width / 2) * 2);
  const toFull = info.width / w;
  const energy: number[] = [];
  let prev: GrayFrame | undefined;
  for await (const f of decodeFrames(path, { info, gray: true, scale: { width: w, height: h } })) {
    energy.push(prev ? residualFlowMagnitude(await denseFlow(prev, f)) * toFull : 0);
    prev = f;
    opts.onProgress?.(energy.length, info.frameCount);
  }
  if (energy.length > 1) energy[0] = energy[1];
  return { energy, frameCount: energy.length, width: info.width, height: info.height };
}
