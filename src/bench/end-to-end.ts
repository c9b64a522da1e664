/**
 * End-to-end measurements of one `reshoot process` run against its input
 * (see src/metrics/scene.ts for the definitions). The masks are the run's own
 * (run folder masks.raw, input coordinates): "the subject" is what the run
 * decided the subject was.
 */
import { existsSync } from 'node:fs';
import { MaskFile } from '../decompose/index.js';
import { changedRegion, dilateBinary, edgeCopyFraction, iou, psnrWhere, tintedRegion } from '../metrics/scene.js';
import { RUN_FILES, type RunManifest } from '../pipeline/run-folder.js';
import { decodeFrames, probeVideo, type Frame } from '../video/index.js';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';

export interface EndToEndFrame {
  t: number;
  psnr: number;
  /** PSNR outside the subject's dilated region (Infinity when identical there). */
  psnrScene: number;
  /** IoU of the changed region with the subject mask (null: no subject in this frame). */
  subjectIoU: number | null;
  edgeCopy: number;
}

export interface EndToEndSummary {
  frames: number;
  psnrMean: number;
  psnrMin: number;
  psnrSceneMean: number;
  psnrSceneMin: number;
  /** Over frames with a subject. */
  subjectIoUMean: number | null;
  subjectIoUMin: number | null;
  subjectFrames: number;
  edgeCopyMean: number;
  edgeCopyMax: number;
  /** Radius of the subject region excluded from the scene PSNR, px. */
  sceneRadius: number;
}

/** Finite mean of PSNRs: identical frames (Infinity) count as 100 dB. */
const cap = (v: number) => (Number.isFinite(v) ? v : 100);

/**
 * `opts.tint`: the changed region is the pixels pulled towards this colour (a tinting stand-in such as
 * subject-recolor), not every pixel that differs (codec noise on edges anywhere in the frame would count).
 */
export async function measureEndToEnd(input: string, output: string, runDir: string, opts: { changeThreshold?: number; tint?: readonly [number, number, number] } = {}): Promise<{ frames: EndToEndFrame[]; summary: EndToEndSummary }> {
  const manifest = JSON.parse(await readFile(join(runDir, RUN_FILES.manifest), 'utf8')) as RunManifest;
  const cfg = manifest.config;
  // The region the pipeline may change: grow + feather (+ the foot lock's few px) + a margin for resampling.
  const sceneRadius = cfg.background.grow + 2 * Math.ceil(cfg.masks.feather) + 12;
  const masks = existsSync(join(runDir, RUN_FILES.masks)) ? await MaskFile.open(join(runDir, RUN_FILES.masks), join(runDir, RUN_FILES.masksSidecar)) : null;
  const [ia, ib] = await Promise.all([probeVideo(input), probeVideo(output)]);
  const a = decodeFrames(input, { info: ia })[Symbol.asyncIterator]();
  const b = decodeFrames(output, { info: ib })[Symbol.asyncIterator]();
  const frames: EndToEndFrame[] = [];
  try {
    for (let t = 0; ; t++) {
      const [x, y] = await Promise.all([a.next(), b.next()]);
      if (x.done || y.done) {
        if (x.done !== y.done) throw new Error(`input and output differ in length (stopped at frame ${t})`);
        break;
      }
      const fin: Frame = x.value;
      const fout: Frame = cropTo(y.value, fin.width, fin.height);
      const found = masks?.found(t) === true;
      const mask = found ? masks!.read(t) : null;
      const outside = mask ? invert(dilateBinary(mask, sceneRadius)) : undefined;
      const subject = mask ? dilateBinary(mask, 0) : null;
      frames.push({
        t,
        psnr: psnrWhere(fin, fout),
        psnrScene: psnrWhere(fin, fout, outside),
        subjectIoU: subject ? iou(opts.tint ? tintedRegion(fin, fout, opts.tint) : changedRegion(fin, fout, opts.changeThreshold ?? 24), subject) : null,
        // A tinting stand-in paints the subject nearly flat, which reads as a copied edge where the subject
        // touches the frame's border: there only the rest of the frame is judged.
        edgeCopy: edgeCopyFraction(fout, fin, opts.tint && mask ? { exclude: dilateBinary(mask, sceneRadius) } : {}),
      });
    }
  } finally {
    masks?.close();
    await a.return?.(undefined);
    await b.return?.(undefined);
  }
  const mean = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN);
  const ious = frames.map((f) => f.subjectIoU).filter((v): v is number => v !== null);
  return {
    frames,
    summary: {
      frames: frames.length,
      psnrMean: mean(frames.map((f) => cap(f.psnr))),
      psnrMin: Math.min(...frames.map((f) => cap(f.psnr))),
      psnrSceneMean: mean(frames.map((f) => cap(f.psnrScene))),
      psnrSceneMin: Math.min(...frames.map((f) => cap(f.psnrScene))),
      subjectIoUMean: ious.length ? mean(ious) : null,
      subjectIoUMin: ious.length ? Math.min(...ious) : null,
      subjectFrames: ious.length,
      edgeCopyMean: mean(frames.map((f) => f.edgeCopy)),
      edgeCopyMax: Math.max(...frames.map((f) => f.edgeCopy)),
      sceneRadius,
    },
  };
}

function invert(m: Uint8Array): Uint8Array {
  const out = new Uint8Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i] ? 0 : 1;
  return out;
}

/** Odd-size inputs come back padded by one pixel (H.264 4:2:0): compare the input's area. */
function cropTo(f: Frame, width: number, height: number): Frame {
  if (f.width === width && f.height === height) return f;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(f.data.subarray(y * f.width * 3, y * f.width * 3 + width * 3), y * width * 3);
  return { width, height, data };
}
