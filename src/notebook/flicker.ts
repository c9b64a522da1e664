/**
 * Flicker metrics of several outputs against ONE input, for notebooks that
 * compare many variants of the same clip (05: joins, temporal methods, a
 * sweep). measureFlickerFrames (src/metrics/flicker.ts) recomputes the input's
 * forward and backward Farneback flow for every output it measures; here they
 * are computed once (`inputFlows`) and every `measureShared` call reuses them.
 * The numbers are those of measureFlickerFrames at flowScale 1 (the metric's
 * definition; test/notebook-flicker.test.ts compares the two).
 */
import {
  denseFlow, FARNEBACK_DEFAULTS, nonOcclusionMask, rgbToGray, type FlowField,
} from '../flow/index.js';
import { meanAbsDiff, meanFlowDistance, psnr, seamScores, ssim, warpPairError, type FidelityScore, type FlickerReport } from '../metrics/index.js';
import type { SegmentPlan } from '../segment/plan.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';

/** The input clip's flows, computed once: pair t holds the flow t -> t+1 and its non-occlusion mask. */
export interface InputFlows {
  input: Frame[];
  gray: GrayFrame[];
  forward: FlowField[];
  mask: Uint8Array[];
  /** Fraction of pixels each mask keeps. */
  coverage: number[];
  /** 95th-percentile magnitude of each forward flow (px). */
  p95: number[];
  /** E_pair of the input itself (the floor set by flow errors). */
  ePairInput: number[];
}

function mean(xs: number[]): number {
  const s = xs.filter((v) => Number.isFinite(v));
  return s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
}

function meanColor(f: Frame): [number, number, number] {
  const s = [0, 0, 0];
  for (let i = 0; i < f.data.length; i += 3) {
    s[0] += f.data[i];
    s[1] += f.data[i + 1];
    s[2] += f.data[i + 2];
  }
  const n = f.data.length / 3;
  return [s[0] / n, s[1] / n, s[2] / n];
}

// Same sampling as src/metrics/flicker.ts so the static verdict agrees.
function p95Magnitude(flow: FlowField): number {
  const n = flow.width * flow.height;
  const step = Math.max(1, Math.floor(n / 20000));
  const m: number[] = [];
  for (let i = 0; i < n; i += step) m.push(Math.hypot(flow.data[2 * i], flow.data[2 * i + 1]));
  m.sort((a, b) => a - b);
  return m[Math.min(m.length - 1, Math.floor(0.95 * (m.length - 1)))];
}

/** Forward and backward Farneback flow of every input pair (full size), the masks and the input's own E_pair. */
export async function inputFlows(input: Frame[]): Promise<InputFlows> {
  if (input.length < 2) throw new ReshootError(`flicker metrics need at least 2 frames (got ${input.length})`);
  const gray = input.map((f) => rgbToGray(f));
  const r: InputFlows = { input, gray, forward: [], mask: [], coverage: [], p95: [], ePairInput: [] };
  for (let t = 0; t + 1 < input.length; t++) {
    const fwd = await denseFlow(gray[t], gray[t + 1], FARNEBACK_DEFAULTS);
    const bwd = await denseFlow(gray[t + 1], gray[t], FARNEBACK_DEFAULTS);
    const mask = nonOcclusionMask(fwd, bwd);
    let kept = 0;
    for (let i = 0; i < mask.length; i++) kept += mask[i];
    r.forward.push(fwd);
    r.mask.push(mask);
    r.coverage.push(kept / mask.length);
    r.p95.push(p95Magnitude(fwd));
    r.ePairInput.push(await warpPairError(input[t], input[t + 1], fwd, mask));
  }
  return r;
}

export interface SharedFlickerOptions {
  plan?: SegmentPlan;
  /** Fidelity references, one frame per output frame. */
  raw?: Frame[];
  clean?: Frame[];
  /** SSIM of the fidelity references (slower). Default true. */
  ssim?: boolean;
  /** tOF needs one more flow per pair (on the output). Default true; false reports NaN. */
  tof?: boolean;
  /** Static-shot threshold, px. Default 0.5 (as measureFlickerFrames). */
  staticThreshold?: number;
}

/**
 * measureFlickerFrames(output, flows.input, opts) with the input's flows reused. `output` may be
 * shorter than the input: it is then measured against the input's first output.length frames.
 */
export async function measureShared(flows: InputFlows, output: Frame[], opts: SharedFlickerOptions = {}): Promise<FlickerReport> {
  const n = output.length;
  if (n < 2) throw new ReshootError(`flicker metrics need at least 2 frames (got ${n})`);
  if (n > flows.input.length) throw new ReshootError(`output has ${n} frames, the input ${flows.input.length}`);
  const { width: W, height: H } = flows.input[0];
  if (output[0].width !== W || output[0].height !== H) throw new ReshootError(`output frames are ${output[0].width}x${output[0].height} but the input is ${W}x${H}`);
  const plan = opts.plan;
  if (plan && plan.frameCount !== n) throw new ReshootError(`the plan covers ${plan.frameCount} frames but the video has ${n}`);
  const ePairOut: number[] = [], tof: number[] = [], mae: number[] = [];
  const withTof = opts.tof ?? true;
  const outGray = withTof ? output.map((f) => rgbToGray(f)) : [];
  for (let t = 0; t + 1 < n; t++) {
    ePairOut.push(await warpPairError(output[t], output[t + 1], flows.forward[t], flows.mask[t]));
    if (withTof) tof.push(meanFlowDistance(await denseFlow(outGray[t], outGray[t + 1], FARNEBACK_DEFAULTS), flows.forward[t]));
    mae.push(meanAbsDiff(output[t], output[t + 1]));
  }
  const withSsim = opts.ssim ?? true;
  const fidelity = async (refs: Frame[] | undefined): Promise<FidelityScore | null> => {
    if (!refs) return null;
    if (refs.length < n) throw new ReshootError(`reference frames were given for ${refs.length} of ${n} frames`);
    const p: number[] = [], s: number[] = [];
    for (let t = 0; t < n; t++) {
      const v = psnr(output[t], refs[t]);
      p.push(Number.isFinite(v) ? v : 100);
      if (withSsim) s.push(await ssim(output[t], refs[t]));
    }
    return { psnr: mean(p), ssim: s.length ? mean(s) : NaN };
  };
  const ePairIn = flows.ePairInput.slice(0, n - 1);
  const eOut = mean(ePairOut), eIn = mean(ePairIn);
  const threshold = opts.staticThreshold ?? 0.5;
  const p95 = mean(flows.p95.slice(0, n - 1));
  const isStatic = p95 < threshold;
  return {
    frames: n,
    flow: { method: 'farneback', params: FARNEBACK_DEFAULTS, scale: 1 },
    eWarp: { output: eOut, input: eIn, ratio: eOut / eIn },
    ePair: { output: ePairOut, input: ePairIn },
    maskCoverage: mean(flows.coverage.slice(0, n - 1)),
    tOF: withTof ? mean(tof) : NaN,
    temporalFlickering: isStatic ? (255 - mean(mae)) / 255 : null,
    inputMotion: { p95, static: isStatic, threshold },
    seams: plan && plan.segments.length > 1 ? seamScores(plan, ePairOut, output.map(meanColor), flows.input.slice(0, n).map(meanColor)) : null,
    fidelity: { raw: await fidelity(opts.raw), clean: await fidelity(opts.clean) },
  };
}
