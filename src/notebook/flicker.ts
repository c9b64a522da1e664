/**
 * Flicker metrics of several outputs against ONE input, for notebooks that
 * compare many variants of the same clip (05: joins, temporal methods, a
 * sweep). The measurement is measureFlickerFrames' own (src/metrics/flicker.ts);
 * the input's forward and backward flows are kept in an InputFlowCache, so only
 * the first output measured pays for them.
 */
import { InputFlowCache, measureFlickerFrames, type FlickerOptions, type FlickerReport } from '../metrics/index.js';
import type { Frame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';

/** One input clip and the cache of its flows (filled by the first measureShared call). */
export interface InputFlows {
  input: Frame[];
  cache: InputFlowCache;
}

/** The shared input of several measureShared calls. */
export async function inputFlows(input: Frame[]): Promise<InputFlows> {
  if (input.length < 2) throw new ReshootError(`flicker metrics need at least 2 frames (got ${input.length})`);
  return { input, cache: new InputFlowCache() };
}

export type SharedFlickerOptions = Pick<FlickerOptions, 'plan' | 'ssim' | 'tof' | 'staticThreshold'> & {
  /** Fidelity references, one frame per output frame. */
  raw?: Frame[];
  clean?: Frame[];
};

/**
 * measureFlickerFrames(output, flows.input, opts) with the input's flows reused (full-size flow, the
 * metric's definition). `output` may be shorter than the input: it is then measured against the
 * input's first output.length frames.
 */
export async function measureShared(flows: InputFlows, output: Frame[], opts: SharedFlickerOptions = {}): Promise<FlickerReport> {
  const n = output.length;
  if (n < 2) throw new ReshootError(`flicker metrics need at least 2 frames (got ${n})`);
  if (n > flows.input.length) throw new ReshootError(`output has ${n} frames, the input ${flows.input.length}`);
  const { width: W, height: H } = flows.input[0];
  if (output[0].width !== W || output[0].height !== H) throw new ReshootError(`output frames are ${output[0].width}x${output[0].height} but the input is ${W}x${H}`);
  for (const [k, refs] of [['raw', opts.raw], ['clean', opts.clean]] as const) {
    if (refs && refs.length < n) throw new ReshootError(`${k} reference frames were given for ${refs.length} of ${n} frames`);
  }
  return measureFlickerFrames(output, flows.input.slice(0, n), {
    ...opts,
    raw: opts.raw?.slice(0, n),
    clean: opts.clean?.slice(0, n),
    flowScale: 1,
    inputFlows: flows.cache,
  });
}
