/**
 * Joining separately generated segments: cross-fade over the frames two
 * neighbouring segments share (pixel space, final frames), optionally after
 * matching the incoming segment's colours to the outgoing one over that
 * overlap. Streaming: only one overlap's frames are held.
 */
import { decodeFrames, encodeFrames, probeVideo, type Frame, type ProgressFn } from '../video/index.js';
import { ReshootError } from '../util/errors.js';
import type { Segment, SegmentPlan } from './plan.js';
import { validatePlan } from './plan.js';

export type RampKind = 'linear' | 'cosine' | 'triangular';
export const RAMP_KINDS: readonly RampKind[] = ['linear', 'cosine', 'triangular'];

/**
 * Weight of the INCOMING segment at overlap frame j (0-based) of the overlap
 * between `outgoing` and `incoming`; the outgoing one gets 1 - weight.
 * - linear: (j + 1) / (overlap + 1)  (never exactly 0 or 1 inside the overlap)
 * - cosine: (1 - cos(pi (j + 1) / (overlap + 1))) / 2  (zero slope at both ends)
 * - triangular: the pyramid weights of context-window schedulers (e.g.
 *   AnimateDiff's), each segment weighted min(frames from its start + 1,
 *   frames to its end) over its whole length and normalised where they
 *   overlap. When the overlap is at most half of both segments this equals
 *   linear exactly; it differs only for overlaps longer than that.
 */
export function rampWeight(kind: RampKind, j: number, overlap: number, outgoing?: Pick<Segment, 'start' | 'end'>, incoming?: Pick<Segment, 'start' | 'end'>): number {
  const x = (j + 1) / (overlap + 1);
  switch (kind) {
    case 'linear':
      return x;
    case 'cosine':
      return (1 - Math.cos(Math.PI * x)) / 2;
    case 'triangular': {
      if (!outgoing || !incoming) throw new ReshootError('triangular ramp needs the two segments');
      const t = incoming.start + j;
      const pin = Math.min(t - incoming.start + 1, incoming.end - t);
      const pout = Math.min(t - outgoing.start + 1, outgoing.end - t);
      return pin / (pin + pout);
    }
    default:
      throw new ReshootError(`unknown ramp "${String(kind)}" (use ${RAMP_KINDS.join(', ')})`);
  }
}

/** Incoming weights over each overlap of a plan: weights[k] for the seam between segments k and k+1. */
export function planRampWeights(plan: SegmentPlan, kind: RampKind): number[][] {
  return plan.segments.slice(0, -1).map((s, k) => Array.from({ length: s.overlap }, (_, j) => rampWeight(kind, j, s.overlap, s, plan.segments[k + 1])));
}

/** Per-channel mean and standard deviation (8-bit levels) over a set of frames. */
export interface ColorStats {
  mean: [number, number, number];
  std: [number, number, number];
}

export function colorStats(frames: Frame[]): ColorStats {
  const s = [0, 0, 0], q = [0, 0, 0];
  let n = 0;
  for (const f of frames) {
    const d = f.data;
    for (let i = 0; i < d.length; i += 3) {
      for (let c = 0; c < 3; c++) {
        s[c] += d[i + c];
        q[c] += d[i + c] * d[i + c];
      }
    }
    n += d.length / 3;
  }
  if (n === 0) throw new ReshootError('colour statistics of no frames');
  const mean = s.map((v) => v / n) as [number, number, number];
  const std = q.map((v, c) => Math.sqrt(Math.max(0, v / n - mean[c] * mean[c]))) as [number, number, number];
  return { mean, std };
}

/** Per-channel affine colour map: out = gain * in + offset. */
export interface ColorTransfer {
  gain: [number, number, number];
  offset: [number, number, number];
}

export const IDENTITY_TRANSFER: Readonly<ColorTransfer> = Object.freeze({ gain: [1, 1, 1], offset: [0, 0, 0] }) as ColorTransfer;

/**
 * The map that gives `source` frames the per-channel mean and std of
 * `target` (Reinhard-style transfer in RGB). Gains are clamped to [0.5, 2] so
 * a flat overlap cannot blow the contrast up.
 */
export function colorTransfer(source: ColorStats, target: ColorStats): ColorTransfer {
  const gain = [0, 1, 2].map((c) => (source.std[c] > 1e-6 ? Math.min(2, Math.max(0.5, target.std[c] / source.std[c])) : 1)) as [number, number, number];
  const offset = [0, 1, 2].map((c) => target.mean[c] - gain[c] * source.mean[c]) as [number, number, number];
  return { gain, offset };
}

export function applyColorTransfer(frame: Frame, t: ColorTransfer): Frame {
  const d = frame.data, out = new Uint8Array(d.length);
  const [g0, g1, g2] = t.gain, [o0, o1, o2] = t.offset;
  for (let i = 0; i < d.length; i += 3) {
    out[i] = Math.min(255, Math.max(0, g0 * d[i] + o0 + 0.5));
    out[i + 1] = Math.min(255, Math.max(0, g1 * d[i + 1] + o1 + 0.5));
    out[i + 2] = Math.min(255, Math.max(0, g2 * d[i + 2] + o2 + 0.5));
  }
  return { width: frame.width, height: frame.height, data: out };
}

/** (1 - w) * a + w * b, rounded. */
export function crossFade(a: Frame, b: Frame, w: number): Frame {
  if (a.width !== b.width || a.height !== b.height) throw new ReshootError(`cannot cross-fade ${a.width}x${a.height} with ${b.width}x${b.height}`);
  const out = new Uint8Array(a.data.length);
  const A = a.data, B = b.data;
  for (let i = 0; i < out.length; i++) out[i] = A[i] + w * (B[i] - A[i]) + 0.5;
  return { width: a.width, height: a.height, data: out };
}

export interface BlendOptions {
  /** Default 'cosine'. */
  ramp?: RampKind;
  /** Match the incoming segment's colours to the outgoing one over the overlap. Default true. */
  colorMatch?: boolean;
  onProgress?: ProgressFn;
}

/** What blending did at each seam. */
export interface SeamInfo {
  /** Seam between segment `index` and `index + 1`. */
  index: number;
  /** First frame of the overlap in the joined video, and its length. */
  start: number;
  overlap: number;
  weights: number[];
  /** The colour map applied to the incoming segment (identity without colour matching). */
  transfer: ColorTransfer;
}

/**
 * Joins segment streams (segment k must deliver plan.segments[k].end - start
 * frames) into one stream of plan.frameCount frames. `seams` is filled as
 * the seams are passed.
 */
export async function* blendSegmentStreams(
  sources: AsyncIterable<Frame>[] | Iterable<Frame>[],
  plan: SegmentPlan,
  opts: BlendOptions = {},
  seams: SeamInfo[] = [],
): AsyncGenerator<Frame> {
  validatePlan(plan);
  const ramp = opts.ramp ?? 'cosine';
  if (!RAMP_KINDS.includes(ramp)) throw new ReshootError(`unknown ramp "${ramp}" (use ${RAMP_KINDS.join(', ')})`);
  const colorMatch = opts.colorMatch ?? true;
  if (sources.length !== plan.segments.length) {
    throw new ReshootError(`the plan has ${plan.segments.length} segments but ${sources.length} segment clips were given`);
  }
  let tail: Frame[] = [];
  let emitted = 0;
  let size: { width: number; height: number } | undefined;
  for (let k = 0; k < plan.segments.length; k++) {
    const seg = plan.segments[k];
    const expected = seg.end - seg.start;
    const prev = k > 0 ? plan.segments[k - 1] : undefined;
    const headLen = prev ? prev.overlap : 0;
    const head: Frame[] = [];
    let transfer: ColorTransfer = IDENTITY_TRANSFER;
    let got = 0;
    const held: Frame[] = [];
    const emitBody = function* (f: Frame): Generator<Frame> {
      // Hold back this segment's last `overlap` frames: they are blended with the next segment.
      held.push(f);
      if (held.length > seg.overlap) yield held.shift()!;
    };
    for await (const raw of sources[k] as AsyncIterable<Frame>) {
      got++;
      if (got > expected) throw new ReshootError(`segment ${k} has more than the ${expected} frames the plan gives it (${seg.start}..${seg.end - 1})`);
      size ??= { width: raw.width, height: raw.height };
      if (raw.width !== size.width || raw.height !== size.height) {
        throw new ReshootError(`segment ${k} is ${raw.width}x${raw.height} but segment 0 is ${size.width}x${size.height}`);
      }
      if (head.length < headLen) {
        head.push(raw);
        if (head.length < headLen) continue;
        // The whole incoming overlap is here: fit the colour map, then fade.
        if (colorMatch) transfer = colorTransfer(colorStats(head), colorStats(tail));
        const weights: number[] = [];
        for (let j = 0; j < headLen; j++) {
          const w = rampWeight(ramp, j, headLen, prev, seg);
          weights.push(w);
          const mixed = crossFade(tail[j], colorMatch ? applyColorTransfer(head[j], transfer) : head[j], w);
          for (const f of emitBody(mixed)) {
            emitted++;
            opts.onProgress?.(emitted, plan.frameCount);
            yield f;
          }
        }
        seams.push({ index: k - 1, start: seg.start, overlap: headLen, weights, transfer });
        continue;
      }
      if (k > 0 && headLen === 0 && got === 1) {
        seams.push({ index: k - 1, start: seg.start, overlap: 0, weights: [], transfer: IDENTITY_TRANSFER });
      }
      const f = transfer === IDENTITY_TRANSFER ? raw : applyColorTransfer(raw, transfer);
      for (const o of emitBody(f)) {
        emitted++;
        opts.onProgress?.(emitted, plan.frameCount);
        yield o;
      }
    }
    if (got !== expected) throw new ReshootError(`segment ${k} has ${got} frames but the plan gives it ${expected} (${seg.start}..${seg.end - 1})`);
    tail = held;
  }
  for (const f of tail) {
    emitted++;
    yield f;
  }
  if (emitted !== plan.frameCount) throw new Error(`blend produced ${emitted} frames for a plan of ${plan.frameCount}`);
}

/** In-memory join (tests, notebooks). */
export async function blendSegments(segments: Frame[][], plan: SegmentPlan, opts: BlendOptions = {}): Promise<{ frames: Frame[]; seams: SeamInfo[] }> {
  const seams: SeamInfo[] = [];
  const frames: Frame[] = [];
  for await (const f of blendSegmentStreams(segments, plan, opts, seams)) frames.push(f);
  return { frames, seams };
}

/** Joins segment video files into `outPath` (H.264 at the first segment's frame rate), streaming. */
export async function blendVideos(
  paths: string[],
  plan: SegmentPlan,
  outPath: string,
  opts: BlendOptions & { overwrite?: boolean } = {},
): Promise<{ frames: number; seams: SeamInfo[] }> {
  validatePlan(plan);
  if (paths.length !== plan.segments.length) throw new ReshootError(`the plan has ${plan.segments.length} segments but ${paths.length} clips were given`);
  const infos = await Promise.all(paths.map((p) => probeVideo(p)));
  infos.forEach((info, k) => {
    const want = plan.segments[k].end - plan.segments[k].start;
    if (info.frameCount !== want) throw new ReshootError(`${paths[k]} has ${info.frameCount} frames but segment ${k} of the plan needs ${want}`);
  });
  const seams: SeamInfo[] = [];
  // Decoders start lazily, one segment at a time.
  const sources = paths.map((p, k) => ({ [Symbol.asyncIterator]: () => decodeFrames(p, { info: infos[k] })[Symbol.asyncIterator]() }));
  const r = await encodeFrames(blendSegmentStreams(sources, plan, opts, seams), outPath, { fps: infos[0].fps, overwrite: opts.overwrite });
  return { frames: r.frames, seams };
}
