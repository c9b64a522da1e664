/**
 * The run folder: everything one `reshoot process` run produced, plus run.json,
 * the manifest that makes it resumable. run.json is rewritten atomically after
 * every completed step, so an interruption (Ctrl-C, crash) leaves a manifest
 * that describes exactly the files that are complete.
 */
import { existsSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ReshootError } from '../util/errors.js';
import { ensureDir, writeJsonAtomic } from '../util/atomic.js';
import { readContacts, type Contacts } from '../footlock/index.js';
import { readPoseTrack, type PoseTrack } from '../pose/index.js';
import { validatePlan, type SegmentPlan } from '../segment/index.js';
import { loadTransforms, type TransformsData } from '../stabilize/index.js';
import type { PipelineConfig } from './config.js';

export const RUN_SCHEMA = 'reshoot.run/1';

/** The run folder processVideo uses when none is given: `<output without extension>.run` beside the output. */
export function defaultRunDir(output: string): string {
  const out = resolve(output);
  return join(dirname(out), `${basename(out, extname(out))}.run`);
}

/** Segment k's work folder inside a run folder (the generator's scratch, a queue worker's segment lock). */
export function segmentWorkDir(runDir: string, k: number): string {
  return join(runDir, 'work', `seg-${String(k).padStart(2, '0')}`);
}

/** The run folder's files, by role (one list; the bench, the demo and the notebooks use these names). */
export const RUN_FILES = {
  manifest: 'run.json',
  poses: 'poses.json',
  masks: 'masks.raw',
  masksSidecar: 'masks.json',
  shots: 'shots.json',
  decompose: 'decompose.json',
  reference: 'reference.png',
  transforms: 'transforms.json',
  plate: 'plate.png',
  plateConfidence: 'plate-confidence.png',
  plateHoles: 'plate-holes.png',
  plan: 'plan.json',
  contacts: 'contacts.json',
  output: 'output.mp4',
} as const;

export type StepStatus = 'pending' | 'done' | 'skipped' | 'failed';

export interface StepRecord {
  status: StepStatus;
  seconds?: number;
  /** Files (relative to the run folder) the step produced. */
  files?: string[];
  /** Hash of the config the step depended on (src/pipeline/steps.ts). */
  key?: string;
  note?: string;
}

export interface SegmentRecord {
  index: number;
  label: string;
  /** Frames [start, end) of the stabilized video this segment covers (overlaps included). */
  start: number;
  end: number;
  status: StepStatus;
  file?: string;
  /** Wall seconds per stage inside this segment. */
  seconds: Record<string, number>;
  peakRssMB?: number;
  /** Largest foot-lock shift of the person layer in this segment, px (finish grows the subject region by it). */
  lockShiftMax?: number;
  generator?: string;
  /** Hash of what the segment depended on; a change re-runs it on --resume. */
  key?: string;
}

export interface RunManifest {
  schema: typeof RUN_SCHEMA;
  createdAt: string;
  updatedAt: string;
  status: 'running' | 'done' | 'failed' | 'interrupted';
  error?: string;
  input: { path: string; bytes: number; mtimeMs: number };
  output: string;
  config: PipelineConfig;
  versions: Record<string, string>;
  video?: { width: number; height: number; fps: { num: number; den: number }; frameCount: number; hasAudio: boolean };
  /** Whole-video steps: decompose, stabilize, plate, plan, contacts, finish (blend + re-shake + scene + encode). */
  steps: Record<string, StepRecord>;
  /** What the run noticed and did about it: no person, shots, stabilizer fallbacks, clipped canvas. */
  notes?: string[];
  /** Stabilized canvas the generator saw (src/stabilize canvas geometry). */
  canvas?: { width: number; height: number; offsetX: number; offsetY: number; clipped: boolean };
  segments: SegmentRecord[];
  peakRssMB: number;
  totalSeconds?: number;
}

export class RunFolder {
  /**
   * False for a segment job of a queued run (src/queue): several workers share the folder, so only the
   * prepare and finish jobs write run.json; a segment records itself in segments/seg-NN.json.
   */
  persist = true;

  private constructor(
    readonly dir: string,
    readonly manifest: RunManifest,
  ) {}

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /**
   * Opens `dir` for a run. A folder holding a previous run is reused only with
   * `resume` (and only when input and config match); otherwise an existing,
   * non-empty folder is refused so nothing the user had is overwritten.
   */
  static async open(
    dir: string,
    init: Omit<RunManifest, 'schema' | 'createdAt' | 'updatedAt' | 'status' | 'steps' | 'segments' | 'peakRssMB'>,
    opts: { resume?: boolean; overwrite?: boolean; persist?: boolean } = {},
  ): Promise<{ run: RunFolder; resumed: boolean }> {
    const manifestPath = join(dir, 'run.json');
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ReshootError(`run folder ${dir} is a file`);
    const nonEmpty = existsSync(dir) && readdirSync(dir).length > 0;
    if (opts.resume && existsSync(manifestPath)) {
      const previous = JSON.parse(await readFile(manifestPath, 'utf8')) as RunManifest;
      if (previous.schema !== RUN_SCHEMA) throw new ReshootError(`${manifestPath} is not a reshoot run manifest (schema ${previous.schema})`);
      if (previous.input.bytes !== init.input.bytes || previous.input.mtimeMs !== init.input.mtimeMs) {
        throw new ReshootError(`cannot resume ${dir}: the input ${init.input.path} changed since that run (size or modification time differ)`);
      }
      // A changed config is allowed: each step and segment records the config it depended on
      // (src/pipeline/steps.ts), so only what the change affects runs again.
      const manifest: RunManifest = { ...previous, output: init.output, config: init.config, status: 'running', error: undefined, versions: init.versions };
      const run = new RunFolder(dir, manifest);
      run.persist = opts.persist ?? true;
      await run.save();
      return { run, resumed: true };
    }
    if (opts.resume && !existsSync(manifestPath) && nonEmpty) {
      throw new ReshootError(`cannot resume: ${dir} has no run.json`);
    }
    if (nonEmpty && !opts.overwrite && !opts.resume) {
      throw new ReshootError(`run folder ${dir} already exists and is not empty (pass --resume to continue that run, or --overwrite to start over in it)`);
    }
    await ensureDir(dir);
    const now = new Date().toISOString();
    const manifest: RunManifest = { schema: RUN_SCHEMA, createdAt: now, updatedAt: now, status: 'running', steps: {}, segments: [], peakRssMB: 0, ...init };
    const run = new RunFolder(dir, manifest);
    await run.save();
    return { run, resumed: false };
  }

  /** True when `step` completed in this or an earlier (resumed) run and its files still exist. */
  isDone(step: string): boolean {
    const s = this.manifest.steps[step];
    return s?.status === 'done' && (s.files ?? []).every((f) => existsSync(this.path(f)));
  }

  // Typed accessors: every reader of a run folder (pipeline, bench, demo, notebooks) goes through these,
  // so a file is validated the same way wherever it is read.
  transforms(): Promise<TransformsData> {
    return loadTransforms(this.path(RUN_FILES.transforms));
  }
  plan(): Promise<SegmentPlan> {
    return readFile(this.path(RUN_FILES.plan), 'utf8').then((t) => validatePlan(JSON.parse(t), this.path(RUN_FILES.plan)));
  }
  poses(): Promise<PoseTrack> {
    return readPoseTrack(this.path(RUN_FILES.poses));
  }
  contacts(): Promise<Contacts> {
    return readContacts(this.path(RUN_FILES.contacts));
  }
  /** Path of segment k's record (written by a segment job of a queued run; finish merges it into run.json). */
  segmentRecordPath(k: number): string {
    return this.path('segments', `seg-${String(k).padStart(2, '0')}.json`);
  }
  /** Path of segment k's clip. */
  segmentClip(k: number): string {
    return this.path('segments', `seg-${String(k).padStart(2, '0')}.mp4`);
  }

  async markStep(step: string, record: StepRecord): Promise<void> {
    this.manifest.steps[step] = record;
    await this.save();
  }

  /**
   * Marks the run interrupted, synchronously (signal handlers cannot await).
   * Completed steps and segments stay recorded, so --resume continues from them.
   */
  markInterruptedSync(signal: string): void {
    if (!this.persist) return;
    this.manifest.status = 'interrupted';
    this.manifest.error = `interrupted by ${signal}`;
    this.manifest.updatedAt = new Date().toISOString();
    const tmp = join(this.dir, `.run.${process.pid}.json`);
    writeFileSync(tmp, `${JSON.stringify(this.manifest, null, 2)}\n`);
    renameSync(tmp, join(this.dir, 'run.json'));
  }

  async save(): Promise<void> {
    if (!this.persist) return;
    this.manifest.updatedAt = new Date().toISOString();
    // maxRSS is the process's high-water mark (KiB), so short spikes between saves count too.
    this.manifest.peakRssMB = Math.max(this.manifest.peakRssMB, process.resourceUsage().maxRSS / 1024);
    await writeJsonAtomic(join(this.dir, 'run.json'), this.manifest, { overwrite: true });
  }
}

