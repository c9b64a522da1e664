/**
 * Single-person pose with MoveNet (thunder by default, lightning for speed) on
 * onnxruntime-node: a square region of the frame (the letterboxed whole frame,
 * or a crop around the person) is resampled to the model's input, and the 17
 * normalised (y, x, score) triples are mapped back to original pixels.
 */
import * as ort from 'onnxruntime-node';
import { loadModel, type ModelId } from '../models/index.js';
import { ReshootError } from '../util/errors.js';
import { serialQueue } from '../util/serial.js';
import type { Frame } from '../video/types.js';
import { letterboxRegion, resampleRegion, type SquareRegion } from './crop.js';
import { DEFAULT_MIN_SCORE, DEFAULT_MIN_VALID, poseFromOutput } from './keypoints.js';
import type { PoseFrame } from './types.js';

export type PoseModelName = 'thunder' | 'lightning';


/**
 * What the estimator needs from a model: RGB n x n in, 17 x (y, x, score) out.
 * createPoseEstimator builds one on onnxruntime; tests inject fakes.
 */
export interface PoseModelRunner {
  id: string;
  inputSize: number;
  provider: string;
  run(rgb: Uint8Array): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface PoseEstimatorOptions {
  /** 'thunder' (default: more accurate, 256 px input) or 'lightning' (192 px, about 3x faster). */
  model?: PoseModelName;
  /** Keypoints with score < minScore are invalid. Default 0.3. */
  minScore?: number;
  /** Valid keypoints needed to call the person found. Default 5. */
  minValid?: number;
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  /** onnxruntime's worker threads busy-wait between ops (default true); false frees the cores (src/models LoadOptions). */
  spinning?: boolean;
  /** Use this model runner instead of loading MoveNet (tests). */
  runner?: PoseModelRunner;
}

export interface PoseEstimator {
  readonly modelId: string;
  readonly inputSize: number;
  readonly provider: string;
  readonly minScore: number;
  readonly minValid: number;
  /** Pose in `region` of the frame (default: the whole frame, letterboxed). */
  estimate(frame: Frame, opts?: { region?: SquareRegion; index?: number }): Promise<PoseFrame>;
  release(): Promise<void>;
}

export function poseModelId(name: PoseModelName): ModelId {
  if (name === 'thunder') return 'movenet-thunder';
  if (name === 'lightning') return 'movenet-lightning';
  throw new ReshootError(`pose model must be thunder or lightning; got "${String(name)}"`);
}

/** Loads MoveNet through src/models and wraps its session as a PoseModelRunner. */
export async function loadMoveNetRunner(
  name: PoseModelName,
  opts: { provider?: 'auto' | 'cpu' | 'cuda'; threads?: number; spinning?: boolean } = {},
): Promise<PoseModelRunner> {
  const id = poseModelId(name);
  const model = await loadModel(id, opts);
  const inputSize = name === 'thunder' ? 256 : 192;
  const inputName = model.inputNames[0];
  const outputName = model.outputNames[0];
  const buffer = new Int32Array(inputSize * inputSize * 3);
  return {
    id,
    inputSize,
    provider: model.provider,
    async run(rgb) {
      for (let i = 0; i < buffer.length; i++) buffer[i] = rgb[i];
      const result = await model.session.run({ [inputName]: new ort.Tensor('int32', buffer, [1, inputSize, inputSize, 3]) });
      const out = result[outputName];
      const data = out.data as Float32Array;
      if (data.length !== 17 * 3) throw new Error(`${id}: expected 51 output values, got ${data.length}`);
      return Float32Array.from(data);
    },
    release: () => model.release(),
  };
}

export async function createPoseEstimator(opts: PoseEstimatorOptions = {}): Promise<PoseEstimator> {
  const minScore = opts.minScore ?? DEFAULT_MIN_SCORE;
  const minValid = opts.minValid ?? DEFAULT_MIN_VALID;
  if (!(minScore >= 0 && minScore <= 1)) throw new ReshootError(`minimum keypoint score must be in 0..1; got ${minScore}`);
  if (!(Number.isInteger(minValid) && minValid >= 1 && minValid <= 17)) throw new ReshootError(`minValid must be 1..17; got ${minValid}`);
  const runner = opts.runner ?? (await loadMoveNetRunner(opts.model ?? 'thunder', { provider: opts.provider, threads: opts.threads, spinning: opts.spinning }));
  const n = runner.inputSize;
  const rgb = new Uint8Array(n * n * 3);
  // The input buffers are reused, so concurrent estimate() calls (e.g. Promise.all over a segment) run one at a time.
  const serial = serialQueue();
  return {
    modelId: runner.id,
    inputSize: n,
    provider: runner.provider,
    minScore,
    minValid,
    estimate(frame, o = {}) {
      return serial(async () => {
        const region = o.region ?? letterboxRegion(frame.width, frame.height);
        resampleRegion(frame, region, n, rgb);
        const out = await runner.run(rgb);
        return poseFromOutput(out, region, { minScore, minValid, index: o.index ?? 0 });
      });
    },
    release: () => runner.release(),
  };
}
