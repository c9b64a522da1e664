/**
 * Validate before work: everything `process` can check from the probe and the
 * file system is checked here, before the first frame is decoded, so a bad option
 * fails in milliseconds and leaves no run folder behind.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parseGeneratorSpec } from '../generate/index.js';
import { planSegments } from '../segment/index.js';
import { parseSubjectRule } from '../pose/people.js';
import { ReshootError } from '../util/errors.js';
import { assertFolderHoldsNoInput, assertNotAnInput } from '../util/inputs.js';
import type { VideoInfo } from '../video/index.js';
import type { PipelineConfig } from './config.js';

export interface PreflightArgs {
  input: string;
  output: string;
  runDir: string;
  info: VideoInfo;
  config: PipelineConfig;
  /** Further files the run reads (e.g. a --config file); the output may resolve to none of them. */
  inputs?: string[];
  /** As for processVideo: an existing output is refused unless one of these is set. */
  overwrite?: boolean;
  resume?: boolean;
}

/** Throws ReshootError (one line) for the first problem found; returns when the run can start. */
export function preflightProcess(args: PreflightArgs): void {
  const { info, config } = args;
  const input = resolve(args.input);
  const output = resolve(args.output);
  const runDir = resolve(args.runDir);
  const inputs = [input, ...(args.inputs ?? []).map((p) => resolve(p))];

  if (info.frameCount < 2) throw new ReshootError(`${args.input} has ${info.frameCount} frame(s): the pipeline needs at least 2`);

  // The generator spec (syntax; an onnx: model must exist, its contents are checked when it loads).
  const gen = parseGeneratorSpec(config.generator.spec);
  if (gen.kind === 'onnx') {
    const model = resolve(gen.model);
    if (!existsSync(model)) throw new ReshootError(`generator onnx: model ${gen.model} not found`);
    inputs.push(model);
  }

  // Segments: the same rule (and message) as the plan step and `reshoot segments`, on the probed frame
  // count. Asking for more segments than fit is an error here rather than a silently shorter plan.
  planSegments(info.frameCount, undefined, {
    count: config.segments.count,
    overlap: config.segments.overlap,
    minLength: config.segments.minLength,
    onShort: 'error',
  });

  // A subject point outside the frame can name nobody: say so before the (slow) people pass.
  if (config.pose.enabled) {
    const rule = parseSubjectRule(config.pose.subject);
    if (typeof rule === 'object' && 'x' in rule && !(rule.x >= 0 && rule.x < info.width && rule.y >= 0 && rule.y < info.height)) {
      throw new ReshootError(`--subject ${config.pose.subject}: the point is outside the ${info.width}x${info.height} frame`);
    }
  }

  // The output: an .mp4, never an input or the run folder, in a folder we can write.
  if (extname(output).toLowerCase() !== '.mp4') throw new ReshootError(`output ${args.output} must be an .mp4 file`);
  assertNotAnInput(output, inputs, 'output');
  if (output === runDir) throw new ReshootError(`output ${args.output} is the run folder`);
  if (existsSync(output) && statSync(output).isDirectory()) throw new ReshootError(`output ${args.output} is a folder`);
  if (existsSync(output) && !args.overwrite && !args.resume) {
    throw new ReshootError(`output ${args.output} already exists (pass --overwrite to replace it)`);
  }
  assertWritableFolder(dirname(output), 'output folder');

  // The run folder: a folder (or nothing yet) that holds no input, under a folder we can write.
  if (existsSync(runDir) && !statSync(runDir).isDirectory()) throw new ReshootError(`run folder ${args.runDir} is a file`);
  assertFolderHoldsNoInput(runDir, inputs, 'run folder');
  assertNotAnInput(runDir, inputs, 'run folder');
  if (existsSync(runDir)) assertWritableFolder(runDir, 'run folder');
  else assertWritableFolder(nearestExisting(dirname(runDir)), 'folder for the run folder');
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d)) {
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return d;
}

/**
 * Creates and removes a probe file: the only check that also holds for root (who
 * passes access() on a mode-0555 folder) and for read-only mounts.
 */
export function assertWritableFolder(dir: string, what: string): void {
  if (!existsSync(dir)) throw new ReshootError(`${what} ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new ReshootError(`${what} ${dir} is not a folder`);
  const probe = resolve(dir, `.reshoot-write-check.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'ENOSPC' ? 'is on a full disk' : 'is not writable';
    throw new ReshootError(`${what} ${dir} ${why}`);
  }
  try {
    unlinkSync(probe);
  } catch {
    // Removing our own empty probe file cannot reasonably fail; if it does, it is one empty dot-file.
  }
}
