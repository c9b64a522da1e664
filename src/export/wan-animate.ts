/**
 * `reshoot export <in> --format wan-animate -o <folder>`: reshoot's Decompose and Stabilize
 * results written as a Wan2.2-Animate replace-mode folder (src_ref.png, src_pose.mp4,
 * src_face.mp4, src_bg.mp4, src_mask.mp4), plus reshoot-export.json (what reshoot did:
 * stabilization transforms, shots, frame mapping, clip plan) and the reshoot run folder `run/`
 * that `reshoot finish` continues from. The frames are reshoot's stabilized canvas (what every
 * reshoot generator sees), so the model's output goes back through the same re-shake.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createPassthroughGenerator, readRgb } from '../generate/index.js';
import {
  WAN_AREA,
  WAN_CLIP_LEN,
  WAN_FILES,
  WAN_FPS,
  WanFolderWriter,
  wanAnimateSize,
  wanClipPlan,
  wanFrameIndices,
  wanLetterbox,
  type Letterbox,
  type WanClipPlan,
  type WanFrameRecord,
} from '../generate/wan-animate/index.js';
import { toCanvas } from '../pipeline/canvas.js';
import type { PipelineConfig } from '../pipeline/config.js';
import { stageReporter, type PipelineListener } from '../pipeline/events.js';
import { preflightProcess } from '../pipeline/preflight.js';
import { planStep, wholeVideoSteps } from '../pipeline/process.js';
import { RUN_FILES, RunFolder } from '../pipeline/run-folder.js';
import { StepRunner } from '../pipeline/steps.js';
import { collectVersions } from '../pipeline/versions.js';
import { ensureDir, writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { decodeFrames, probeVideo, type Rational } from '../video/index.js';

export const WAN_EXPORT_SCHEMA = 'reshoot.wan-animate-export/1';
export const WAN_EXPORT_MANIFEST = 'reshoot-export.json';
/** The reshoot run folder inside an export folder. */
export const WAN_EXPORT_RUN = 'run';

export interface WanAnimateExportOptions {
  input: string;
  /** The folder to write (Wan's --src_root_path). */
  outDir: string;
  config: PipelineConfig;
  /** 1 or 5, as passed to generate.py --refert_num (required: its argparse default of 77 fails Wan's assertion). */
  refertNum: number;
  /** Frames per clip, 4n+1 (Wan's default 77). */
  clipLen?: number;
  /** Output frame rate: a number (Wan's default 30) or 'source' (keep the input's rate). */
  fps?: number | 'source';
  /** Target area (Wan's default 1280x720). */
  area?: { width: number; height: number };
  /** The character image for src_ref.png. Default: reshoot's reference frame of the subject (reproduces the same person: a plumbing check). */
  reference?: string;
  overwrite?: boolean;
  onEvent?: PipelineListener;
  signal?: AbortSignal;
  threads?: number;
}

export interface WanExportManifest {
  schema: typeof WAN_EXPORT_SCHEMA;
  createdAt: string;
  input: { path: string; width: number; height: number; fps: Rational; fpsValue: number; frameCount: number };
  /** reshoot's stabilized canvas (the frames exported are this size before Wan's resize). */
  canvas: { width: number; height: number; offsetX: number; offsetY: number };
  wan: {
    width: number;
    height: number;
    fps: Rational;
    fpsValue: number;
    frames: number;
    area: { width: number; height: number };
    /** Where the canvas sits inside Wan's frame (padding_resize). */
    letterbox: Letterbox;
    files: typeof WAN_FILES;
    pose: string;
    mask: string;
    face: string;
  };
  clipPlan: WanClipPlan;
  /** exportToInput[k] = the input frame exported as frame k; input frame t <- exported round(t / inputFps * fps). */
  frameMapping: { exportToInput: number[]; inputToExport: string };
  shots: unknown;
  /** Stabilization: reshoot's transforms.json (also in run/), null when stabilization was off. */
  stabilization: { file: string | null; smoother: string; transforms: unknown };
  reference: string;
  faces: WanFrameRecord[];
  run: string;
  notes: string[];
  next: { generate: string; finish: string };
}

export interface WanAnimateExportResult {
  dir: string;
  manifest: WanExportManifest;
}

export async function exportWanAnimate(opts: WanAnimateExportOptions): Promise<WanAnimateExportResult> {
  const emit: PipelineListener = opts.onEvent ?? (() => undefined);
  const input = resolve(opts.input);
  const dir = resolve(opts.outDir);
  const cfg = opts.config;
  if (!existsSync(input)) throw new ReshootError(`input ${opts.input} not found`);
  const clipLen = opts.clipLen ?? WAN_CLIP_LEN;
  wanClipPlan(Math.max(opts.refertNum + 1, clipLen), opts.refertNum, clipLen); // flags first, before any work
  const area = opts.area ?? WAN_AREA;
  if (!(area.width > 0 && area.height > 0)) throw new ReshootError(`--area must be <width>x<height>; got ${area.width}x${area.height}`);
  if (opts.fps !== undefined && opts.fps !== 'source' && !(opts.fps > 0 && opts.fps <= 240)) throw new ReshootError(`--fps must be a rate from 1 to 240 or "source"; got ${opts.fps}`);
  if (opts.reference && !existsSync(opts.reference)) throw new ReshootError(`--reference ${opts.reference} not found`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ReshootError(`output ${opts.outDir} is a file, not a folder`);
  const runDir = join(dir, WAN_EXPORT_RUN);
  const nonEmpty = existsSync(dir) && readdirSync(dir).length > 0;
  if (nonEmpty && !opts.overwrite) throw new ReshootError(`output folder ${opts.outDir} is not empty (pass --overwrite to replace the export; its reshoot run is reused where the config matches)`);

  emit({ type: 'stage-start', stage: 'probe' });
  const info = await probeVideo(input);
  emit({ type: 'stage-end', stage: 'probe' });
  if (info.frameCount < 2) throw new ReshootError(`${opts.input} has ${info.frameCount} frame(s): the export needs at least 2`);
  // The checks `reshoot process` makes (segments that fit, --subject inside the frame, writable folders), so
  // that `reshoot finish` on this export cannot fail on them later.
  await ensureDir(dir);
  preflightProcess({ input, output: join(dir, 'finished.mp4'), runDir, info, config: cfg, inputs: opts.reference ? [opts.reference] : [], overwrite: true, resume: true });
  const st = statSync(input);
  const { run } = await RunFolder.open(
    runDir,
    {
      input: { path: input, bytes: st.size, mtimeMs: st.mtimeMs },
      output: join(dir, 'finished.mp4'),
      config: cfg,
      versions: await collectVersions(),
      video: { width: info.width, height: info.height, fps: info.fps, frameCount: info.frameCount, hasAudio: info.hasAudio },
    },
    // An existing export's run is continued: decompose and stabilize are reused when their config is unchanged.
    { resume: existsSync(join(runDir, RUN_FILES.manifest)), overwrite: opts.overwrite },
  );
  const steps = new StepRunner(run, emit, (stage) => stageReporter(emit, stage));
  const notes: string[] = [];
  const generator = createPassthroughGenerator();
  const state = await wholeVideoSteps(steps, { cfg, info, input, generator, notes, signal: opts.signal, threads: opts.threads });
  try {
    await steps.step(planStep(run, state));
    run.manifest.notes = notes;
    run.manifest.canvas = { width: state.canvas.width, height: state.canvas.height, offsetX: state.canvas.offsetX, offsetY: state.canvas.offsetY, clipped: state.canvas.clipped };
    run.manifest.status = 'done';
    await run.save();

    const inFps = info.fps.num / info.fps.den;
    const fps: Rational = opts.fps === 'source' ? info.fps : { num: opts.fps ?? WAN_FPS, den: 1 };
    const fpsValue = fps.num / fps.den;
    const frameCount = state.dec.frameCount;
    const indices = opts.fps === 'source' ? Array.from({ length: frameCount }, (_, t) => t) : wanFrameIndices(frameCount, inFps, fpsValue);
    if (indices.length < 1) throw new ReshootError(`${opts.input}: ${frameCount} frames at ${inFps.toFixed(3)} fps give no frame at ${fpsValue} fps`);
    const clipPlan = wanClipPlan(indices.length, opts.refertNum, clipLen);
    const { width: cw, height: ch } = state.canvas;
    const size = wanAnimateSize(cw, ch, area.width * area.height);
    const letterbox = wanLetterbox(cw, ch, size.width, size.height);
    const reference = opts.reference ? await readRgb(resolve(opts.reference)) : state.reference;
    const writer = await WanFolderWriter.create(state.cv, { dir, sourceWidth: cw, sourceHeight: ch, letterbox, fps }, reference);

    // One decode pass; an input frame is pushed once per exported frame that samples it (repeats when upsampling).
    emit({ type: 'stage-start', stage: 'finish' });
    const report = stageReporter(emit, 'finish');
    let k = 0;
    let t = 0;
    try {
      for await (const frame of decodeFrames(input, { info, count: frameCount, signal: opts.signal })) {
        if (k >= indices.length) break;
        if (indices[k] === t) {
          const canvasFrame = toCanvas(state.cv, frame, state.transforms, t, state.canvas);
          const masks = state.dec.masks;
          const alpha = masks?.found(t) ? toCanvas(state.cv, masks.read(t), state.transforms, t, state.canvas) : null;
          const pose = state.track?.frames[t] ?? null;
          while (k < indices.length && indices[k] === t) {
            await writer.push(canvasFrame, alpha, pose);
            report(++k, indices.length);
          }
        }
        t++;
      }
      if (k !== indices.length) throw new ReshootError(`${opts.input} ended at frame ${t}; the export needs frame ${indices[k]}`);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    emit({ type: 'stage-end', stage: 'finish' });

    const manifest: WanExportManifest = {
      schema: WAN_EXPORT_SCHEMA,
      createdAt: new Date().toISOString(),
      input: { path: input, width: info.width, height: info.height, fps: info.fps, fpsValue: inFps, frameCount },
      canvas: { width: cw, height: ch, offsetX: state.canvas.offsetX, offsetY: state.canvas.offsetY },
      wan: {
        width: size.width,
        height: size.height,
        fps,
        fpsValue,
        frames: indices.length,
        area: { width: area.width, height: area.height },
        letterbox,
        files: WAN_FILES,
        pose: 'OpenPose-18 + 2 toes (Wan order), drawn as in Wan draw_aapose_new; from reshoot COCO-17: Neck = mid-shoulders, toes absent (not drawn)',
        mask: '255 = person: reshoot alpha >= 128, dilated 7x7 x3, filled to its bounding box (Wan get_mask_body_img + get_aug_mask(1, 1))',
        face: '512x512 crops, Wan get_face_bboxes(scale 1.3) around a landmark box estimated from COCO-17 eyes/ears (see faces[].faceFrom)',
      },
      clipPlan,
      frameMapping: {
        exportToInput: indices,
        inputToExport: opts.fps === 'source' ? 'k = t' : `k = round(t / ${inFps} * ${fpsValue}), clamped to 0..${indices.length - 1}`,
      },
      shots: state.dec.shots,
      stabilization: { file: state.transforms ? join(WAN_EXPORT_RUN, RUN_FILES.transforms) : null, smoother: cfg.stabilize.smoother, transforms: state.transforms },
      reference: opts.reference ? resolve(opts.reference) : join(WAN_EXPORT_RUN, RUN_FILES.reference),
      faces: writer.records,
      run: WAN_EXPORT_RUN,
      notes,
      next: {
        generate: `python generate.py --task animate-14B --ckpt_dir <Wan2.2-Animate-14B> --src_root_path ${dir} --refert_num ${opts.refertNum} --replace_flag --save_file ${join(dir, 'generated.mp4')}`,
        finish: `reshoot finish ${join(dir, 'generated.mp4')} --run ${dir} -o <out.mp4>`,
      },
    };
    await writeJsonAtomic(join(dir, WAN_EXPORT_MANIFEST), manifest, { overwrite: true });
    return { dir, manifest };
  } finally {
    state.dec.masks?.close();
    await state.releaseAnkleEstimator().catch(() => undefined);
  }
}
