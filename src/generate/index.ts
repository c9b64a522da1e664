/**
 * The generator slot: one interface (Generator, one segment at a time) and the
 * built-ins `passthrough`, `synthetic`, `cmd:<command>`, `onnx:<model.onnx>`,
 * `style:<name|folder>` (a real style transfer network on onnxruntime).
 * See README.md for the cmd: folder layout and the ONNX sidecar schema.
 */
import { ReshootError } from '../util/errors.js';
import type { Frame } from '../video/types.js';
import { createCmdGenerator, type CmdGeneratorOptions } from './cmd.js';
import { createOnnxGenerator, type OnnxGeneratorOptions } from './onnx.js';
import { createStyleGenerator, type StyleGeneratorOptions } from './style/index.js';
import { SYNTHETIC_DESCRIPTION, createSyntheticPerturbation, type SyntheticOptions } from './synthetic.js';
import { createRecolorGenerator } from './recolor.js';
import { createSlowGenerator, parseSlowSeconds } from './slow.js';
import { createWanAnimateGenerator, type WanAnimateGeneratorOptions } from './wan-animate/index.js';
import { createComfyUIGenerator, type ComfyUIGeneratorOptions } from './comfyui/index.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from './types.js';

export * from './types.js';
export {
  createCmdGenerator,
  writeSegmentFolder,
  readSegmentOutput,
  segmentLayout,
  shellQuote,
  fillPlaceholders,
  GeneratorCommandError,
  SEGMENT_MANIFEST_SCHEMA,
  type CmdGeneratorOptions,
} from './cmd.js';
export {
  createOnnxGenerator,
  parseOnnxSidecar,
  readOnnxSidecar,
  checkModelAgainstSidecar,
  cudaAvailable,
  imageToTensor,
  tensorToImage,
  OnnxSidecarSchema,
  ONNX_SIDECAR_SCHEMA,
  type OnnxSidecar,
  type OnnxGeneratorOptions,
  type ProviderChoice,
} from './onnx.js';
export { renderPoseMap, renderPoseMapSync, POSE_MAP_COLORS } from './pose-map.js';
export { frameFileName, writePng, readRgb } from './images.js';
export * from './synthetic.js';
export * from './style/index.js';
export { createSlowGenerator, parseSlowSeconds } from './slow.js';
export * from './wan-animate/index.js';
export * from './comfyui/index.js';

/** Returns the input frames unchanged (copies): a stand-in that tests the plumbing. */
export function createPassthroughGenerator(): Generator {
  return {
    name: 'passthrough',
    kind: 'passthrough',
    isModel: false,
    describe: () => 'passthrough: returns the stabilized input frames unchanged (a stand-in, not a model)',
    generate: async (input: SegmentInput) => {
      validateSegmentInput(input);
      const out: Frame[] = input.frames.map((f) => ({ width: f.width, height: f.height, data: new Uint8Array(f.data) }));
      return validateGeneratedFrames(out, input, 'passthrough');
    },
    release: async () => undefined,
    close: async () => undefined,
  };
}

/** The seeded synthetic stand-in (src/generate/synthetic.ts) behind the Generator interface. */
export function createSyntheticGenerator(opts: SyntheticOptions = {}): Generator {
  const p = createSyntheticPerturbation(opts);
  return {
    name: 'synthetic',
    kind: 'synthetic',
    isModel: false,
    describe: () => `${SYNTHETIC_DESCRIPTION} Seed ${p.options.seed}, strength ${p.options.strength}.`,
    generate: async (input: SegmentInput) => {
      validateSegmentInput(input);
      const first = input.start ?? 0;
      const out: Frame[] = [];
      input.onProgress?.(0, input.frames.length);
      for (let k = 0; k < input.frames.length; k++) {
        input.signal?.throwIfAborted();
        out.push(p.perturbFrame(input.frames[k], first + k, input.segmentIndex));
        input.onProgress?.(k + 1, input.frames.length);
      }
      return validateGeneratedFrames(out, input, 'synthetic');
    },
    release: async () => undefined,
    close: async () => undefined,
  };
}

export interface GeneratorOptions {
  /** synthetic: its options (seed, strength, ...). */
  synthetic?: SyntheticOptions;
  /** cmd: timeout, env, cwd, ... */
  cmd?: CmdGeneratorOptions;
  /** onnx: sidecar path, provider, releaseBetweenSegments, threads. */
  onnx?: OnnxGeneratorOptions;
  /** style: working size (short side, default 384), scope ('frame' | 'subject'), threads, provider. */
  style?: StyleGeneratorOptions;
  /** wan-animate: refert_num, clip_len, fps, area, character image; its timeout defaults to cmd.timeoutMs. */
  wanAnimate?: WanAnimateGeneratorOptions;
  /** comfyui: the workflow (required), timeout, seed, output node. */
  comfyui?: ComfyUIGeneratorOptions;
}

/** The generator names the parser knows (for help texts). */
export const GENERATOR_SPECS = ['passthrough', 'synthetic', 'subject-recolor', 'cmd:<command>', 'onnx:<model.onnx>', 'style:<name|folder>', 'wan-animate:<command>', 'comfyui:<url> --workflow <api.json>', 'slow:<seconds>'] as const;

/** Splits a --generator value into kind and argument; throws ReshootError for unknown names. */
export function parseGeneratorSpec(
  spec: string,
): { kind: 'passthrough' | 'synthetic' | 'subject-recolor' } | { kind: 'cmd'; command: string } | { kind: 'onnx'; model: string } | { kind: 'style'; style: string } | { kind: 'wan-animate'; command: string } | { kind: 'comfyui'; url: string } | { kind: 'slow'; seconds: number } {
  const s = spec.trim();
  // A stand-in for a GPU job (sleeps per segment, then passthrough): the overlap bench's generator.
  if (s.startsWith('slow:')) return { kind: 'slow', seconds: parseSlowSeconds(s.slice(5)) };
  if (s === 'passthrough' || s === 'synthetic' || s === 'subject-recolor') return { kind: s };
  if (s.startsWith('cmd:')) {
    const command = s.slice(4).trim();
    if (!command) throw new ReshootError('generator cmd: needs a command after "cmd:", e.g. cmd:"python gen.py {in} {out}"');
    return { kind: 'cmd', command };
  }
  if (s.startsWith('onnx:')) {
    const model = s.slice(5).trim();
    if (!model) throw new ReshootError('generator onnx: needs a model path after "onnx:", e.g. onnx:models/gen.onnx');
    return { kind: 'onnx', model };
  }
  if (s.startsWith('style:')) {
    const style = s.slice(6).trim();
    if (!style) throw new ReshootError('generator style: needs a style name or weights folder after "style:", e.g. style:matta');
    return { kind: 'style', style };
  }
  if (s.startsWith('wan-animate:')) {
    const command = s.slice('wan-animate:'.length).trim();
    if (!command) throw new ReshootError('generator wan-animate: needs a command after "wan-animate:", e.g. wan-animate:"python generate.py ... --src_root_path {src_root} --refert_num {refert_num} --replace_flag --save_file {out}"');
    return { kind: 'wan-animate', command };
  }
  if (s.startsWith('comfyui:')) {
    const url = s.slice('comfyui:'.length).trim();
    if (!url) throw new ReshootError('generator comfyui: needs the server URL after "comfyui:", e.g. comfyui:http://127.0.0.1:8188 --workflow wf.json');
    return { kind: 'comfyui', url };
  }
  throw new ReshootError(`unknown generator "${spec}": use one of ${GENERATOR_SPECS.join(', ')}`);
}

/**
 * A generator from its spec string (`passthrough`, `synthetic`,
 * `cmd:<command>`, `onnx:<model.onnx>`, `style:<name|folder>`). ONNX models
 * are loaded and checked against their sidecar here, and style weights are
 * checked and built here, so a bad model fails before any frame is processed.
 */
export async function createGenerator(spec: string, opts: GeneratorOptions = {}): Promise<Generator> {
  const p = parseGeneratorSpec(spec);
  switch (p.kind) {
    case 'passthrough':
      return createPassthroughGenerator();
    case 'synthetic':
      return createSyntheticGenerator(opts.synthetic);
    case 'subject-recolor':
      return createRecolorGenerator();
    case 'cmd':
      return createCmdGenerator(p.command, opts.cmd);
    case 'onnx':
      return createOnnxGenerator(p.model, opts.onnx);
    case 'style':
      return createStyleGenerator(p.style, opts.style);
    case 'slow':
      return createSlowGenerator(p.seconds);
    case 'wan-animate':
      return createWanAnimateGenerator(p.command, { timeoutMs: opts.cmd?.timeoutMs, env: opts.cmd?.env, cwd: opts.cmd?.cwd, ...opts.wanAnimate });
    case 'comfyui':
      if (!opts.comfyui?.workflow) throw new ReshootError('generator comfyui: needs --workflow <api-format.json> (config generator.workflow)');
      return createComfyUIGenerator(p.url, opts.comfyui);
  }
}
