import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { PRESETS, resolveConfig, type PipelineConfig, type PipelineOverrides, type PresetName } from '../../pipeline/config.js';
import type { PipelineEvent } from '../../pipeline/events.js';
import { preflightProcess } from '../../pipeline/preflight.js';
import { processVideo, type ProcessResult } from '../../pipeline/process.js';
import { defaultRunDir } from '../../pipeline/run-folder.js';
import { BACKGROUND_MODES, type BackgroundMode, type PlateMethod } from '../../composite/index.js';
import { parseSubjectRule } from '../../pose/people.js';
import { ReshootError } from '../../util/errors.js';
import { probeVideo } from '../../video/index.js';
import { progressBar, type Progress } from '../progress.js';
import { GEN_SIZE_MAX, GEN_SIZE_MIN } from './gen-size.js';

export interface ProcessCliOptions {
  out: string;
  preset: string;
  config?: string;
  generator?: string;
  /** Working size of style: generators (short side, px). */
  genSize?: number;
  /** What a style: generator restyles: frame | subject. */
  genScope?: string;
  /** comfyui: workflow (API format). */
  workflow?: string;
  /** wan-animate: refert_num, 1 or 5. */
  refertNum?: number;
  segments?: number;
  overlap?: number;
  window?: number;
  smoother?: string;
  stabilize: boolean;
  footlock: boolean;
  temporal: boolean;
  background?: string;
  /** Old flag, kept as an alias: median|inpaint = --background plate with that plate; off = --background generated. */
  bgPlate?: string;
  seed?: number;
  /** pose.subject: auto | largest | center | <x>,<y> | <id>. */
  subject?: string;
  runDir?: string;
  resume?: boolean;
  overwrite?: boolean;
  /** One segment at a time (processVideo `sequential`). */
  sequential?: boolean;
  json?: boolean;
}

/** Builds the run's config: preset, then a --config JSON file, then the flags (later wins). */
export function configFromFlags(opts: Omit<ProcessCliOptions, 'out'>): PipelineConfig {
  if (!PRESETS.includes(opts.preset as PresetName)) throw new ReshootError(`--preset must be one of ${PRESETS.join(', ')}; got "${opts.preset}"`);
  let fromFile: PipelineOverrides = {};
  if (opts.config) {
    if (!existsSync(opts.config)) throw new ReshootError(`--config ${opts.config} not found`);
    try {
      fromFile = JSON.parse(readFileSync(opts.config, 'utf8')) as PipelineOverrides;
    } catch (err) {
      throw new ReshootError(`--config ${opts.config} is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (opts.bgPlate !== undefined && !['median', 'inpaint', 'off'].includes(opts.bgPlate)) {
    throw new ReshootError(`--bg-plate must be median, inpaint or off; got "${opts.bgPlate}"`);
  }
  if (opts.background !== undefined && !(BACKGROUND_MODES as readonly string[]).includes(opts.background)) {
    throw new ReshootError(`--background must be one of ${BACKGROUND_MODES.join(', ')}; got "${opts.background}"`);
  }
  if (opts.genSize !== undefined) checkGenSize(opts.genSize);
  if (opts.genScope !== undefined && !(GEN_SCOPES as readonly string[]).includes(opts.genScope)) {
    throw new ReshootError(`--gen-scope must be one of ${GEN_SCOPES.join(', ')}; got "${opts.genScope}"`);
  }
  if (opts.refertNum !== undefined && opts.refertNum !== 1 && opts.refertNum !== 5) throw new ReshootError(`--refert-num must be 1 or 5 (Wan2.2-Animate asserts it); got ${opts.refertNum}`);
  if (opts.workflow !== undefined && !existsSync(opts.workflow)) throw new ReshootError(`--workflow ${opts.workflow} not found`);
  // The flag's own one-line error, before zod's.
  if (opts.subject !== undefined) parseSubjectRule(opts.subject);
  const alias: PipelineOverrides['background'] =
    opts.bgPlate === undefined ? undefined : opts.bgPlate === 'off' ? { mode: 'generated' } : { mode: 'plate', plate: opts.bgPlate as PlateMethod };
  const flags: PipelineOverrides = {
    generator: { spec: opts.generator, seed: opts.seed, size: opts.genSize, scope: opts.genScope as PipelineConfig['generator']['scope'] | undefined, workflow: opts.workflow && resolve(opts.workflow), refertNum: opts.refertNum as 1 | 5 | undefined },
    segments: { count: opts.segments, overlap: opts.overlap },
    ...(opts.subject !== undefined && { pose: { subject: opts.subject } }),
    stabilize: {
      window: opts.window,
      smoother: (opts.smoother ?? (opts.window !== undefined ? 'moving-average' : undefined)) as PipelineConfig['stabilize']['smoother'] | undefined,
      ...(opts.stabilize === false && { enabled: false }),
    },
    ...(opts.footlock === false && { footlock: { enabled: false } }),
    ...(opts.temporal === false && { temporal: { enabled: false } }),
    ...((alias || opts.background) && { background: { ...alias, ...(opts.background && { mode: opts.background as BackgroundMode }) } }),
  };
  const preset = opts.preset as PresetName;
  return resolveConfig(merge(fromFile, flags), preset);
}

// Bounds of --gen-size, in their own module so the CLI's option table needs no import of this one.
export { GEN_SIZE_MIN, GEN_SIZE_MAX } from './gen-size.js';
export const GEN_SCOPES = ['frame', 'subject'] as const;

/**
 * Checks a --gen-size value. Multiples of 4 because the network halves the
 * size twice and its transposed convs double it back (other sizes come out
 * misaligned); 16 is the smallest that still has a 4x4 core.
 */
export function checkGenSize(px: number): number {
  if (!Number.isInteger(px) || px < GEN_SIZE_MIN || px > GEN_SIZE_MAX || px % 4 !== 0) {
    throw new ReshootError(`--gen-size must be a multiple of 4 from ${GEN_SIZE_MIN} to ${GEN_SIZE_MAX} (the style generator's short side in px, e.g. 256, 384, 512); got ${px}`);
  }
  return px;
}

function merge(a: PipelineOverrides, b: PipelineOverrides): PipelineOverrides {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = { ...((a as Record<string, object>)[k] ?? {}), ...stripUndefined(v as object) };
    else if (v !== undefined) out[k] = v;
  }
  return out as PipelineOverrides;
}

function stripUndefined(o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Progress bars per stage (and per segment) from pipeline events; a one-line log when bars are off. */
export function cliListener(log: (s: string) => void): { onEvent: (e: PipelineEvent) => void; stop(): void } {
  let bar: Progress | null = null;
  // Whose bar it is (stage and segment): with segments in flight together, a bar only shows its own progress.
  let owner = '';
  const stop = () => {
    bar?.stop();
    bar = null;
    owner = '';
  };
  return {
    onEvent(e) {
      const where = e.segment !== undefined ? ` ${e.segment + 1}/${e.segments ?? '?'}` : '';
      const who = `${e.stage}${where}`;
      // A segment's step (segments overlap: several are in flight): one line each, the bar stays the segment's.
      if (e.segment !== undefined && e.stage !== 'segment') {
        if (e.type === 'stage-start') log(`segment${where}: ${e.stage}`);
        return;
      }
      if (e.type === 'stage-start') {
        // Another segment's bar keeps running; this one gets a bar when that one ends.
        if (e.stage === 'segment' && owner.startsWith('segment ')) return;
        stop();
        bar = progressBar(who);
        owner = who;
      } else if (e.type === 'progress') {
        if (!bar && e.stage === 'segment') {
          bar = progressBar(who);
          owner = who;
        }
        if (owner === who) bar?.update(e.done, e.total);
      } else if (e.type === 'stage-end') {
        if (owner === who || !owner.startsWith('segment ')) stop();
        if (e.reused) log(`${e.stage}${where}: reused from the earlier run`);
        else if (e.seconds !== undefined && (e.stage === 'segment' || e.seconds >= 1)) log(`${e.stage}${where}: ${e.seconds.toFixed(1)} s`);
      }
    },
    stop,
  };
}

/** Probe, then every check that needs no decoding (src/pipeline/preflight.ts). */
async function preflight(input: string, output: string, runDir: string | undefined, config: PipelineConfig, opts: { config?: string; resume?: boolean; overwrite?: boolean }): Promise<void> {
  if (!existsSync(input)) throw new ReshootError(`input ${input} not found`);
  const info = await probeVideo(resolve(input));
  preflightProcess({
    input,
    output,
    runDir: runDir ?? defaultRunDir(output),
    info,
    config,
    inputs: opts.config ? [opts.config] : [],
    overwrite: opts.overwrite,
    resume: opts.resume,
  });
}

export async function processCommand(input: string, opts: ProcessCliOptions): Promise<void> {
  const config = configFromFlags(opts);
  await preflight(input, opts.out, opts.runDir, config, opts);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const listener = cliListener(log);
  let result: ProcessResult;
  try {
    result = await processVideo({
      input,
      output: opts.out,
      config,
      runDir: opts.runDir,
      resume: opts.resume,
      overwrite: opts.overwrite,
      sequential: opts.sequential,
      onEvent: listener.onEvent,
    });
  } finally {
    listener.stop();
  }
  const m = result.run.manifest;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
    return;
  }
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`output   ${result.output}`);
  say(`run      ${result.runDir} (run.json: config, versions, timings)${result.resumed ? ' [resumed]' : ''}`);
  say(`total    ${result.seconds.toFixed(1)} s, peak RSS ${m.peakRssMB.toFixed(0)} MB`);
  for (const s of m.segments) {
    const stages = Object.entries(s.seconds)
      .filter(([k]) => k !== 'total')
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ');
    say(`segment  ${s.index} ${s.label.padEnd(9)} frames ${s.start}-${s.end - 1}: ${(s.seconds.total ?? 0).toFixed(1)} s (${stages})`);
  }
}

export interface BatchCliOptions extends Omit<ProcessCliOptions, 'out' | 'runDir' | 'json'> {
  outDir: string;
  concurrency: number;
}

const VIDEO_EXTENSIONS = new Set(['.mp4', '.mov', '.avi', '.mkv', '.webm', '.m4v']);

/** The videos a batch names: a folder (its video files) or a text file with one path per line. */
export function batchInputs(source: string): string[] {
  if (!existsSync(source)) throw new ReshootError(`${source} not found`);
  if (statSync(source).isDirectory()) {
    const files = readdirSync(source)
      .filter((f) => VIDEO_EXTENSIONS.has(extname(f).toLowerCase()))
      .sort()
      .map((f) => join(source, f));
    if (files.length === 0) throw new ReshootError(`${source} holds no video files (${[...VIDEO_EXTENSIONS].join(' ')})`);
    return files;
  }
  const lines = readFileSync(source, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) throw new ReshootError(`${source} lists no videos`);
  return lines.map((l) => resolve(l));
}

/** Each batch input's output name in `outDir`: its base name, with `_` appended until unique (local and queued batches alike). */
export function batchOutputs(inputs: string[], outDir: string): { input: string; name: string; output: string }[] {
  const names = new Set<string>();
  return inputs.map((input) => {
    let name = basename(input, extname(input));
    while (names.has(name)) name += '_';
    names.add(name);
    return { input, name, output: join(outDir, `${name}.mp4`) };
  });
}

export async function batchCommand(source: string, opts: BatchCliOptions): Promise<void> {
  const config = configFromFlags(opts);
  const inputs = batchInputs(source);
  if (!(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) throw new ReshootError(`--concurrency must be a whole number >= 1; got ${opts.concurrency}`);
  const concurrency = Math.min(opts.concurrency, inputs.length, availableParallelism());
  const outDir = resolve(opts.outDir);
  const jobs = batchOutputs(inputs, outDir);
  const results: { input: string; ok: boolean; message: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const t0 = performance.now();
      try {
        await preflight(job.input, job.output, undefined, config, opts);
        await processVideo({ input: job.input, output: job.output, config, resume: opts.resume, overwrite: opts.overwrite });
        results.push({ input: job.input, ok: true, message: `${job.output} (${((performance.now() - t0) / 1000).toFixed(1)} s)` });
      } catch (err) {
        results.push({ input: job.input, ok: false, message: (err as Error).message });
      }
      const last = results[results.length - 1];
      process.stderr.write(`[${results.length}/${jobs.length}] ${last.ok ? 'ok  ' : 'FAIL'} ${job.input}: ${last.message}\n`);
    }
  };
  mkdirSync(outDir, { recursive: true });
  await Promise.all(Array.from({ length: concurrency }, worker));
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`batch: ${results.length - failed} done, ${failed} failed\n`);
  if (failed > 0) process.exitCode = 1;
}
