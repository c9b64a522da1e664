import { loadOpenCV } from '../cv/opencv.js';
import { ReshootError } from '../util/errors.js';
import { rgbToLuma } from '../flow/gray.js';
import type { Frame, GrayFrame } from '../video/types.js';

/** PSNR cap for identical images (dB), as in src/metrics. */
export const PLATE_PSNR_CAP = 100;

function sameSize(a: Frame, b: Frame, region?: GrayFrame): void {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) {
    throw new ReshootError(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  if (region && (region.width !== a.width || region.height !== a.height)) throw new ReshootError('region mask has the wrong size');
}

/** PSNR (dB, 8-bit peak 255) over all RGB values, or only pixels where region > 0. NaN for an empty region. */
export function psnr(a: Frame, b: Frame, region?: GrayFrame): number {
  sameSize(a, b, region);
  let se = 0;
  let n = 0;
  const pixels = a.width * a.height;
  for (let p = 0; p < pixels; p++) {
    if (region && region.data[p] === 0) continue;
    for (let c = 0; c < 3; c++) {
      const d = a.data[p * 3 + c] - b.data[p * 3 + c];
      se += d * d;
    }
    n += 3;
  }
  if (n === 0) return NaN;
  if (se === 0) return PLATE_PSNR_CAP;
  return Math.min(PLATE_PSNR_CAP, 10 * Math.log10((255 * 255) / (se / n)));
}

/**
 * SSIM (Wang et al. 2004) on luma (BT.601), Gaussian window sigma 1.5 (11x11),
 * K1 = 0.01, K2 = 0.03, L = 255: the mean of the SSIM map, over all pixels or
 * only where region > 0 (NaN for an empty region).
 */
export async function ssim(a: Frame, b: Frame, region?: GrayFrame): Promise<number> {
  sameSize(a, b, region);
  const cv = await loadOpenCV();
  const { width: w, height: h } = a;
  const n = w * h;
  const ya = rgbToLuma(a);
  const yb = rgbToLuma(b);
  const prod = (x: Float32Array, y: Float32Array) => {
    const o = new Float32Array(n);
    for (let p = 0; p < n; p++) o[p] = x[p] * y[p];
    return o;
  };
  const blur = (x: Float32Array): Float32Array => {
    const src = cv.matFromArray(h, w, cv.CV_32FC1, x as unknown as number[]);
    const dst = new cv.Mat();
    try {
      cv.GaussianBlur(src, dst, new cv.Size(11, 11), 1.5, 1.5, cv.BORDER_REFLECT);
      return new Float32Array(dst.data32F);
    } finally {
      src.delete();
      dst.delete();
    }
  };
  const ma = blur(ya);
  const mb = blur(yb);
  const saa = blur(prod(ya, ya));
  const sbb = blur(prod(yb, yb));
  const sab = blur(prod(ya, yb));
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  let count = 0;
  for (let p = 0; p < n; p++) {
    if (region && region.data[p] === 0) continue;
    const va = saa[p] - ma[p] * ma[p];
    const vb = sbb[p] - mb[p] * mb[p];
    const cov = sab[p] - ma[p] * mb[p];
    sum += ((2 * ma[p] * mb[p] + c1) * (2 * cov + c2)) / ((ma[p] * ma[p] + mb[p] * mb[p] + c1) * (va + vb + c2));
    count++;
  }
  return count === 0 ? NaN : sum / count;
}
