/**
 * Progress events: what the orchestrator tells the CLI (progress bars) and
 * notebooks (subscribers). One shape for every stage; ETA is computed here
 * from the stage's own rate so every consumer shows the same number.
 */
/** Whole-video steps before the segments, in order (run.json steps; the step runner's names). */
const WHOLE_VIDEO_STEPS = ['decompose', 'stabilize', 'plate', 'plan', 'contacts'] as const;
/**
 * The stages timed inside each segment, in order (run.json segments[].seconds, bench per-segment
 * columns): decode, the segment chain's frame stages (pipeline/process.ts segmentChain), encode.
 * A new chain stage adds its name here and its entry in segmentChain.
 */
export const SEGMENT_STAGES = ['decode', 'generate', 'temporal', 'composite', 'footlock', 'encode'] as const;
/** Whole-video steps (run.json steps). */
export const STEP_NAMES = [...WHOLE_VIDEO_STEPS, 'finish'] as const;
/**
 * Every stage name, in pipeline order: the one list from which timing keys,
 * bench columns and progress labels are derived (built from the two lists above).
 */
export const STAGES = ['probe', ...WHOLE_VIDEO_STEPS, 'segment', ...SEGMENT_STAGES, 'finish'] as const;
export type StageName = (typeof STAGES)[number];

export interface ProgressEvent {
  type: 'progress';
  stage: StageName;
  /** Segment index for per-segment stages. */
  segment?: number;
  segments?: number;
  /** Frames (or units) done and total within this stage/segment. */
  done: number;
  total: number;
  percent: number;
  /** Seconds left in this stage at its current rate; undefined until measurable. */
  etaSeconds?: number;
}

export interface StageEvent {
  type: 'stage-start' | 'stage-end';
  stage: StageName;
  segment?: number;
  segments?: number;
  /** For segment events: the frames [start, end) the segment covers. */
  start?: number;
  end?: number;
  seconds?: number;
  /** True when a resumed run reused the stage's earlier output. */
  reused?: boolean;
  note?: string;
}

export type PipelineEvent = ProgressEvent | StageEvent;
export type PipelineListener = (event: PipelineEvent) => void;

/** Makes a ProgressFn-like reporter for one stage that emits ProgressEvents with an ETA. */
export function stageReporter(
  emit: PipelineListener,
  stage: StageName,
  where: { segment?: number; segments?: number } = {},
): (done: number, total?: number) => void {
  const started = performance.now();
  let lastEmit = 0;
  return (done, total = 0) => {
    const now = performance.now();
    // At most ~10 events a second, but always the last one.
    if (done < total && now - lastEmit < 100) return;
    lastEmit = now;
    const elapsed = (now - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    emit({
      type: 'progress',
      stage,
      ...where,
      done,
      total,
      percent: total > 0 ? Math.min(100, (100 * done) / total) : 0,
      etaSeconds: rate > 0 && total > 0 ? Math.max(0, (total - done) / rate) : undefined,
    });
  };
}
