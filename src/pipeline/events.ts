/**
 * Progress events: what the orchestrator tells the CLI (progress bars) and
 * notebooks (subscribers). One shape for every stage; ETA is computed here
 * from the stage's own rate so every consumer shows the same number.
 */
/**
 * Every stage name, in pipeline order: the one list from which timing keys,
 * bench columns and progress labels are derived.
 * Whole-video steps: probe, decompose, stabilize, plate, plan, contacts, finish.
 * Per-segment frame stages: decode, generate, temporal, composite, footlock, encode.
 */
export const STAGES = [
  'probe',
  'decompose',
  'stabilize',
  'plate',
  'plan',
  'contacts',
  'segment',
  'decode',
  'generate',
  'temporal',
  'composite',
  'footlock',
  'encode',
  'finish',
] as const;
export type StageName = (typeof STAGES)[number];
/** The stages timed inside each segment (run.json segments[].seconds, bench per-segment columns). */
export const SEGMENT_STAGES = ['decode', 'generate', 'temporal', 'composite', 'footlock', 'encode'] as const satisfies readonly StageName[];
/** Whole-video steps (run.json steps). */
export const STEP_NAMES = ['decompose', 'stabilize', 'plate', 'plan', 'contacts', 'finish'] as const satisfies readonly StageName[];

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
