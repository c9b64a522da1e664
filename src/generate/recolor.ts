/**
 * `subject-recolor`: a STAND-IN generator (not a model) that changes only the
 * subject: every pixel inside the mask it receives is pulled 75 % of the way
 * to magenta (255, 0, 255), weighted by the mask's alpha; everything else is
 * returned unchanged. It makes two end-to-end invariants measurable: outside
 * the subject the output must equal the input (the scene is kept), and the
 * recoloured region must land back on the input's subject after re-shake.
 */
import { ReshootError } from '../util/errors.js';
import type { Frame } from '../video/types.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator } from './types.js';

export const RECOLOR_TINT = [255, 0, 255] as const;
export const RECOLOR_AMOUNT = 0.75;

export function recolorFrame(frame: Frame, alpha: Uint8Array): Frame {
  const out = new Uint8Array(frame.data);
  for (let i = 0, j = 0; i < alpha.length; i++, j += 3) {
    const a = alpha[i];
    if (a === 0) continue;
    const w = (RECOLOR_AMOUNT * a) / 255;
    out[j] = Math.round(out[j] + (RECOLOR_TINT[0] - out[j]) * w);
    out[j + 1] = Math.round(out[j + 1] + (RECOLOR_TINT[1] - out[j + 1]) * w);
    out[j + 2] = Math.round(out[j + 2] + (RECOLOR_TINT[2] - out[j + 2]) * w);
  }
  return { width: frame.width, height: frame.height, data: out };
}

export function createRecolorGenerator(): Generator {
  return {
    name: 'subject-recolor',
    kind: 'subject-recolor',
    isModel: false,
    describe: () => 'subject-recolor: tints the pixels inside the subject mask magenta, nothing else (a stand-in for invariant checks, not a model)',
    async generate(input) {
      validateSegmentInput(input);
      if (!input.masks) throw new ReshootError('generator subject-recolor needs person masks (masks.enabled and pose.enabled)');
      const out = input.frames.map((f, i) => recolorFrame(f, input.masks![i].data));
      return validateGeneratedFrames(out, input, 'subject-recolor');
    },
    release: async () => undefined,
    close: async () => undefined,
  };
}
