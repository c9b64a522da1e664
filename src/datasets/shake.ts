import { deriveSeed, gaussian, mulberry32 } from '../util/rng.js';

/**
 * Standard deviation (in samples) of the Gaussian low-pass filter whose
 * amplitude response exp(-2 pi^2 sigma^2 f^2) is 1/sqrt(2) (-3 dB) at
 * `cutoff` cycles per sample.
 */
export function gaussianSigmaForCutoff(cutoff: number): number {
  return Math.sqrt(Math.LN2 / (4 * Math.PI * Math.PI)) / cutoff;
}

/** Normalised Gaussian kernel, radius ceil(4 sigma). */
export function gaussianKernel(sigma: number): number[] {
  const r = Math.max(1, Math.ceil(4 * sigma));
  const k: number[] = [];
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp((-i * i) / (2 * sigma * sigma));
    k.push(v);
    sum += v;
  }
  return k.map((v) => v / sum);
}

/**
 * Band-limited noise: white Gaussian noise (from `seed`/`stream`) filtered by
 * a Gaussian low-pass with -3 dB cut-off `cutoff` cycles/sample, then made
 * zero-mean and scaled so its RMS over the `n` samples is exactly `rms`.
 * The filter runs over padding on both ends, so there is no edge transient.
 */
export function bandLimitedNoise(n: number, cutoff: number, rms: number, seed: number, stream: number): number[] {
  if (n <= 0) return [];
  if (rms === 0) return new Array<number>(n).fill(0);
  if (!(cutoff > 0 && cutoff <= 0.5)) throw new RangeError(`cut-off ${cutoff} cycles/sample must be in (0, 0.5]`);
  const kernel = gaussianKernel(gaussianSigmaForCutoff(cutoff));
  const r = (kernel.length - 1) / 2;
  const normal = gaussian(mulberry32(deriveSeed(seed, stream)));
  const white = Array.from({ length: n + 2 * r }, () => normal());
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let j = 0; j < kernel.length; j++) acc += kernel[j] * white[i + j];
    out.push(acc);
  }
  const mean = out.reduce((a, b) => a + b, 0) / n;
  const centred = out.map((v) => v - mean);
  const actual = Math.sqrt(centred.reduce((a, b) => a + b * b, 0) / n);
  return actual > 0 ? centred.map((v) => (v * rms) / actual) : centred;
}
