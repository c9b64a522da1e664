/**
 * `style:<name|folder>`: per-frame fast style transfer (Johnson et al. 2016)
 * on onnxruntime, a real generative network that runs on the CPU. Frames are
 * resized to a working resolution (`size` on the short side), stylised, and
 * scaled back, so the pipeline sees frames of its own size. With
 * `scope: 'subject'` only a crop around the segment's person masks is
 * stylised and pasted back through the (already feathered) mask.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { loadOpenCV, type CV } from '../../cv/opencv.js';
import { cudaAvailability } from '../../models/load.js';
import { ReshootError } from '../../util/errors.js';
import type { Frame, GrayFrame } from '../../video/types.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from '../types.js';
import { prepareStyleModel, type PreparedStyleModel } from './cache.js';
import { STYLE_INPUT, STYLE_OUTPUT } from './graph.js';
import { readStyleWeights, resolveStyleFolder } from './weights.js';

export type StyleScope = 'frame' | 'subject';

export interface StyleGeneratorOptions {
  /** Working resolution: the short side in pixels, a multiple of 4 (16..4096). Default 384. */
  size?: number;
  /** 'frame' (default) stylises the whole frame; 'subject' the crop around the segment's masks, pasted back through them. */
  scope?: StyleScope;
  /** onnxruntime intra-op threads. Default: os.availableParallelism(). */
  threads?: number;
  /** 'auto' (default): CUDA when this onnxruntime-node has it, else CPU. */
  provider?: 'auto' | 'cpu' | 'cuda';
}

export const STYLE_DEFAULT_SIZE = 384;

/** Fraction of the union box's longer side added on every side in 'subject' scope (plus 8 px), so strokes near the outline are not cut. */
export const SUBJECT_PAD = 0.1;

export interface StyleGenerator extends Generator {
  readonly kind: 'style';
  readonly size: number;
  readonly scope: StyleScope;
  readonly provider: 'cpu' | 'cuda';
  readonly threads: number;
  readonly weights: { name: string; folder: string; sha256: string };
  readonly model: Omit<PreparedStyleModel, 'bytes'>;
  /** The size a width x height frame is run at in 'frame' scope (short side = size, multiples of 4). */
  workingSize(width: number, height: number): { width: number; height: number };
  /** Stylises one whole frame (resize, run, resize back); `ms` is the session.run time alone. */
  stylizeFrame(frame: Frame): Promise<{ frame: Frame; ms: number }>;
}

const round4 = (v: number) => Math.max(4, Math.round(v / 4) * 4);

/** Short side = size, aspect kept, both sides multiples of 4. */
export function styleWorkingSize(width: number, height: number, size: number): { width: number; height: number } {
  const f = size / Math.min(width, height);
  return width <= height ? { width: size, height: round4(height * f) } : { width: round4(width * f), height: size };
}

function checkOptions(opts: StyleGeneratorOptions): { size: number; scope: StyleScope; threads: number; provider: 'auto' | 'cpu' | 'cuda' } {
  const size = opts.size ?? STYLE_DEFAULT_SIZE;
  if (!Number.isInteger(size) || size < 16 || size > 4096 || size % 4 !== 0) {
    throw new ReshootError(`style size must be a multiple of 4 between 16 and 4096 (the short side in pixels), got ${size}`);
  }
  const scope = opts.scope ?? 'frame';
  if (scope !== 'frame' && scope !== 'subject') throw new ReshootError(`style scope must be "frame" or "subject", got "${String(scope)}"`);
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new ReshootError(`style threads must be a positive integer, got ${threads}`);
  const provider = opts.provider ?? 'auto';
  if (!['auto', 'cpu', 'cuda'].includes(provider)) throw new ReshootError(`style provider must be auto, cpu or cuda, got "${String(provider)}"`);
  return { size, scope, threads, provider };
}

function resize(cv: CV, data: Uint8Array, w: number, h: number, tw: number, th: number): Uint8Array {
  if (w === tw && h === th) return data;
  const src = cv.matFromArray(h, w, cv.CV_8UC3, data as unknown as number[]);
  const dst = new cv.Mat();
  try {
    cv.resize(src, dst, new cv.Size(tw, th), 0, 0, tw < w ? cv.INTER_AREA : cv.INTER_LINEAR);
    return new Uint8Array(dst.data as Uint8Array);
  } finally {
    src.delete();
    dst.delete();
  }
}

/** Bounding box of alpha > 0 over all masks, or null when every mask is empty. */
export function maskUnionBox(masks: GrayFrame[]): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (const m of masks) {
    const { width: W, height: H, data } = m;
    for (let y = 0; y < H; y++) {
      const row = y * W;
      let first = -1, last = -1;
      for (let x = 0; x < W; x++) if (data[row + x] > 0) { first = x; break; }
      if (first < 0) continue;
      for (let x = W - 1; x >= first; x--) if (data[row + x] > 0) { last = x; break; }
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

function crop(f: Frame, x0: number, y0: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) out.set(f.data.subarray(((y0 + y) * f.width + x0) * 3, ((y0 + y) * f.width + x0 + w) * 3), y * w * 3);
  return out;
}

/**
 * Creates the generator: resolves and checks the weights (every problem is a
 * ReshootError naming the file), builds or loads the cached ONNX model, and
 * opens the session, all before any frame runs.
 */
export async function createStyleGenerator(style: string, options: StyleGeneratorOptions = {}): Promise<StyleGenerator> {
  const { size, scope, threads, provider: wanted } = checkOptions(options);
  const weights = await readStyleWeights(resolveStyleFolder(style));
  const prepared = await prepareStyleModel(weights);
  const { bytes, ...model } = prepared;
  const name = `style:${style}`;

  let provider: 'cpu' | 'cuda' = 'cpu';
  if (wanted !== 'cpu') {
    const cuda = cudaAvailability();
    if (cuda.available) provider = 'cuda';
    else if (wanted === 'cuda') throw new ReshootError(`style provider cuda asked for, but ${cuda.reason}`);
  }
  const open = async (): Promise<ort.InferenceSession> => {
    // No busy-waiting threads (the pipeline's other work shares the cores): matta at 256 px, load 6,
    // 429-483 -> 370-393 ms CPU per frame, wall the same or lower.
    const so: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    try {
      return await ort.InferenceSession.create(bytes, { ...so, executionProviders: [provider] });
    } catch (err) {
      if (provider === 'cuda' && wanted === 'auto') {
        provider = 'cpu';
        return ort.InferenceSession.create(bytes, { ...so, executionProviders: ['cpu'] });
      }
      throw new ReshootError(`onnxruntime cannot load ${model.onnxPath}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  };
  let session: ort.InferenceSession | undefined = await open();
  const cv = await loadOpenCV();

  /** Runs the network on an RGB image of a working size; returns 8-bit RGB of the same size. */
  const run = async (rgb: Uint8Array, w: number, h: number): Promise<{ data: Uint8Array; ms: number }> => {
    session ??= await open();
    const x = new ort.Tensor('float32', Float32Array.from(rgb), [1, h, w, 3]);
    const t0 = performance.now();
    const out = await session.run({ [STYLE_INPUT]: x });
    const ms = performance.now() - t0;
    const y = out[STYLE_OUTPUT].data as Float32Array;
    const data = new Uint8Array(y.length);
    // The graph already clips to 0..255; rounding is the only step left.
    for (let i = 0; i < y.length; i++) data[i] = Math.round(y[i]);
    return { data, ms };
  };

  const workingSize = (w: number, h: number) => styleWorkingSize(w, h, size);

  const stylizeFrame = async (f: Frame): Promise<{ frame: Frame; ms: number }> => {
    const ws = workingSize(f.width, f.height);
    const r = await run(resize(cv, f.data, f.width, f.height, ws.width, ws.height), ws.width, ws.height);
    return { frame: { width: f.width, height: f.height, data: resize(cv, r.data, ws.width, ws.height, f.width, f.height) }, ms: r.ms };
  };

  const generate = async (input: SegmentInput): Promise<Frame[]> => {
    const { width: W, height: H, count } = validateSegmentInput(input);
    const out: Frame[] = [];
    let box: { x0: number; y0: number; w: number; h: number; ww: number; wh: number } | null = null;
    if (scope === 'subject') {
      if (!input.masks) throw new ReshootError(`generator ${name}: scope subject needs person masks, segment ${input.segmentIndex} has none`);
      // One box for the whole segment: a crop that moved per frame would change the instance-norm statistics and add flicker.
      const u = maskUnionBox(input.masks);
      if (u) {
        const pad = Math.round(SUBJECT_PAD * Math.max(u.x1 - u.x0, u.y1 - u.y0)) + 8;
        const x0 = Math.max(0, u.x0 - pad), y0 = Math.max(0, u.y0 - pad);
        const w = Math.min(W, u.x1 + pad) - x0, h = Math.min(H, u.y1 + pad) - y0;
        // The crop runs at the scale the whole frame would, so the brush strokes have the same size in both scopes.
        const f = size / Math.min(W, H);
        box = { x0, y0, w, h, ww: Math.max(16, round4(w * f)), wh: Math.max(16, round4(h * f)) };
      }
    }
    input.onProgress?.(0, count);
    for (let t = 0; t < count; t++) {
      input.signal?.throwIfAborted();
      const frame = input.frames[t];
      try {
        if (scope === 'frame') {
          out.push((await stylizeFrame(frame)).frame);
        } else if (!box) {
          // No person anywhere in the segment: nothing to restyle.
          out.push({ width: W, height: H, data: new Uint8Array(frame.data) });
        } else {
          const b = box;
          const r = await run(resize(cv, crop(frame, b.x0, b.y0, b.w, b.h), b.w, b.h, b.ww, b.wh), b.ww, b.wh);
          const styl = resize(cv, r.data, b.ww, b.wh, b.w, b.h);
          const data = new Uint8Array(frame.data);
          const alpha = input.masks![t].data;
          for (let y = 0; y < b.h; y++) {
            for (let x = 0; x < b.w; x++) {
              const a = alpha[(b.y0 + y) * W + b.x0 + x];
              if (a === 0) continue;
              const p = ((b.y0 + y) * W + b.x0 + x) * 3, q = (y * b.w + x) * 3;
              for (let c = 0; c < 3; c++) data[p + c] = Math.round(data[p + c] + ((styl[q + c] - data[p + c]) * a) / 255);
            }
          }
          out.push({ width: W, height: H, data });
        }
      } catch (err) {
        if (err instanceof ReshootError || (err as Error).name === 'AbortError') throw err;
        throw new ReshootError(`generator ${name}: segment ${input.segmentIndex} frame ${t}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
      input.onProgress?.(t + 1, count);
    }
    return validateGeneratedFrames(out, input, name);
  };

  const release = async () => {
    const s = session;
    session = undefined;
    await s?.release();
  };

  return {
    name,
    kind: 'style',
    isModel: true,
    // Subject scope: one crop box from all of the segment's masks, so it needs the segment in one call.
    wholeSegment: scope === 'subject',
    size,
    scope,
    threads,
    get provider() {
      return provider;
    },
    weights: { name: weights.name, folder: weights.folder, sha256: weights.sha256 },
    model,
    describe: () =>
      `style transfer network "${weights.name}" (Johnson et al. 2016; weights sha256 ${weights.sha256.slice(0, 12)}): ` +
      `${size} px short side, scope ${scope}, onnxruntime ${provider}${provider === 'cpu' ? ` ${threads} threads` : ''}`,
    workingSize,
    stylizeFrame,
    generate,
    release,
    close: release,
  };
}
