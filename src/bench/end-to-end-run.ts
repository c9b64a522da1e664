/**
 * The end-to-end acceptance bench: `reshoot process` on real clips, judged
 * from the output's pixels (src/bench/end-to-end.ts), with contact sheets a
 * person can look at. Used by bench/end-to-end.ts and `reshoot bench --end-to-end`.
 *
 * Per clip:
 * - passthrough, default preset: identity (PSNR mean >= 35 dB, worst frame >= 30 dB);
 *   with --ablation also each of stabilize / temporal / footlock switched off;
 * - subject-recolor (a stand-in that tints only the subject): scene kept
 *   (PSNR outside the subject's dilated region >= 35 dB) and subject in place
 *   (changed region vs subject mask IoU >= 0.85 in every frame with a subject);
 * - every run: edge copies (share of output pixels repeating a frame edge).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { datasetPath, fetchDatasets, getSynthPreset, synthesizeClip } from '../datasets/index.js';
import { resolveConfig, type PipelineOverrides } from '../pipeline/config.js';
import { processVideo } from '../pipeline/process.js';
import { decodeFrames, encodeFrames, probeVideo } from '../video/index.js';
import { sheetFrames, writeContactSheet } from './contact-sheet.js';
import { measureEndToEnd, type EndToEndSummary } from './end-to-end.js';
import { RECOLOR_TINT } from '../generate/recolor.js';
import { BAD_INPUTS, badInputClip, type BadInput } from './end-to-end-clips.js';

export interface EndToEndClip {
  id: string;
  what: string;
  /** Makes the clip (once; cached) and returns its path. */
  prepare(cacheDir: string): Promise<string>;
  /** Bad inputs run passthrough only: they must finish, note why in run.json and keep the identity. */
  passthroughOnly?: boolean;
}

/** A prefix of a real clip (frames [0, count)), re-encoded near-losslessly. */
async function prefix(src: string, out: string, count: number): Promise<string> {
  if (existsSync(out)) return out;
  const info = await probeVideo(src);
  await encodeFrames(decodeFrames(src, { info, count: Math.min(count, info.frameCount) }), out, { fps: info.fps, crf: 4, preset: 'ultrafast' });
  return out;
}

export const END_TO_END_CLIPS: readonly EndToEndClip[] = [
  {
    id: 'vtest-shake',
    what: 'vtest.avi (several pedestrians) through a synthetic handheld camera, 80 frames',
    async prepare(dir) {
      const out = join(dir, 'vtest-shake-80.mp4');
      if (!existsSync(out)) await synthesizeClip({ ...getSynthPreset('vtest-shake'), frames: 80 }, out, { overwrite: true });
      return out;
    },
  },
  {
    id: 'megamind',
    what: 'Megamind.avi: animated characters, moving camera, hard cuts near 97, 153, 199 (whole clip, 270 frames)',
    async prepare() {
      await fetchDatasets({ ids: ['megamind'] });
      return datasetPath('megamind');
    },
  },
  {
    id: 'vtest-pan-shake',
    what: 'vtest.avi with a slow pan right plus handheld shake (a moving camera), 80 frames',
    async prepare(dir) {
      const out = join(dir, 'vtest-pan-shake-80.mp4');
      if (!existsSync(out)) await synthesizeClip({ ...getSynthPreset('vtest-pan-shake'), frames: 80 }, out, { overwrite: true });
      return out;
    },
  },
];

const BAD_INPUT_WHAT: Record<BadInput, string> = {
  'all-cuts': 'every frame a new shot (vtest and Megamind frames alternating), 32 frames at 640x480',
  'full-frame-person': 'basketball1.png magnified around one player, whose head, torso and arms fill the frame, handheld camera, 32 frames',
  'no-person': 'building.jpg through a handheld camera: nobody in the frame, 32 frames',
};

export const BAD_INPUT_CLIPS: readonly EndToEndClip[] = BAD_INPUTS.map((kind) => ({
  id: kind,
  what: BAD_INPUT_WHAT[kind],
  passthroughOnly: true,
  prepare: (dir: string) => badInputClip(kind, join(dir, `${kind}.mp4`), { width: 640, height: 480, frames: 32 }),
}));

export interface EndToEndRow extends EndToEndSummary {
  clip: string;
  generator: string;
  variant: string;
  seconds: number;
  notes: string;
  pass: boolean;
  why: string;
}

export const TARGETS = { psnrMean: 35, psnrMin: 30, psnrScene: 35, subjectIoU: 0.85, edgeCopy: 0.001 } as const;

function judge(r: Omit<EndToEndRow, 'pass' | 'why'>): { pass: boolean; why: string } {
  const fails: string[] = [];
  if (r.edgeCopyMax > TARGETS.edgeCopy) fails.push(`edge copies ${(100 * r.edgeCopyMax).toFixed(2)} % > ${100 * TARGETS.edgeCopy} %`);
  if (r.generator === 'passthrough' && r.variant === 'default') {
    if (r.psnrMean < TARGETS.psnrMean) fails.push(`identity PSNR mean ${r.psnrMean.toFixed(1)} < ${TARGETS.psnrMean} dB`);
    if (r.psnrMin < TARGETS.psnrMin) fails.push(`identity PSNR worst ${r.psnrMin.toFixed(1)} < ${TARGETS.psnrMin} dB`);
  }
  if (r.generator === 'subject-recolor') {
    if (r.psnrSceneMin < TARGETS.psnrScene) fails.push(`scene PSNR worst ${r.psnrSceneMin.toFixed(1)} < ${TARGETS.psnrScene} dB`);
    if (r.subjectIoUMin !== null && r.subjectIoUMin < TARGETS.subjectIoU) fails.push(`subject IoU worst ${r.subjectIoUMin.toFixed(3)} < ${TARGETS.subjectIoU}`);
  }
  return { pass: fails.length === 0, why: fails.join('; ') };
}

export interface EndToEndOptions {
  clips?: string[];
  ablation?: boolean;
  outDir: string;
  stamp: string;
  log?: (s: string) => void;
}

export async function runEndToEnd(opts: EndToEndOptions): Promise<{ rows: EndToEndRow[]; csv: string; sheets: string[] }> {
  const log = opts.log ?? (() => undefined);
  const clips = [...END_TO_END_CLIPS, ...BAD_INPUT_CLIPS].filter((c) => (opts.clips ? opts.clips.includes(c.id) : END_TO_END_CLIPS.includes(c)));
  const work = resolve('.cache', 'end-to-end');
  await mkdir(work, { recursive: true });
  const sheetDir = join(opts.outDir, `${opts.stamp}-end-to-end`);
  await mkdir(sheetDir, { recursive: true });
  const rows: EndToEndRow[] = [];
  const sheets: string[] = [];
  const variants: { generator: string; variant: string; overrides: PipelineOverrides }[] = [
    { generator: 'passthrough', variant: 'default', overrides: {} },
    { generator: 'subject-recolor', variant: 'default', overrides: { generator: { spec: 'subject-recolor' } } },
    ...(opts.ablation
      ? [
          { generator: 'passthrough', variant: 'no-stabilize', overrides: { stabilize: { enabled: false } } },
          { generator: 'passthrough', variant: 'no-temporal', overrides: { temporal: { enabled: false } } },
          { generator: 'passthrough', variant: 'no-footlock', overrides: { footlock: { enabled: false } } },
        ]
      : []),
  ];
  for (const clip of clips) {
    const input = await clip.prepare(work);
    for (const v of clip.passthroughOnly ? variants.filter((x) => x.generator === 'passthrough') : variants) {
      const name = `${clip.id}-${v.generator}-${v.variant}`;
      const output = join(work, `${name}.mp4`);
      const runDir = join(work, `${name}.run`);
      log(`${name}: reshoot process`);
      const t0 = performance.now();
      const res = await processVideo({ input, output, runDir, overwrite: true, config: resolveConfig(v.overrides) });
      const seconds = (performance.now() - t0) / 1000;
      const { summary } = await measureEndToEnd(input, output, runDir, v.generator === 'subject-recolor' ? { tint: RECOLOR_TINT } : {});
      const base = { clip: clip.id, generator: v.generator, variant: v.variant, seconds, notes: (res.run.manifest.notes ?? []).join(' | '), ...summary };
      const row = { ...base, ...judge(base) };
      rows.push(row);
      log(
        `  PSNR mean ${row.psnrMean.toFixed(1)} worst ${row.psnrMin.toFixed(1)} dB; scene worst ${row.psnrSceneMin.toFixed(1)} dB; subject IoU worst ${row.subjectIoUMin?.toFixed(3) ?? '-'}; edge copies max ${(100 * row.edgeCopyMax).toFixed(3)} %; ${row.pass ? 'pass' : `FAIL: ${row.why}`}`,
      );
      if (v.variant === 'default') {
        const png = join(sheetDir, `${name}.png`);
        await writeContactSheet(input, output, png, sheetFrames(summary.frames, 6));
        sheets.push(png);
      }
    }
  }
  const csv = join(opts.outDir, `${opts.stamp}-end-to-end.csv`);
  const columns = ['clip', 'generator', 'variant', 'frames', 'seconds', 'psnrMean', 'psnrMin', 'psnrSceneMean', 'psnrSceneMin', 'subjectIoUMean', 'subjectIoUMin', 'subjectFrames', 'edgeCopyMean', 'edgeCopyMax', 'sceneRadius', 'pass', 'why', 'notes'];
  await writeFile(csv, stringify(rows.map((r) => columns.map((c) => fmt((r as unknown as Record<string, unknown>)[c]))), { header: true, columns }));
  return { rows, csv, sheets };
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(Math.round(v * 1e4) / 1e4) : String(v);
  if (v === null || v === undefined) return '';
  return String(v);
}
