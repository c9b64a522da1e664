/**
 * The step runner: timing, resume, "reused" events and the manifest for every
 * whole-video step, in one place. A step says what it produces and how to
 * load that back; the runner decides whether to run or reuse it.
 *
 * Resume rule: a step recorded `done` is reused when its output files exist
 * and its key (the config it depends on) is unchanged. Once one step runs,
 * every later step runs too (its inputs may have changed), and so does every
 * segment (`invalidated`).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { PipelineListener, StageName } from './events.js';
import type { RunFolder } from './run-folder.js';

export interface Step<T> {
  name: StageName;
  /** Files (relative to the run folder) that must exist for a recorded result to count. */
  outputs: readonly string[];
  /** What the step's result depends on (JSON-able); a change re-runs it and everything after it. */
  key?: unknown;
  /** A reason to skip the step (recorded as `skipped`); the step then yields null. */
  skip?: string | null;
  run(ctx: StepContext): Promise<T>;
  load(): Promise<T>;
}

export interface StepContext {
  report: (done: number, total?: number) => void;
  /** One line recorded with the step in run.json (what it found, fallbacks). */
  note(text: string): void;
}

export function keyOf(key: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(key ?? null))
    .digest('hex')
    .slice(0, 16);
}

export class StepRunner {
  /** True once any step ran in this process (later steps and segments must run too). */
  invalidated = false;

  constructor(
    readonly run: RunFolder,
    private readonly emit: PipelineListener,
    private readonly reporter: (stage: StageName) => (done: number, total?: number) => void,
  ) {}

  /** True when the recorded step can be reused. */
  reusable(step: Pick<Step<unknown>, 'name' | 'outputs' | 'key'>): boolean {
    if (this.invalidated) return false;
    const rec = this.run.manifest.steps[step.name];
    if (rec?.status !== 'done') return false;
    if (rec.key !== undefined && rec.key !== keyOf(step.key)) return false;
    return step.outputs.every((f) => existsSync(this.run.path(f)));
  }

  async step<T>(step: Step<T>): Promise<T | null> {
    if (step.skip) {
      const rec = this.run.manifest.steps[step.name];
      if (rec?.status !== 'skipped' || rec.note !== step.skip) await this.run.markStep(step.name, { status: 'skipped', note: step.skip });
      return null;
    }
    if (this.reusable(step)) {
      this.emit({ type: 'stage-end', stage: step.name, reused: true });
      return step.load();
    }
    this.invalidated = true;
    this.emit({ type: 'stage-start', stage: step.name });
    const t0 = performance.now();
    let out: T;
    const notes: string[] = [];
    try {
      out = await step.run({ report: this.reporter(step.name), note: (text) => notes.push(text) });
    } catch (err) {
      await this.run.markStep(step.name, { status: 'failed', note: (err as Error)?.message ?? String(err) }).catch(() => undefined);
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    await this.run.markStep(step.name, { status: 'done', seconds, files: [...step.outputs], key: keyOf(step.key), note: notes.length ? notes.join('; ') : undefined });
    this.emit({ type: 'stage-end', stage: step.name, seconds });
    return out;
  }
}
