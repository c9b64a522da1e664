import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { loadOpenCV, type CV } from '../cv/opencv.js';
import { packageRoot } from '../util/paths.js';
import { ReshootError } from '../util/errors.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { renderPoseMapSync } from './pose-map.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from './types.js';

export const ONNX_SIDECAR_SCHEMA = 'reshoot.onnx-generator/1';

const Range = z
  .tuple([z.number(), z.number()])
  .refine(([lo, hi]) => lo < hi, { message: 'range must be [low, high] with low < high' });
const Layout = z.enum(['NCHW', 'NHWC']);

const SidecarInput = z
  .object({
    /** Input name in the ONNX graph. */
    name: z.string().min(1),
    /** Which conditioning feeds it: the frame, a pose map, the person mask, the reference frame, the plate. */
    source: z.enum(['frame', 'pose', 'mask', 'reference', 'plate']),
    layout: Layout.default('NCHW'),
    /** Values 0..255 of the image map linearly onto [low, high]. */
    range: Range.default([0, 1]),
    /** Channel order of 3-channel inputs (mask is 1 channel). */
    channels: z.enum(['rgb', 'bgr']).default('rgb'),
  })
  .strict();

const SidecarOutput = z
  .object({
    name: z.string().min(1),
    layout: Layout.default('NCHW'),
    range: Range.default([0, 1]),
    channels: z.enum(['rgb', 'bgr']).default('rgb'),
  })
  .strict();

/** The JSON sidecar an `onnx:` generator needs next to its model (model.onnx.json). */
export const OnnxSidecarSchema = z
  .object({
    schema: z.literal(ONNX_SIDECAR_SCHEMA),
    description: z.string().optional(),
    /** Set true only for a real generative model; test graphs and filters stay false. */
    isModel: z.boolean().default(false),
    /** Model resolution; frames are resized to it and outputs back. Absent: the model's fixed size, else the frame size. */
    size: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).strict().optional(),
    inputs: z.array(SidecarInput).min(1),
    output: SidecarOutput,
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    for (const i of s.inputs) {
      if (seen.has(i.name)) ctx.addIssue({ code: 'custom', message: `input "${i.name}" is declared twice`, path: ['inputs'] });
      seen.add(i.name);
    }
  });

// Written out rather than z.infer'd: tslab's TypeScript 5.0 infers zod 4 tuples with optional elements.
export interface OnnxSidecarInput {
  name: string;
  source: 'frame' | 'pose' | 'mask' | 'reference' | 'plate';
  layout: 'NCHW' | 'NHWC';
  range: [number, number];
  channels: 'rgb' | 'bgr';
}
export interface OnnxSidecar {
  schema: typeof ONNX_SIDECAR_SCHEMA;
  description?: string;
  isModel: boolean;
  size?: { width: number; height: number };
  inputs: OnnxSidecarInput[];
  output: Omit<OnnxSidecarInput, 'source'>;
}

/** Parses and validates a sidecar; errors name the field. */
export function parseOnnxSidecar(json: unknown, where = 'sidecar'): OnnxSidecar {
  const r = OnnxSidecarSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    const path = first.path.length ? first.path.join('.') : '(top level)';
    throw new ReshootError(`bad ONNX sidecar ${where}: ${path}: ${first.message}`);
  }
  return r.data as unknown as OnnxSidecar;
}

export function readOnnxSidecar(path: string): OnnxSidecar {
  if (!existsSync(path)) {
    throw new ReshootError(`ONNX sidecar ${path} not found (write one next to the model, or pass its path; see src/generate/README.md)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ReshootError(`bad ONNX sidecar ${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseOnnxSidecar(json, path);
}

export type ProviderChoice = 'auto' | 'cpu' | 'cuda';

/** True when the installed onnxruntime-node ships the CUDA execution provider library. */
export function cudaAvailable(): boolean {
  try {
    if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) return false;
    const main = createRequire(join(packageRoot(), 'package.json')).resolve('onnxruntime-node');
    const bin = join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(bin, 'libonnxruntime_providers_cuda.so')) || existsSync(join(bin, 'onnxruntime_providers_cuda.dll'));
  } catch {
    return false;
  }
}

export interface OnnxGeneratorOptions {
  /** Sidecar path. Default: `<model>.json` (model.onnx.json). */
  sidecar?: string;
  /** 'auto' (default): CUDA when onnxruntime has it, else CPU. */
  provider?: ProviderChoice;
  /** Dispose the session after every segment (reloaded on the next). Default false. */
  releaseBetweenSegments?: boolean;
  /** CPU threads (intra-op). Default: onnxruntime's choice. */
  threads?: number;
}

interface Plan {
  width: number;
  height: number;
}

const CHANNELS = (source: OnnxSidecarInput['source']) => (source === 'mask' ? 1 : 3);

/** Checks the sidecar against the graph's declared inputs/outputs and returns the processing size. */
export function checkModelAgainstSidecar(session: ort.InferenceSession, sc: OnnxSidecar, model: string): Plan | null {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  for (const name of inputs.keys()) {
    if (!sc.inputs.some((i) => i.name === name)) {
      throw new ReshootError(`ONNX model ${model} has input "${name}" that the sidecar does not declare (declared: ${sc.inputs.map((i) => i.name).join(', ')})`);
    }
  }
  let fixed: { width: number; height: number } | null = sc.size ?? null;
  const checkShape = (kind: string, name: string, meta: ort.InferenceSession.ValueMetadata | undefined, layout: 'NCHW' | 'NHWC', channels: number | null) => {
    if (!meta) {
      const names = kind === 'input' ? [...inputs.keys()] : [...outputs.keys()];
      throw new ReshootError(`ONNX model ${model} has no ${kind} "${name}" (it has: ${names.join(', ')})`);
    }
    if (!meta.isTensor) throw new ReshootError(`ONNX model ${model}: ${kind} "${name}" is not a tensor`);
    if (meta.type !== 'float32') throw new ReshootError(`ONNX model ${model}: ${kind} "${name}" is ${meta.type}, only float32 is supported`);
    const shape = meta.shape;
    if (shape.length === 0) return; // unknown rank: checked at run time by onnxruntime
    if (shape.length !== 4) throw new ReshootError(`ONNX model ${model}: ${kind} "${name}" has rank ${shape.length} [${shape.join(',')}], expected 4 (${layout})`);
    const [n, a, b, c] = shape;
    const [ch, h, w] = layout === 'NCHW' ? [a, b, c] : [c, a, b];
    if (typeof n === 'number' && n !== 1 && n !== -1) throw new ReshootError(`ONNX model ${model}: ${kind} "${name}" has batch ${n}, expected 1`);
    if (channels !== null && typeof ch === 'number' && ch !== -1 && ch !== channels) {
      throw new ReshootError(`ONNX model ${model}: ${kind} "${name}" has ${ch} channels in ${layout} [${shape.join(',')}], the sidecar's ${layout} layout needs ${channels}`);
    }
    if (typeof h === 'number' && h > 0 && typeof w === 'number' && w > 0) {
      if (fixed && (fixed.width !== w || fixed.height !== h)) {
        throw new ReshootError(`ONNX model ${model}: ${kind} "${name}" is ${w}x${h} [${shape.join(',')}], but ${sc.size ? 'the sidecar says' : 'another input is'} ${fixed.width}x${fixed.height}`);
      }
      fixed = { width: w, height: h };
    }
  };
  for (const i of sc.inputs) checkShape('input', i.name, inputs.get(i.name), i.layout, CHANNELS(i.source));
  checkShape('output', sc.output.name, outputs.get(sc.output.name), sc.output.layout, 3);
  return fixed;
}

function resizeSync(cv: CV, data: Uint8Array, w: number, h: number, ch: 1 | 3, tw: number, th: number): Uint8Array {
  if (w === tw && h === th) return data;
  const src = cv.matFromArray(h, w, ch === 3 ? cv.CV_8UC3 : cv.CV_8UC1, data as unknown as number[]);
  const dst = new cv.Mat();
  try {
    cv.resize(src, dst, new cv.Size(tw, th), 0, 0, tw < w ? cv.INTER_AREA : cv.INTER_LINEAR);
    return new Uint8Array(dst.data as Uint8Array);
  } finally {
    src.delete();
    dst.delete();
  }
}

/** Packs an 8-bit image into a float tensor: layout, channel order and value range from the sidecar. */
export function imageToTensor(data: Uint8Array, w: number, h: number, ch: 1 | 3, spec: { layout: 'NCHW' | 'NHWC'; range: [number, number]; channels: 'rgb' | 'bgr' }): ort.Tensor {
  const [lo, hi] = spec.range;
  const scale = (hi - lo) / 255;
  const out = new Float32Array(w * h * ch);
  const n = w * h;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < ch; c++) {
      const srcC = ch === 3 && spec.channels === 'bgr' ? 2 - c : c;
      const v = data[p * ch + srcC] * scale + lo;
      out[spec.layout === 'NCHW' ? c * n + p : p * ch + c] = v;
    }
  }
  return new ort.Tensor('float32', out, spec.layout === 'NCHW' ? [1, ch, h, w] : [1, h, w, ch]);
}

/** Unpacks a [1,3,H,W] / [1,H,W,3] float tensor to 8-bit RGB (clamped, rounded). */
export function tensorToImage(t: ort.Tensor, spec: { layout: 'NCHW' | 'NHWC'; range: [number, number]; channels: 'rgb' | 'bgr' }, what: string): { data: Uint8Array; width: number; height: number } {
  const dims = t.dims;
  if (dims.length !== 4 || dims[0] !== 1) throw new ReshootError(`${what}: output has shape [${dims.join(',')}], expected [1,${spec.layout === 'NCHW' ? '3,H,W' : 'H,W,3'}]`);
  const [ch, h, w] = spec.layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  if (ch !== 3) throw new ReshootError(`${what}: output has ${ch} channels (shape [${dims.join(',')}]), expected 3`);
  if (t.type !== 'float32') throw new ReshootError(`${what}: output is ${t.type}, expected float32`);
  const src = t.data as Float32Array;
  const [lo, hi] = spec.range;
  const n = w * h;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = src[spec.layout === 'NCHW' ? c * n + p : p * 3 + c];
      const dstC = spec.channels === 'bgr' ? 2 - c : c;
      const u = ((v - lo) / (hi - lo)) * 255;
      out[p * 3 + dstC] = u <= 0 || Number.isNaN(u) ? 0 : u >= 255 ? 255 : Math.round(u);
    }
  }
  return { data: out, width: w, height: h };
}

/**
 * `onnx:<model.onnx>`: an image-to-image model run frame by frame with the
 * conditioning its sidecar declares. The model is loaded and checked against
 * the sidecar when the generator is created, before any frame is processed.
 */
export async function createOnnxGenerator(modelPath: string, opts: OnnxGeneratorOptions = {}): Promise<Generator & { provider: string; sidecar: OnnxSidecar }> {
  const model = resolve(modelPath);
  if (!existsSync(model)) throw new ReshootError(`ONNX model ${model} not found`);
  const sidecar = readOnnxSidecar(resolve(opts.sidecar ?? `${model}.json`));
  const choice = opts.provider ?? 'auto';
  if (!['auto', 'cpu', 'cuda'].includes(choice)) throw new ReshootError(`ONNX provider must be auto, cpu or cuda (got "${choice}")`);
  const hasCuda = cudaAvailable();
  if (choice === 'cuda' && !hasCuda) {
    throw new ReshootError('ONNX provider cuda asked for, but this onnxruntime-node has no CUDA provider (see README "CUDA for onnxruntime")');
  }
  let provider = 'cpu';
  const open = async (): Promise<ort.InferenceSession> => {
    const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
    if (opts.threads) sessionOptions.intraOpNumThreads = opts.threads;
    if (choice !== 'cpu' && hasCuda) {
      try {
        const s = await ort.InferenceSession.create(model, { ...sessionOptions, executionProviders: ['cuda', 'cpu'] });
        provider = 'cuda';
        return s;
      } catch (err) {
        if (choice === 'cuda') throw new ReshootError(`ONNX model ${model}: CUDA session failed: ${(err as Error).message}`);
      }
    }
    try {
      const s = await ort.InferenceSession.create(model, { ...sessionOptions, executionProviders: ['cpu'] });
      provider = 'cpu';
      return s;
    } catch (err) {
      throw new ReshootError(`ONNX model ${model} cannot be loaded: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  };
  let session: ort.InferenceSession | undefined = await open();
  let fixed: Plan | null;
  try {
    fixed = checkModelAgainstSidecar(session, sidecar, model);
  } catch (err) {
    await session.release();
    throw err;
  }
  const name = `onnx:${modelPath}`;
  const cv = await loadOpenCV();

  const generate = async (input: SegmentInput): Promise<Frame[]> => {
    const { width, height, count } = validateSegmentInput(input);
    // Every piece of conditioning the model takes must be there before any frame runs.
    for (const i of sidecar.inputs) {
      if (i.source === 'pose' && !input.poses) throw new ReshootError(`generator ${name}: input "${i.name}" takes pose maps, but segment ${input.segmentIndex} has no poses`);
      if (i.source === 'mask' && !input.masks) throw new ReshootError(`generator ${name}: input "${i.name}" takes masks, but segment ${input.segmentIndex} has no masks`);
      if (i.source === 'plate' && !input.plate) throw new ReshootError(`generator ${name}: input "${i.name}" takes the plate, but segment ${input.segmentIndex} has none`);
    }
    session ??= await open();
    const mw = fixed?.width ?? width;
    const mh = fixed?.height ?? height;
    const out: Frame[] = [];
    const refData = resizeSync(cv, input.reference.data, width, height, 3, mw, mh);
    input.onProgress?.(0, count);
    for (let t = 0; t < count; t++) {
      input.signal?.throwIfAborted();
      const feeds: Record<string, ort.Tensor> = {};
      for (const i of sidecar.inputs) {
        let img: Uint8Array;
        let ch: 1 | 3 = 3;
        switch (i.source) {
          case 'frame':
            img = input.frames[t].data;
            break;
          case 'reference':
            img = input.reference.data;
            break;
          case 'plate':
            img = (Array.isArray(input.plate) ? input.plate[t] : (input.plate as Frame)).data;
            break;
          case 'mask':
            img = (input.masks as GrayFrame[])[t].data;
            ch = 1;
            break;
          case 'pose':
            img = renderPoseMapSync(cv, input.poses![t], width, height).data;
            break;
        }
        const data = i.source === 'reference' ? refData : resizeSync(cv, img, width, height, ch, mw, mh);
        feeds[i.name] = imageToTensor(data, mw, mh, ch, i);
      }
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run(feeds);
      } catch (err) {
        throw new ReshootError(`generator ${name}: segment ${input.segmentIndex} frame ${t}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
      const img = tensorToImage(result[sidecar.output.name] as ort.Tensor, sidecar.output, `generator ${name}`);
      if (img.width !== mw || img.height !== mh) {
        throw new ReshootError(`generator ${name}: output is ${img.width}x${img.height}, expected ${mw}x${mh}`);
      }
      out.push({ width, height, data: resizeSync(cv, img.data, mw, mh, 3, width, height) });
      input.onProgress?.(t + 1, count);
    }
    if (opts.releaseBetweenSegments) await release();
    return validateGeneratedFrames(out, input, name);
  };

  const release = async () => {
    const s = session;
    session = undefined;
    await s?.release();
  };

  return {
    name,
    kind: 'onnx',
    isModel: sidecar.isModel,
    sidecar,
    get provider() {
      return provider;
    },
    describe: () =>
      `ONNX ${sidecar.isModel ? 'model' : 'graph (not declared a generative model)'} ${model} on ${provider}` +
      `${fixed ? ` at ${fixed.width}x${fixed.height}` : ''}; inputs ${sidecar.inputs.map((i) => `${i.name}<-${i.source}`).join(', ')}`,
    generate,
    release,
    close: release,
  };
}
