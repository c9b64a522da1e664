/**
 * `reshoot finish <generated.mp4> --run <export folder> -o <out.mp4>`: a video an external model made
 * from a `reshoot export --format wan-animate` folder, taken back through reshoot's own back end:
 * temporal consistency -> composite (`original`: only the subject's region changes) -> foot lock ->
 * blend -> re-shake onto the input's camera -> encode at the input's size and fps.
 *
 * It is processVideo on the export's run folder (decompose, stabilize, plate, plan and contacts
 * are reused from the export) with a generator that returns, for each canvas frame t, the
 * model's frame k = round(t / inputFps * exportFps), with Wan's padding cropped off and scaled back
 * to the canvas.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadOpenCV } from '../cv/opencv.js';
import { exportedFrameFor, unletterboxImage, type Letterbox } from '../generate/wan-animate/index.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from '../generate/types.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { decodeFrames, probeVideo, type Frame, type VideoInfo } from '../video/index.js';
import { resolveConfig, type PipelineConfig } from './config.js';
import type { PipelineListener } from './events.js';
import { processVideo, type ProcessResult } from './process.js';
import { RUN_FILES, type RunManifest } from './run-folder.js';

/** Same names as src/export/wan-animate.ts (not imported from there: src/export depends on the pipeline, not the reverse). */
const EXPORT_MANIFEST = 'reshoot-export.json';
const EXPORT_SCHEMA = 'reshoot.wan-animate-export/1';
const EXPORT_RUN = 'run';

/** The part of reshoot-export.json finish reads. */
export interface ExportForFinish {
  schema: string;
  input: { path: string; fpsValue: number; frameCount: number };
  canvas: { width: number; height: number };
  wan: { width: number; height: number; fpsValue: number; frames: number; letterbox: Letterbox };
  clipPlan?: { clipLen: number };
}

export interface FinishExternalOptions {
  /** The model's output video (e.g. Wan's generated.mp4). */
  generated: string;
  /** The export folder (holds reshoot-export.json and run/). */
  runFolder: string;
  output: string;
  overwrite?: boolean;
  onEvent?: PipelineListener;
  signal?: AbortSignal;
  threads?: number;
}

export async function readExportManifest(folder: string): Promise<ExportForFinish> {
  const path = join(resolve(folder), EXPORT_MANIFEST);
  if (!existsSync(path)) throw new ReshootError(`--run ${folder} has no ${EXPORT_MANIFEST}: give the folder \`reshoot export --format wan-animate\` wrote`);
  let m: ExportForFinish;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as ExportForFinish;
  } catch (err) {
    throw new ReshootError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (m?.schema !== EXPORT_SCHEMA) throw new ReshootError(`${path} is not a reshoot wan-animate export (schema ${String(m?.schema)})`);
  if (!existsSync(join(resolve(folder), EXPORT_RUN, RUN_FILES.manifest))) throw new ReshootError(`${folder} has no ${EXPORT_RUN}/${RUN_FILES.manifest}: the export did not finish`);
  return m;
}

/**
 * A generator that hands back the external model's frames for each segment: canvas frame t gets the
 * model's frame exportedFrameFor(t), cropped out of Wan's letterbox and resized to the canvas.
 * A model video shorter than the export (at most 10 % short) repeats its last frame.
 */
export async function createExportedVideoGenerator(generated: string, exp: ExportForFinish, info?: VideoInfo): Promise<Generator & { generatedFrames: number }> {
  const path = resolve(generated);
  if (!existsSync(path)) throw new ReshootError(`generated video ${generated} not found`);
  const gi = info ?? (await probeVideo(path));
  const n = gi.frameCount;
  if (n < 1) throw new ReshootError(`generated video ${generated} has no frames`);
  const want = exp.wan.frames;
  if (n < Math.ceil(0.9 * want)) {
    throw new ReshootError(`generated video ${generated} has ${n} frames, the export has ${want}: is it the output of this export?`);
  }
  const aspect = exp.wan.width / exp.wan.height;
  if (Math.abs(gi.width / gi.height - aspect) / aspect > 0.02) {
    throw new ReshootError(`generated video ${generated} is ${gi.width}x${gi.height}, the export is ${exp.wan.width}x${exp.wan.height}: a different aspect ratio`);
  }
  const cv = await loadOpenCV();
  const name = `wan-animate output ${path}`;
  return {
    name,
    kind: 'external',
    isModel: 'unknown',
    wholeSegment: true,
    generatedFrames: n,
    describe: () => `frames of ${path} (${n} frames ${gi.width}x${gi.height}; export ${want} frames at ${exp.wan.fpsValue} fps), mapped back to the ${exp.canvas.width}x${exp.canvas.height} canvas`,
    async generate(input: SegmentInput): Promise<Frame[]> {
      const { count } = validateSegmentInput(input);
      const start = input.start ?? 0;
      const ks = Array.from({ length: count }, (_, i) => Math.min(n - 1, exportedFrameFor(start + i, exp.input.fpsValue, exp.wan.fpsValue, want)));
      const k0 = Math.min(...ks);
      const k1 = Math.max(...ks);
      const decoded = new Map<number, Frame>();
      let k = k0;
      for await (const f of decodeFrames(path, { info: gi, start: k0, count: k1 - k0 + 1, signal: input.signal })) {
        if (ks.includes(k)) decoded.set(k, unletterboxImage(cv, f, exp.wan.letterbox, exp.canvas.width, exp.canvas.height));
        k++;
      }
      const out = ks.map((kk) => {
        const f = decoded.get(kk);
        if (!f) throw new ReshootError(`generated video ${generated} ended before frame ${kk}`);
        return f;
      });
      input.onProgress?.(count, count);
      return validateGeneratedFrames(out, input, name);
    },
    release: async () => undefined,
    close: async () => undefined,
  };
}

/** The export's reshoot run continued with the model's frames as the generator's output. */
export async function finishExternal(opts: FinishExternalOptions): Promise<ProcessResult> {
  const folder = resolve(opts.runFolder);
  const exp = await readExportManifest(folder);
  const runDir = join(folder, EXPORT_RUN);
  const generator = await createExportedVideoGenerator(opts.generated, exp);
  const manifestPath = join(runDir, RUN_FILES.manifest);
  const run = JSON.parse(await readFile(manifestPath, 'utf8')) as RunManifest;
  // Segments of an earlier finish came from another generated video: never reuse them.
  run.segments = [];
  delete run.steps.finish;
  await writeJsonAtomic(manifestPath, run, { overwrite: true });
  const config: PipelineConfig = resolveConfig({ ...run.config, background: { ...run.config.background, mode: 'original' } } as never, run.config.preset);
  return processVideo({
    input: exp.input.path,
    output: opts.output,
    config,
    runDir,
    resume: true,
    overwrite: opts.overwrite,
    generator,
    onEvent: opts.onEvent,
    signal: opts.signal,
    threads: opts.threads,
  });
}
