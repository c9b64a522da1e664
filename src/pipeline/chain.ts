/**
 * The segment chain: typed frame stages that one segment's frames flow
 * through, in batches (a batch is what a generator takes at once: a chunk for
 * frame-independent generators, the whole segment for `cmd:`).
 *
 *   source (stabilized canvas frames + subject masks + poses)
 *     -> generate -> temporal -> composite -> foot lock -> (segment clip)
 *
 * A stage is `{ name, open(segment), push(batch) -> batch, close() }` over plain
 * arrays, so the chain can be tested without video files.
 */
import type { PoseFrame } from '../pose/types.js';
import type { Segment } from '../segment/index.js';
import type { Frame, GrayFrame } from '../video/types.js';
import type { StageName } from './events.js';

export interface ChainFrame {
  /** Video frame index. */
  t: number;
  /** The stabilized input frame (what the generator conditions on; the temporal stage's flow guide). */
  input: Frame;
  /** The result so far. */
  output: Frame;
  /** The subject's alpha (0-255) in the same coordinates, or null (no masks). */
  mask: GrayFrame | null;
  /** The subject's pose in the same coordinates, or null. */
  pose: PoseFrame | null;
}

export interface FrameStage {
  readonly name: StageName;
  open?(segment: Segment): Promise<void> | void;
  push(batch: ChainFrame[]): Promise<ChainFrame[]> | ChainFrame[];
  close?(): Promise<void> | void;
}

/**
 * Runs `batches` through `stages`, yielding finished frames in order.
 * `time(stage, seconds)` receives each stage's own time (the source's time is the caller's).
 */
export async function* runChain(
  stages: readonly FrameStage[],
  segment: Segment,
  batches: AsyncIterable<ChainFrame[]> | Iterable<ChainFrame[]>,
  time: (stage: StageName, seconds: number) => void = () => undefined,
): AsyncGenerator<ChainFrame> {
  for (const s of stages) await s.open?.(segment);
  try {
    for await (const batch of batches) {
      let b = batch;
      for (const s of stages) {
        const t0 = performance.now();
        b = await s.push(b);
        time(s.name, (performance.now() - t0) / 1000);
        if (b.length !== batch.length) throw new Error(`stage ${s.name} returned ${b.length} frames for ${batch.length}`);
      }
      for (const f of b) yield f; // not yield*: tslab's TypeScript 5.0 rejects delegating to an array iterator here
    }
  } finally {
    for (const s of stages) await s.close?.();
  }
}

/** A per-frame stage from a function (most stages are one). */
export function perFrame(name: StageName, fn: (f: ChainFrame) => Frame | Promise<Frame>, hooks: Pick<FrameStage, 'open' | 'close'> = {}): FrameStage {
  return {
    name,
    ...hooks,
    async push(batch) {
      const out: ChainFrame[] = [];
      for (const f of batch) out.push({ ...f, output: await fn(f) });
      return out;
    },
  };
}
