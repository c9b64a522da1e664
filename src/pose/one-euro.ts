/**
 * One Euro filter (Casiez, Roussel, Vogel, CHI 2012): an adaptive low-pass whose
 * cutoff rises with speed, so slow jitter is smoothed while fast motion lags little.
 *
 *   alpha(fc, dt) = 1 / (1 + tau / dt),  tau = 1 / (2 pi fc)
 *   dx_t  = (x_t - xhat_{t-1}) / dt
 *   dxhat_t = alpha(dCutoff) dx_t + (1 - alpha(dCutoff)) dxhat_{t-1}
 *   fc_t  = minCutoff + beta |dxhat_t|
 *   xhat_t = alpha(fc_t) x_t + (1 - alpha(fc_t)) xhat_{t-1}
 * The first sample passes through unchanged (dxhat = 0).
 */
export interface OneEuroParams {
  /** Cutoff (Hz) at rest: lower = smoother when still. */
  minCutoff: number;
  /** Speed coefficient (1/px for pixel signals): higher = less lag on fast motion. */
  beta: number;
  /** Cutoff (Hz) for the derivative estimate. */
  dCutoff: number;
}

/** Defaults for keypoints in pixels at video rates; chosen so a 100 px/s motion raises the cutoff to 6 Hz. */
export const DEFAULT_ONE_EURO: OneEuroParams = { minCutoff: 1.0, beta: 0.05, dCutoff: 1.0 };

export function oneEuroAlpha(cutoff: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

export class OneEuroFilter {
  private xPrev: number | undefined;
  private dxPrev = 0;
  private tPrev = 0;

  constructor(readonly params: OneEuroParams) {
    if (!(params.minCutoff > 0) || !(params.dCutoff > 0) || !(params.beta >= 0)) {
      throw new Error(`One Euro filter needs minCutoff > 0, dCutoff > 0, beta >= 0 (got ${JSON.stringify(params)})`);
    }
  }

  /** Filters sample x taken at time t (seconds, increasing). */
  filter(x: number, t: number): number {
    if (this.xPrev === undefined) {
      this.xPrev = x;
      this.dxPrev = 0;
      this.tPrev = t;
      return x;
    }
    const dt = t - this.tPrev;
    if (!(dt > 0)) return this.xPrev;
    const dx = (x - this.xPrev) / dt;
    const ad = oneEuroAlpha(this.params.dCutoff, dt);
    const dxHat = ad * dx + (1 - ad) * this.dxPrev;
    const cutoff = this.params.minCutoff + this.params.beta * Math.abs(dxHat);
    const a = oneEuroAlpha(cutoff, dt);
    const xHat = a * x + (1 - a) * this.xPrev;
    this.xPrev = xHat;
    this.dxPrev = dxHat;
    this.tPrev = t;
    return xHat;
  }

  /** Forgets the state: the next sample passes through (used after a gap in a keypoint's validity). */
  reset(): void {
    this.xPrev = undefined;
    this.dxPrev = 0;
  }
}
