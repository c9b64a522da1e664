/**
 * Person masks: a square crop around the pose (25% margin) goes through
 * BlazePose-full's segmentation output (or selfie segmentation, the faster
 * option), and the probability map is pasted back at frame size and feathered.
 */
import * as ort from 'onnxruntime-node';
import { loadModel, type ModelId } from '../models/index.js';
import { resampleRegion, type SquareRegion } from '../pose/crop.js';
import type { PoseFrame } from '../pose/types.js';
import { ReshootError } from '../util/errors.js';
import { serialQueue } from '../util/serial.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { DEFAULT_MASK_MARGIN, featherMask, maskRegionForPose, pasteMask } from './composite.js';

export type MaskModelName = 'full' | 'selfie';

/** What the masker needs from a model: n x n RGB crop in, m x m probabilities (0..1) out. */
export interface MaskModelRunner {
  id: string;
  inputSize: number;
  outputSize: number;
  provider: string;
  run(rgb: Uint8Array): Promise<Float32Array>;
  release(): Promise<void>;
}

export function maskModelId(name: MaskModelName): ModelId {
  if (name === 'full') return 'blazepose-full';
  if (name === 'selfie') return 'selfie';
  throw new ReshootError(`mask model must be full or selfie; got "${String(name)}"`);
}

const SEGMENTATION_OUTPUT: Record<MaskModelName, { name: string; logits: boolean }> = {
  // Both end in a sigmoid: BlazePose's activation_segmentation measured exactly 0..1 on real crops
  // (models/manifest.json calls it logits; applying another sigmoid would map the background to 0.5).
  full: { name: 'activation_segmentation', logits: false },
  selfie: { name: 'mask', logits: false },
};

/** Finds the mask output's ONNX name: by manifest name, by position in the manifest, else by shape (m x m). */
function segmentationOutputName(model: { outputNames: readonly string[]; spec?: unknown }, wanted: string): string | undefined {
  if (model.outputNames.includes(wanted)) return wanted;
  const outputs = (model.spec as { outputs?: { name?: string }[] } | undefined)?.outputs;
  const i = outputs?.findIndex((o) => o?.name === wanted) ?? -1;
  if (i >= 0 && i < model.outputNames.length) return model.outputNames[i];
  return model.outputNames.length === 1 ? model.outputNames[0] : undefined;
}

export async function loadMaskRunner(
  name: MaskModelName,
  opts: { provider?: 'auto' | 'cpu' | 'cuda'; threads?: number; spinning?: boolean } = {},
): Promise<MaskModelRunner> {
  const id = maskModelId(name);
  const model = await loadModel(id, opts);
  const n = 256;
  const m = 256;
  const { name: wanted, logits } = SEGMENTATION_OUTPUT[name];
  let outputName = segmentationOutputName(model, wanted);
  const input = new Float32Array(n * n * 3);
  const probs = new Float32Array(m * m);
  return {
    id,
    inputSize: n,
    outputSize: m,
    provider: model.provider,
    async run(rgb) {
      for (let i = 0; i < input.length; i++) input[i] = rgb[i] / 255;
      const result = await model.session.run({ [model.inputNames[0]]: new ort.Tensor('float32', input, [1, n, n, 3]) });
      // Unknown name: the one output with m*m values is the mask (BlazePose's others are 1, 117, 195 and 64*64*39 long).
      outputName ??= Object.keys(result).find((k) => result[k].data.length === m * m);
      const out = outputName ? result[outputName] : undefined;
      if (!out || out.data.length !== m * m) throw new Error(`${id}: no ${m}x${m} mask output among ${Object.keys(result).join(', ')}`);
      const data = out.data as Float32Array;
      if (logits) for (let i = 0; i < probs.length; i++) probs[i] = 1 / (1 + Math.exp(-data[i]));
      else probs.set(data);
      return probs;
    },
    release: () => model.release(),
  };
}

export interface PersonMaskerOptions {
  /** 'full' (BlazePose-full segmentation, default) or 'selfie' (faster, coarser). */
  model?: MaskModelName;
  /** Margin around the pose box, fraction of its longer side on each side. Default 0.25. */
  margin?: number;
  /** Gaussian feather sigma in pixels; default 0.4% of the frame's longer side (about 3 px at 768 wide). 0 = hard edge. */
  feather?: number;
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  /** onnxruntime's worker threads busy-wait between ops (default true); false frees the cores (src/models LoadOptions). */
  spinning?: boolean;
  /** Use this runner instead of loading a model (tests). */
  runner?: MaskModelRunner;
}

export interface PersonMaskResult {
  /** Frame-sized alpha, 0 (background) .. 255 (person). All zeros when not found. */
  alpha: GrayFrame;
  /** False when the pose had no person: the mask is empty. */
  found: boolean;
  /** The square crop that was segmented (null when not found). */
  region: SquareRegion | null;
}

export interface PersonMasker {
  readonly modelId: string;
  readonly provider: string;
  readonly margin: number;
  mask(frame: Frame, pose: PoseFrame | null): Promise<PersonMaskResult>;
  release(): Promise<void>;
}

export async function createPersonMasker(opts: PersonMaskerOptions = {}): Promise<PersonMasker> {
  const margin = opts.margin ?? DEFAULT_MASK_MARGIN;
  if (!(margin >= 0 && margin <= 2)) throw new ReshootError(`mask margin must be in 0..2; got ${margin}`);
  if (opts.feather !== undefined && !(opts.feather >= 0)) throw new ReshootError(`feather must be >= 0 pixels; got ${opts.feather}`);
  const runner = opts.runner ?? (await loadMaskRunner(opts.model ?? 'full', { provider: opts.provider, threads: opts.threads, spinning: opts.spinning }));
  const rgb = new Uint8Array(runner.inputSize * runner.inputSize * 3);
  // Buffers are reused, so concurrent mask() calls (e.g. Promise.all over a segment) run one at a time.
  const serial = serialQueue();
  return {
    modelId: runner.id,
    provider: runner.provider,
    margin,
    async mask(frame, pose) {
      const region = maskRegionForPose(pose, margin);
      if (!region) return { alpha: { width: frame.width, height: frame.height, data: new Uint8Array(frame.width * frame.height) }, found: false, region: null };
      return serial(async () => {
        resampleRegion(frame, region, runner.inputSize, rgb);
        const probs = await runner.run(rgb);
        const pasted = pasteMask(probs, runner.outputSize, region, frame.width, frame.height);
        const sigma = opts.feather ?? Math.max(frame.width, frame.height) * 0.004;
        return { alpha: await featherMask(pasted, sigma, region, { inPlace: true }), found: true, region };
      });
    },
    release: () => runner.release(),
  };
}
