/**
 * `comfyui:<url>` with `--workflow <api-format.json>`: a generator that runs a workflow on a running
 * ComfyUI per segment. It uploads the segment's frames and conditioning (POST /upload/image into
 * `reshoot/<run id>/seg-NN/...` under ComfyUI's input folder), fills the documented `{{reshoot.*}}`
 * placeholders in the workflow, queues it, follows the WebSocket into reshoot's progress events,
 * and downloads the outputs (/history then /view: image outputs, or a VHS_VideoCombine video).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { loadOpenCV } from '../../cv/opencv.js';
import { ReshootError } from '../../util/errors.js';
import { decodeFrames, type Frame, type GrayFrame } from '../../video/index.js';
import { frameFileName, mapLimit } from '../images.js';
import { validateGeneratedFrames, validateSegmentInput, type Generator, type SegmentInput } from '../types.js';
import { cocoToOpenPose, drawOpenPose, wanAnimateSize } from '../wan-animate/index.js';
import { ComfyUIClient, type ComfyFile, type ComfyHistoryEntry } from './client.js';

export { ComfyUIClient, describeNodeErrors, type ComfyFile, type ComfyHistoryEntry } from './client.js';

/**
 * The placeholders a workflow may hold, as whole string values or inside strings. A value that is
 * exactly a numeric placeholder becomes a JSON number. Folders are relative to ComfyUI's input folder
 * (what VHS_LoadImages' `directory` and LoadImage's `image` take).
 */
export const COMFYUI_PLACEHOLDERS = {
  frames_dir: 'folder of the segment\'s stabilized frames, 000000.png ... (RGB)',
  masks_dir: 'folder of person masks, 000000.png ... (white = person; only with masks)',
  poses_dir: 'folder of OpenPose pose images in Wan2.2-Animate\'s colours (only with poses)',
  bg_dir: 'folder of frames with the person blacked out (Wan\'s src_bg convention; only with masks)',
  reference: 'the reference image ("<subfolder>/reference.png", for LoadImage)',
  plate: 'the background plate image (for LoadImage; only with a plate)',
  frame_count: 'number of frames of the segment (number)',
  length_4n1: 'the smallest 4n+1 >= frame_count (number): Wan models make 4n+1 frames; extra frames at the end are dropped',
  wan_width: 'width by Wan2.2-Animate\'s size rule (area <= 1280x720, multiple of 16, aspect kept; number)',
  wan_height: 'height by the same rule (number)',
  width: 'frame width (number)',
  height: 'frame height (number)',
  fps: 'frame rate (number)',
  seed: 'the run\'s seed + segment index (number)',
  segment: 'segment index (number)',
  prefix: 'a filename_prefix for the outputs: "reshoot/<run id>/seg-NN"',
} as const;
export type ComfyPlaceholder = keyof typeof COMFYUI_PLACEHOLDERS;
const NUMERIC = new Set<ComfyPlaceholder>(['frame_count', 'length_4n1', 'wan_width', 'wan_height', 'width', 'height', 'fps', 'seed', 'segment']);
const PLACEHOLDER = /\{\{reshoot\.([a-z_]+)\}\}/g;

export interface ComfyUIGeneratorOptions {
  /** The workflow in ComfyUI's API format (Save (API) / "Export (API)"): {node_id: {class_type, inputs}}. */
  workflow: string;
  /** Per segment, queue wait included. Default 3 600 000 ms. */
  timeoutMs?: number;
  seed?: number;
  /** The node whose outputs are the frames; default: the only node with outputs of type "output". */
  outputNode?: string;
  /** Called once a prompt is queued (the bench records the prompt id per segment). */
  onQueued?: (promptId: string, segment: number) => void;
}

/** Reads and checks an API-format workflow: an object of nodes with class_type and inputs; placeholders known. */
export function readComfyWorkflow(path: string): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  if (!existsSync(path)) throw new ReshootError(`--workflow ${path} not found`);
  let w: unknown;
  try {
    w = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ReshootError(`--workflow ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!w || typeof w !== 'object' || Array.isArray(w)) throw new ReshootError(`--workflow ${path}: expected ComfyUI's API format (an object of nodes)`);
  const o = w as Record<string, unknown>;
  if ('nodes' in o && 'links' in o) throw new ReshootError(`--workflow ${path} is in ComfyUI's UI format: save it with "Export (API)" instead`);
  for (const [id, n] of Object.entries(o)) {
    const node = n as { class_type?: unknown; inputs?: unknown };
    if (!node || typeof node.class_type !== 'string' || typeof node.inputs !== 'object') throw new ReshootError(`--workflow ${path}: node ${id} has no class_type/inputs (is it API format?)`);
  }
  for (const m of JSON.stringify(o).matchAll(PLACEHOLDER)) {
    if (!(m[1] in COMFYUI_PLACEHOLDERS)) throw new ReshootError(`--workflow ${path}: unknown placeholder {{reshoot.${m[1]}}} (known: ${Object.keys(COMFYUI_PLACEHOLDERS).join(', ')})`);
  }
  return o as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

/** Replaces the placeholders in every string of the workflow (deep copy); a missing value is an error naming it. */
export function fillComfyWorkflow<T>(workflow: T, values: Partial<Record<ComfyPlaceholder, string | number>>): T {
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^\{\{reshoot\.([a-z_]+)\}\}$/.exec(v);
      const get = (name: string) => {
        const x = values[name as ComfyPlaceholder];
        if (x === undefined) throw new ReshootError(`comfyui: the workflow uses {{reshoot.${name}}} but this segment has none (${COMFYUI_PLACEHOLDERS[name as ComfyPlaceholder] ?? 'unknown'})`);
        return x;
      };
      if (whole) {
        const x = get(whole[1]);
        return NUMERIC.has(whole[1] as ComfyPlaceholder) ? Number(x) : x;
      }
      return v.replace(PLACEHOLDER, (_, name: string) => String(get(name)));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(workflow) as T;
}

async function png(f: Frame | GrayFrame): Promise<Uint8Array> {
  const channels = (f.data.length / (f.width * f.height)) as 1 | 3;
  return sharp(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), { raw: { width: f.width, height: f.height, channels } }).png({ compressionLevel: 1 }).toBuffer();
}

/** The files of the output node: explicit, else the only node with outputs of type "output" (else the one whose count matches). */
export function pickOutputs(h: ComfyHistoryEntry, count: number, node?: string): { node: string; files: ComfyFile[]; video: boolean } {
  const cand: Array<{ node: string; files: ComfyFile[]; video: boolean }> = [];
  for (const [id, o] of Object.entries(h.outputs ?? {})) {
    if (node !== undefined && id !== node) continue;
    const gifs = (o.gifs ?? []).filter((f) => node !== undefined || f.type === 'output');
    const images = (o.images ?? []).filter((f) => node !== undefined || f.type === 'output');
    if (gifs.length) cand.push({ node: id, files: gifs, video: true });
    else if (images.length) cand.push({ node: id, files: images, video: false });
  }
  if (node !== undefined && !cand.length) throw new ReshootError(`comfyui: output node ${node} produced no images or videos`);
  if (!cand.length) throw new ReshootError('comfyui: the workflow produced no output images or videos (add a SaveImage or VHS_VideoCombine node)');
  if (cand.length === 1) return cand[0];
  const match = cand.filter((c) => (c.video ? c.files.length === 1 : c.files.length >= count && c.files.length <= count + 3));
  if (match.length === 1) return match[0];
  throw new ReshootError(`comfyui: several nodes produced outputs (${cand.map((c) => c.node).join(', ')}): name one with --comfyui-output-node`);
}

export function createComfyUIGenerator(url: string, opts: ComfyUIGeneratorOptions): Generator {
  const client = new ComfyUIClient(url);
  if (!opts?.workflow) throw new ReshootError('generator comfyui: needs --workflow <api-format.json>');
  const workflowPath = resolve(opts.workflow);
  const workflow = readComfyWorkflow(workflowPath);
  const timeoutMs = opts.timeoutMs ?? 3_600_000;
  const runId = randomUUID().slice(0, 8);
  const name = `comfyui:${client.base}`;

  async function run(input: SegmentInput): Promise<Frame[]> {
    const { width, height, count } = validateSegmentInput(input);
    const cv = await loadOpenCV();
    const seg = `seg-${String(input.segmentIndex).padStart(2, '0')}`;
    const sub = `reshoot/${runId}/${seg}`;
    const upload = async (frames: Array<Frame | GrayFrame>, folder: string) => {
      await mapLimit(frames, 4, async (f, i) => client.uploadImage(await png(f), frameFileName(i), `${sub}/${folder}`));
      input.signal?.throwIfAborted();
      return `${sub}/${folder}`;
    };
    const wan = wanAnimateSize(width, height);
    const values: Partial<Record<ComfyPlaceholder, string | number>> = {
      frame_count: count,
      length_4n1: count + ((4 - ((count - 1) % 4)) % 4),
      wan_width: wan.width,
      wan_height: wan.height,
      width,
      height,
      fps: input.fps.num / input.fps.den,
      seed: (opts.seed ?? 1) + input.segmentIndex,
      segment: input.segmentIndex,
      prefix: sub,
    };
    const used = new Set([...JSON.stringify(workflow).matchAll(PLACEHOLDER)].map((m) => m[1]));
    // Only what the workflow uses is uploaded.
    if (used.has('frames_dir')) values.frames_dir = await upload(input.frames, 'frames');
    if (used.has('masks_dir') && input.masks) values.masks_dir = await upload(input.masks, 'masks');
    if (used.has('poses_dir') && input.poses) values.poses_dir = await upload(input.poses.map((p) => drawOpenPose(cv, cocoToOpenPose(p), width, height)), 'poses');
    if (used.has('bg_dir') && input.masks) {
      const bgs = input.frames.map((f, i) => {
        const d = new Uint8Array(f.data);
        const m = input.masks![i].data;
        for (let j = 0; j < m.length; j++) if (m[j] >= 128) d[3 * j] = d[3 * j + 1] = d[3 * j + 2] = 0;
        return { width, height, data: d };
      });
      values.bg_dir = await upload(bgs, 'bg');
    }
    if (used.has('reference')) values.reference = await client.uploadImage(await png(input.reference), 'reference.png', sub);
    if (used.has('plate') && input.plate) values.plate = await client.uploadImage(await png(Array.isArray(input.plate) ? input.plate[0] : input.plate), 'plate.png', sub);
    const prompt = fillComfyWorkflow(workflow, values);
    input.onProgress?.(0, count);
    const { promptId, history } = await client.runPrompt(prompt, {
      timeoutMs,
      signal: input.signal,
      onQueued: (id) => opts.onQueued?.(id, input.segmentIndex),
      onProgress: (p) => {
        if (p.max > 0) input.onProgress?.(Math.min(count, Math.round((p.value / p.max) * count)), count);
      },
    });
    const outs = pickOutputs(history, count, opts.outputNode);
    const outDir = join(resolve(input.workDir), 'comfyui-out');
    await mkdir(outDir, { recursive: true });
    let frames: Frame[];
    if (outs.video) {
      const f = outs.files[0];
      const file = join(outDir, basename(f.filename));
      await writeFile(file, await client.view(f));
      frames = [];
      for await (const fr of decodeFrames(file, { signal: input.signal })) frames.push(fr);
    } else {
      frames = await mapLimit(outs.files, 4, async (f) => {
        const buf = await client.view(f);
        await writeFile(join(outDir, basename(f.filename)), buf);
        const { data, info } = await sharp(buf).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
        const rgb = info.channels === 3 ? new Uint8Array(data) : expandGray(new Uint8Array(data), info.width, info.height, info.channels);
        return { width: info.width, height: info.height, data: rgb };
      });
    }
    // Models that make 4n+1 frames (length_4n1) return a few extra at the end: dropped. Fewer is an error.
    if (frames.length > count && frames.length <= count + 3) frames = frames.slice(0, count);
    if (frames.length !== count) {
      throw new ReshootError(`generator ${name}: prompt ${promptId} (node ${outs.node}) returned ${frames.length} frames for segment ${input.segmentIndex} of ${count}`);
    }
    // A model works at its own resolution: same aspect (2 %) is resized back to the frame, anything else is refused.
    const f0 = frames[0];
    if (f0.width !== width || f0.height !== height) {
      const a = width / height;
      if (Math.abs(f0.width / f0.height - a) / a > 0.02) {
        throw new ReshootError(`generator ${name}: outputs are ${f0.width}x${f0.height}, the segment is ${width}x${height} (a different aspect ratio)`);
      }
      frames = frames.map((f) => resizeRgb(cv, f, width, height));
    }
    input.onProgress?.(count, count);
    return validateGeneratedFrames(frames, input, name);
  }

  return {
    name,
    kind: 'comfyui',
    isModel: 'unknown',
    wholeSegment: true,
    describe: () => `ComfyUI at ${client.base}, workflow ${workflowPath} (${Object.keys(workflow).length} nodes), timeout ${timeoutMs / 1000} s per segment`,
    generate: run,
    release: async () => undefined,
    close: async () => undefined,
  };
}

function expandGray(d: Uint8Array, w: number, h: number, ch: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = d[i * ch];
  return out;
}

function resizeRgb(cv: Awaited<ReturnType<typeof loadOpenCV>>, f: Frame, width: number, height: number): Frame {
  const src = cv.matFromArray(f.height, f.width, cv.CV_8UC3, f.data as unknown as number[]);
  const dst = new cv.Mat();
  try {
    cv.resize(src, dst, new cv.Size(width, height), 0, 0, width * height < f.width * f.height ? cv.INTER_AREA : cv.INTER_LINEAR);
    return { width, height, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    src.delete();
    dst.delete();
  }
}
