/**
 * `slow:<seconds>`: a STAND-IN for a GPU generator, not a model. It takes each
 * segment whole (like a GPU job), sleeps `seconds` while holding nothing on
 * the CPU, then returns the input frames unchanged (passthrough). It exists to
 * measure how much of the pipeline's CPU work hides behind the generator
 * (bench/pipeline.ts --generator slow:20).
 */
import { ReshootError } from '../util/errors.js';
import type { Frame } from '../video/types.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from './types.js';

/** Parses the seconds of `slow:<seconds>` (0 .. 3600). */
export function parseSlowSeconds(arg: string): number {
  const s = Number(arg);
  if (arg.trim() === '' || !Number.isFinite(s) || s < 0 || s > 3600) throw new ReshootError(`generator slow: needs seconds per segment (0-3600) after "slow:", e.g. slow:20; got "${arg}"`);
  return s;
}

export function createSlowGenerator(seconds: number): Generator {
  return {
    name: `slow:${seconds}`,
    kind: 'passthrough',
    isModel: false,
    wholeSegment: true,
    describe: () => `slow:${seconds}: sleeps ${seconds} s per segment, then returns the input unchanged (a stand-in for a GPU job, not a model)`,
    generate: async (input: SegmentInput) => {
      validateSegmentInput(input);
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(res, seconds * 1000);
        input.signal?.addEventListener('abort', () => (clearTimeout(timer), rej(input.signal!.reason)), { once: true });
      });
      const out: Frame[] = input.frames.map((f) => ({ width: f.width, height: f.height, data: new Uint8Array(f.data) }));
      return validateGeneratedFrames(out, input, 'slow');
    },
    release: async () => undefined,
    close: async () => undefined,
  };
}
