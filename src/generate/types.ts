import type { PoseFrame } from '../pose/types.js';
import { ReshootError } from '../util/errors.js';
import type { Frame, GrayFrame, ProgressFn, Rational } from '../video/types.js';

/** Everything a generator gets for one segment. All frame-like inputs share one size. */
export interface SegmentInput {
  /** 0-based segment number in the plan. */
  segmentIndex: number;
  /** Plan label (approach | hold | exit | seg-k). */
  label: string;
  /** Video index of frames[0] (so a generator can name files by video frame). Default 0. */
  start?: number;
  /** The segment's stabilized frames (RGB). */
  frames: Frame[];
  /** One pose per frame (COCO-17, pixels of the frame), when the pose stage ran. */
  poses?: PoseFrame[];
  /** One person alpha per frame (0-255, 255 = person), when masks exist. */
  masks?: GrayFrame[];
  /** Background plate: one image, one per frame, or null. */
  plate: Frame | Frame[] | null;
  /** Appearance reference (e.g. a clean frame of the person). */
  reference: Frame;
  fps: Rational;
  /** A folder the generator may use for this segment (created by the caller or the generator). */
  workDir: string;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

export type GeneratorKind = 'passthrough' | 'synthetic' | 'subject-recolor' | 'cmd' | 'onnx' | 'style' | 'external' | 'wan-animate' | 'comfyui';

/**
 * A generator turns one segment's inputs into the same number of frames of the
 * same size. Implementations hold no per-video state beyond what `release`
 * frees, so the caller can run segments one at a time with bounded memory.
 */
export interface Generator {
  /** The spec it was created from, e.g. "passthrough", "cmd:python gen.py {in} {out}". */
  readonly name: string;
  readonly kind: GeneratorKind;
  /**
   * True only for a real generative model. passthrough and synthetic are stand-ins
   * (never to be reported as a model); style is a real network; cmd and onnx are whatever the user plugged in.
   */
  readonly isModel: boolean | 'unknown';
  /**
   * generate() must see every frame of a segment in one call (it derives something per segment from all of
   * them, e.g. the style generator's subject crop); otherwise the pipeline may pass a segment in chunks.
   */
  readonly wholeSegment?: boolean;
  /** One line for logs and manifests (includes the ONNX provider where relevant). */
  describe(): string;
  generate(input: SegmentInput): Promise<Frame[]>;
  /** Frees heavy state (model sessions) until the next generate(); cheap to call. */
  release(): Promise<void>;
  /** Frees everything; the generator is unusable afterwards. */
  close(): Promise<void>;
}

function sizeOf(f: { width: number; height: number }): string {
  return `${f.width}x${f.height}`;
}

/** Checks a segment's inputs: counts and sizes agree. Throws ReshootError. */
export function validateSegmentInput(input: SegmentInput): { width: number; height: number; count: number } {
  const n = input.frames.length;
  if (n === 0) throw new ReshootError(`segment ${input.segmentIndex}: no frames`);
  const { width, height } = input.frames[0];
  const rgbOk = (f: Frame) => f.width === width && f.height === height && f.data.length === width * height * 3;
  input.frames.forEach((f, i) => {
    if (!rgbOk(f)) throw new ReshootError(`segment ${input.segmentIndex}: frame ${i} is ${sizeOf(f)}, frame 0 is ${width}x${height} (RGB)`);
  });
  if (input.masks) {
    if (input.masks.length !== n) throw new ReshootError(`segment ${input.segmentIndex}: ${n} frames but ${input.masks.length} masks`);
    input.masks.forEach((m, i) => {
      if (m.width !== width || m.height !== height || m.data.length !== width * height) {
        throw new ReshootError(`segment ${input.segmentIndex}: mask ${i} is ${sizeOf(m)}, frames are ${width}x${height}`);
      }
    });
  }
  if (input.poses && input.poses.length !== n) throw new ReshootError(`segment ${input.segmentIndex}: ${n} frames but ${input.poses.length} poses`);
  if (input.plate) {
    const plates = Array.isArray(input.plate) ? input.plate : [input.plate];
    if (Array.isArray(input.plate) && plates.length !== n) throw new ReshootError(`segment ${input.segmentIndex}: ${n} frames but ${plates.length} plates`);
    for (const p of plates) if (!rgbOk(p)) throw new ReshootError(`segment ${input.segmentIndex}: plate is ${sizeOf(p)}, frames are ${width}x${height}`);
  }
  if (!rgbOk(input.reference)) throw new ReshootError(`segment ${input.segmentIndex}: reference is ${sizeOf(input.reference)}, frames are ${width}x${height}`);
  return { width, height, count: n };
}

/** Checks a generator's output against its input: same count, same size, RGB. */
export function validateGeneratedFrames(out: Frame[], input: SegmentInput, generator: string): Frame[] {
  const { width, height } = input.frames[0];
  const n = input.frames.length;
  if (!Array.isArray(out) || out.length !== n) {
    throw new ReshootError(`generator ${generator}: segment ${input.segmentIndex} returned ${Array.isArray(out) ? out.length : 'no'} frames, expected ${n}`);
  }
  out.forEach((f, i) => {
    if (f.width !== width || f.height !== height || f.data.length !== width * height * 3) {
      throw new ReshootError(`generator ${generator}: segment ${input.segmentIndex} frame ${i} is ${sizeOf(f)}, expected ${width}x${height} RGB`);
    }
  });
  return out;
}
