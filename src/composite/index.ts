/**
 * Composite: the generated person over the background plate, through a
 * feathered person mask, so the person's edge blends over a few pixels
 * instead of a hard cut. See README.md.
 */
import { loadOpenCV, type CV } from '../cv/opencv.js';
import { ReshootError } from '../util/errors.js';
import type { Frame, GrayFrame } from '../video/types.js';

export interface FeatherOptions {
  /** Grow (> 0) or shrink (< 0) the mask by this many pixels before feathering. Default 0. */
  grow?: number;
  /** Soft edge width: Gaussian blur with sigma = feather / 2 (0 = hard edge). Default 3 px. */
  feather?: number;
}

export interface CompositeOptions extends FeatherOptions {}

function checkGray(mask: GrayFrame, width: number, height: number, what: string): void {
  if (mask.width !== width || mask.height !== height || mask.data.length !== width * height) {
    throw new ReshootError(`composite: ${what} is ${mask.width}x${mask.height}, frames are ${width}x${height}`);
  }
}

function checkRgb(f: Frame, width: number, height: number, what: string): void {
  if (f.width !== width || f.height !== height || f.data.length !== width * height * 3) {
    throw new ReshootError(`composite: ${what} is ${f.width}x${f.height}, expected ${width}x${height} RGB`);
  }
}

/**
 * The alpha the composite uses: the mask grown/shrunk by `grow` pixels
 * (elliptical dilate/erode), then blurred with a Gaussian of sigma feather/2,
 * so alpha falls from 255 to 0 over about `feather` pixels on each side of
 * the grown edge.
 */
export function featherMaskSync(cv: CV, mask: GrayFrame, opts: FeatherOptions = {}): GrayFrame {
  const grow = opts.grow ?? 0;
  const feather = opts.feather ?? 3;
  if (!Number.isInteger(grow)) throw new ReshootError(`composite: grow must be a whole number of pixels (got ${grow})`);
  if (!(feather >= 0)) throw new ReshootError(`composite: feather must be >= 0 (got ${feather})`);
  if (grow === 0 && feather === 0) return mask;
  const src = cv.matFromArray(mask.height, mask.width, cv.CV_8UC1, mask.data as unknown as number[]);
  const tmp = new cv.Mat();
  try {
    if (grow !== 0) {
      const r = Math.abs(grow);
      const kernel = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(2 * r + 1, 2 * r + 1));
      if (grow > 0) cv.dilate(src, tmp, kernel);
      else cv.erode(src, tmp, kernel);
      kernel.delete();
    } else src.copyTo(tmp);
    if (feather > 0) {
      const sigma = feather / 2;
      const k = 2 * Math.ceil(3 * sigma) + 1;
      cv.GaussianBlur(tmp, src, new cv.Size(k, k), sigma, sigma, cv.BORDER_REPLICATE);
      return { width: mask.width, height: mask.height, data: new Uint8Array(src.data as Uint8Array) };
    }
    return { width: mask.width, height: mask.height, data: new Uint8Array(tmp.data as Uint8Array) };
  } finally {
    src.delete();
    tmp.delete();
  }
}

export async function featherMask(mask: GrayFrame, opts: FeatherOptions = {}): Promise<GrayFrame> {
  return featherMaskSync(await loadOpenCV(), mask, opts);
}

/** out = a * person + (1 - a) * plate per channel, a = alpha / 255, rounded. Alpha is used as given (already feathered). */
export function blendOver(person: Frame, plate: Frame, alpha: GrayFrame): Frame {
  const { width, height } = person;
  checkRgb(person, width, height, 'generated frame');
  checkRgb(plate, width, height, 'plate');
  checkGray(alpha, width, height, 'mask');
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const p = person.data;
  const b = plate.data;
  const a = alpha.data;
  for (let i = 0; i < n; i++) {
    const w = a[i];
    const j = i * 3;
    if (w === 255) {
      out[j] = p[j];
      out[j + 1] = p[j + 1];
      out[j + 2] = p[j + 2];
    } else if (w === 0) {
      out[j] = b[j];
      out[j + 1] = b[j + 1];
      out[j + 2] = b[j + 2];
    } else {
      // Integer form of round((w*p + (255-w)*b) / 255).
      out[j] = Math.floor((w * p[j] + (255 - w) * b[j] + 127) / 255);
      out[j + 1] = Math.floor((w * p[j + 1] + (255 - w) * b[j + 1] + 127) / 255);
      out[j + 2] = Math.floor((w * p[j + 2] + (255 - w) * b[j + 2] + 127) / 255);
    }
  }
  return { width, height, data: out };
}

/** Feathers `mask` and puts `person` (a generated frame) over `plate`. */
export async function compositeFrame(person: Frame, plate: Frame, mask: GrayFrame, opts: CompositeOptions = {}): Promise<Frame> {
  checkGray(mask, person.width, person.height, 'mask');
  return blendOver(person, plate, await featherMask(mask, opts));
}

/**
 * A segment: frame i = generated[i] over plates (one static plate or one per
 * frame) through masks[i]. Counts must match.
 */
export async function compositeSegment(
  generated: Frame[],
  plate: Frame | Frame[],
  masks: GrayFrame[],
  opts: CompositeOptions = {},
): Promise<Frame[]> {
  if (masks.length !== generated.length) throw new ReshootError(`composite: ${generated.length} frames but ${masks.length} masks`);
  if (Array.isArray(plate) && plate.length !== generated.length) {
    throw new ReshootError(`composite: ${generated.length} frames but ${plate.length} plates`);
  }
  const cv = await loadOpenCV();
  return generated.map((g, i) => blendOver(g, Array.isArray(plate) ? plate[i] : plate, featherMaskSync(cv, masks[i], opts)));
}
