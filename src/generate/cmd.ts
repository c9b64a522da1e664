import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ReshootError } from '../util/errors.js';
import type { Frame } from '../video/types.js';
import { frameFileName, mapLimit, readRgb, writePng } from './images.js';
import { renderPoseMap } from './pose-map.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from './types.js';

/** Schema tag of the manifest.json a cmd: generator finds in its input folder. */
export const SEGMENT_MANIFEST_SCHEMA = 'reshoot.segment/1';

export interface CmdGeneratorOptions {
  /** Per segment. Default 600 000 ms (10 min). */
  timeoutMs?: number;
  /** Extra environment for the command (on top of the process environment and the RESHOOT_* variables). */
  env?: Record<string, string>;
  /** Working directory of the command. Default: the current directory. */
  cwd?: string;
  /** Write pose maps (poses/000000.png) as well as poses.json. Default true. */
  poseMaps?: boolean;
  /** Delete the segment's in/ folder after its frames were read back. Default false (kept for inspection and resuming). */
  cleanInputs?: boolean;
  /** The command's pid as it starts, with the segment (the bench's GPU sampler follows its process tree). */
  onSpawn?: (pid: number, segment: number) => void;
}

/** A command that exited badly; the message carries the exit code and the tail of stderr. */
export class GeneratorCommandError extends ReshootError {
  readonly commandExitCode: number | null;
  readonly commandSignal: string | null;
  readonly stderrTail: string;
  constructor(message: string, info: { exitCode: number | null; signal: string | null; stderrTail: string }) {
    super(message);
    this.commandExitCode = info.exitCode;
    this.commandSignal = info.signal;
    this.stderrTail = info.stderrTail;
  }
}

/** POSIX single-quoting, so paths with spaces or quotes survive the shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-./:=@%+,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Replaces {name} for the known placeholder names only (other braces are left alone). */
export function fillPlaceholders(command: string, values: Record<string, string>): string {
  return command.replace(/\{([a-z]+)\}/g, (whole, name: string) => (name in values ? values[name] : whole));
}

/** Paths of a segment's exchange folder. */
export function segmentLayout(workDir: string): { dir: string; in: string; out: string; manifest: string; stdout: string; stderr: string } {
  const dir = resolve(workDir);
  return {
    dir,
    in: join(dir, 'in'),
    out: join(dir, 'out'),
    manifest: join(dir, 'in', 'manifest.json'),
    stdout: join(dir, 'stdout.log'),
    stderr: join(dir, 'stderr.log'),
  };
}

/**
 * Writes one segment's inputs as the documented folder (README.md "cmd:
 * folder layout") and returns the manifest it wrote.
 */
export async function writeSegmentFolder(input: SegmentInput, opts: { poseMaps?: boolean } = {}): Promise<Record<string, unknown>> {
  const { width, height, count } = validateSegmentInput(input);
  const L = segmentLayout(input.workDir);
  await rm(L.in, { recursive: true, force: true });
  await rm(L.out, { recursive: true, force: true });
  await mkdir(join(L.in, 'frames'), { recursive: true });
  await mkdir(L.out, { recursive: true });
  const limit = 4;
  await mapLimit(input.frames, limit, (f, i) => writePng(join(L.in, 'frames', frameFileName(i)), f));
  if (input.masks) {
    await mkdir(join(L.in, 'masks'), { recursive: true });
    await mapLimit(input.masks, limit, (m, i) => writePng(join(L.in, 'masks', frameFileName(i)), m));
  }
  const poseMaps = input.poses !== undefined && opts.poseMaps !== false;
  if (input.poses) {
    await writeFile(join(L.in, 'poses.json'), `${JSON.stringify({ schema: 'reshoot.segment-poses/1', frames: input.poses })}\n`);
    if (poseMaps) {
      await mkdir(join(L.in, 'poses'), { recursive: true });
      const poses = input.poses;
      await mapLimit(poses, limit, async (p, i) => writePng(join(L.in, 'poses', frameFileName(i)), await renderPoseMap(p, width, height)));
    }
  }
  let plate: string | null = null;
  if (Array.isArray(input.plate)) {
    await mkdir(join(L.in, 'plates'), { recursive: true });
    await mapLimit(input.plate, limit, (p, i) => writePng(join(L.in, 'plates', frameFileName(i)), p));
    plate = 'plates/';
  } else if (input.plate) {
    await writePng(join(L.in, 'plate.png'), input.plate);
    plate = 'plate.png';
  }
  await writePng(join(L.in, 'reference.png'), input.reference);
  const manifest = {
    schema: SEGMENT_MANIFEST_SCHEMA,
    segment: { index: input.segmentIndex, label: input.label, start: input.start ?? 0, count },
    width,
    height,
    fps: input.fps,
    fpsValue: input.fps.num / input.fps.den,
    files: {
      frames: 'frames/',
      masks: input.masks ? 'masks/' : null,
      poses: input.poses ? 'poses.json' : null,
      poseMaps: poseMaps ? 'poses/' : null,
      plate,
      reference: 'reference.png',
    },
    naming: '%06d.png, starting at 000000, one per frame of the segment',
    output: { dir: L.out, count, width, height, naming: '%06d.png', format: 'RGB PNG (alpha ignored; gray is expanded)' },
  };
  await writeFile(L.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads {out}/000000.png.. back, requiring exactly `count` files named in sequence. */
export async function readSegmentOutput(outDir: string, count: number, generator: string, segment: number): Promise<Frame[]> {
  let names: string[];
  try {
    names = (await readdir(outDir)).filter((n) => /^\d{6}\.png$/.test(n)).sort();
  } catch {
    throw new ReshootError(`generator ${generator}: segment ${segment} output folder ${outDir} is missing`);
  }
  if (names.length !== count) {
    throw new ReshootError(`generator ${generator}: segment ${segment} wrote ${names.length} frames to ${outDir}, expected ${count} (000000.png..${frameFileName(count - 1)})`);
  }
  names.forEach((n, i) => {
    if (n !== frameFileName(i)) throw new ReshootError(`generator ${generator}: segment ${segment} output is missing ${frameFileName(i)} in ${outDir}`);
  });
  return mapLimit(names, 4, (n) => readRgb(join(outDir, n)));
}

function tailLines(text: string, lines: number, chars: number): string {
  const kept = text.trimEnd().split(/\r?\n/).filter((l) => l.trim() !== '').slice(-lines).join(' | ');
  return kept.length > chars ? `...${kept.slice(-chars)}` : kept;
}

/**
 * `cmd:<command>`: per segment, writes the inputs folder, runs `command`
 * through /bin/sh with placeholders filled in, and reads the frames back.
 */
export function createCmdGenerator(command: string, opts: CmdGeneratorOptions = {}): Generator {
  if (!command.trim()) throw new ReshootError('generator cmd: needs a command, e.g. cmd:"python gen.py {in} {out}"');
  const timeoutMs = opts.timeoutMs ?? 600_000;
  if (!(timeoutMs > 0)) throw new ReshootError(`generator cmd: timeout must be > 0 ms (got ${timeoutMs})`);
  const name = `cmd:${command}`;

  async function run(input: SegmentInput): Promise<Frame[]> {
    const { width, height, count } = validateSegmentInput(input);
    const L = segmentLayout(input.workDir);
    await writeSegmentFolder(input, { poseMaps: opts.poseMaps });
    input.signal?.throwIfAborted();
    const fps = `${input.fps.num}/${input.fps.den}`;
    const values: Record<string, string> = {
      in: shellQuote(L.in),
      out: shellQuote(L.out),
      dir: shellQuote(L.dir),
      manifest: shellQuote(L.manifest),
      segment: String(input.segmentIndex),
      label: shellQuote(input.label),
      start: String(input.start ?? 0),
      count: String(count),
      width: String(width),
      height: String(height),
      fps,
    };
    const line = fillPlaceholders(command, values);
    const env = {
      ...process.env,
      ...opts.env,
      RESHOOT_IN: L.in,
      RESHOOT_OUT: L.out,
      RESHOOT_DIR: L.dir,
      RESHOOT_MANIFEST: L.manifest,
      RESHOOT_SEGMENT: String(input.segmentIndex),
      RESHOOT_LABEL: input.label,
      RESHOOT_START: String(input.start ?? 0),
      RESHOOT_FRAME_COUNT: String(count),
      RESHOOT_WIDTH: String(width),
      RESHOOT_HEIGHT: String(height),
      RESHOOT_FPS: fps,
    };
    await runGeneratorCommand(line, {
      name,
      segmentIndex: input.segmentIndex,
      env,
      cwd: opts.cwd,
      timeoutMs,
      stdoutPath: L.stdout,
      stderrPath: L.stderr,
      signal: input.signal,
      onSpawn: opts.onSpawn ? (pid) => opts.onSpawn!(pid, input.segmentIndex) : undefined,
    });
    const frames = await readSegmentOutput(L.out, count, name, input.segmentIndex);
    validateGeneratedFrames(frames, input, name);
    if (opts.cleanInputs) await rm(L.in, { recursive: true, force: true });
    return frames;
  }

  return {
    name,
    kind: 'cmd',
    isModel: 'unknown',
    describe: () => `external command per segment: ${command} (timeout ${timeoutMs / 1000} s)`,
    generate: run,
    release: async () => undefined,
    close: async () => undefined,
  };
}

export interface GeneratorCommandOptions {
  /** The generator's name, for messages. */
  name: string;
  segmentIndex: number;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  stdoutPath: string;
  stderrPath: string;
  signal?: AbortSignal;
  /** Called with the command's pid once it started (the GPU sampler follows its process tree). */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs one generator command line through /bin/sh in its own process group, logging stdout/stderr to
 * files; a timeout, Ctrl-C (the signal) or reshoot's exit kills the whole group. A bad exit is a
 * GeneratorCommandError (exit code or signal, last 3 stderr lines, the log path). Shared by cmd: and wan-animate:.
 */
export async function runGeneratorCommand(line: string, o: GeneratorCommandOptions): Promise<void> {
    const stdoutLog = createWriteStream(o.stdoutPath);
    const stderrLog = createWriteStream(o.stderrPath);
    let stderrTail = '';
    const result = await new Promise<{ code: number | null; signal: string | null; timedOut: boolean; aborted: boolean }>((resolveRun, reject) => {
      // Own process group, so a timeout or Ctrl-C ends the command's children too.
      const child = spawn(line, { shell: true, cwd: o.cwd ?? process.cwd(), env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      if (child.pid) o.onSpawn?.(child.pid);
      let timedOut = false;
      let aborted = false;
      const killGroup = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const unregister = removeOnExitKill(killGroup);
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, o.timeoutMs);
      const onAbort = () => {
        aborted = true;
        killGroup();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.pipe(stdoutLog);
      child.stderr.on('data', (d: Buffer) => {
        stderrLog.write(d);
        stderrTail = (stderrTail + d.toString('utf8')).slice(-4000);
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        unregister();
        reject(new ReshootError(`generator ${o.name}: cannot start the command: ${err.message}`, { cause: err }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        unregister();
        o.signal?.removeEventListener('abort', onAbort);
        resolveRun({ code, signal, timedOut, aborted });
      });
    });
    await Promise.all([new Promise((r) => stdoutLog.end(r)), new Promise((r) => stderrLog.end(r))]);
    const tail = tailLines(stderrTail, 3, 400);
    if (result.aborted) throw new ReshootError(`generator ${o.name}: segment ${o.segmentIndex} was cancelled`);
    if (result.timedOut) {
      throw new GeneratorCommandError(
        `generator command timed out after ${o.timeoutMs / 1000} s on segment ${o.segmentIndex}${tail ? `: ${tail}` : ''} (stderr: ${o.stderrPath})`,
        { exitCode: result.code, signal: result.signal, stderrTail },
      );
    }
    if (result.code !== 0) {
      const how = result.code === null ? `killed by ${result.signal}` : `exit code ${result.code}`;
      throw new GeneratorCommandError(
        `generator command failed on segment ${o.segmentIndex} (${how})${tail ? `: ${tail}` : ''} (stderr: ${o.stderrPath})`,
        { exitCode: result.code, signal: result.signal, stderrTail },
      );
    }
}

// A command still running when reshoot exits (Ctrl-C goes through src/util/cleanup's process.exit) is killed with its group.
const killers = new Set<() => void>();
let hooked = false;
function removeOnExitKill(kill: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const k of killers) k();
    });
  }
  killers.add(kill);
  return () => killers.delete(kill);
}
