import { readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fetchDatasets, getSynthPreset, synthesizeClip } from '../../datasets/index.js';
import { MaskFile } from '../../decompose/index.js';
import { BACKGROUND_MODES, type BackgroundMode } from '../../composite/index.js';
import { createGenerator, parseGeneratorSpec, type Generator } from '../../generate/index.js';
import { measureFlicker, type FlickerReport } from '../../metrics/index.js';
import { resolveConfig } from '../../pipeline/config.js';
import { processVideo, type ProcessResult } from '../../pipeline/process.js';
import { RUN_FILES } from '../../pipeline/run-folder.js';
import type { SegmentPlan } from '../../segment/index.js';
import { ensureDir, writeJsonAtomic } from '../../util/atomic.js';
import { ReshootError } from '../../util/errors.js';
import { decodeFrames, encodeFrames, probeVideo, type Frame, type GrayFrame } from '../../video/index.js';
import { sheetFrames, writeContactSheet } from '../../bench/contact-sheet.js';
import { measureEndToEnd } from '../../bench/end-to-end.js';
import { writeColumnsSheet, writeSideBySideVideo } from '../../bench/side-by-side.js';
import { withProgress } from '../progress.js';
import { formatInfo } from './info.js';
import { checkGenSize, cliListener, GEN_SCOPES } from './process.js';

/**
 * The demo's default input: real footage (vtest.avi, pedestrians) seen by a
 * synthetic handheld camera with known shake, so it runs anywhere the datasets
 * can be fetched (shared folder or Debian's opencv-doc).
 */
export const DEMO_PRESET = 'vtest-shake';
/** Frames of the default clip (8 s at 10 fps). */
export const DEMO_FRAMES = 80;
/** A real network by default: per-frame fast style transfer (src/generate/style), on the CPU. */
export const DEMO_GENERATOR = 'style:matta';
/**
 * Working size (short side) of the style network in the demo: the network
 * runs at 340x256 on the 640x480 clip. The demo runs it on about 170 frames
 * (90 in the pipeline, overlaps included, and 80 for the raw clip); at 256 px
 * that is about 0.13 s a frame on 2 quiet cores (bench/style.ts), at 384 px about twice that,
 * which would take the demo past 2 minutes (README, "The demo").
 */
export const DEMO_GEN_SIZE = 256;
/** The fewest frames the demo's 3-segment plan fits (3 x 10 frames). */
export const DEMO_MIN_FRAMES = 30;
/** The most: the synthetic shake is drawn on this many frames of vtest.avi (795 frames). */
export const DEMO_MAX_FRAMES = 790;

export type DemoScope = 'frame' | 'subject' | 'both';

export interface DemoCliOptions {
  out: string;
  generator?: string;
  genSize?: number;
  genScope?: string;
  background?: string;
  frames?: number;
}

/** One pipeline run of the demo. */
export interface DemoRun {
  /** 'frame' or 'subject' for style: generators; 'frame' for the others. */
  scope: 'frame' | 'subject';
  background: BackgroundMode;
  /** File stem of its outputs in the demo folder: output.mp4 / output-subject.mp4. */
  name: string;
}

export interface DemoPlan {
  generator: string;
  isStyle: boolean;
  size: number;
  frames: number;
  runs: DemoRun[];
}

/**
 * The demo's options, checked and defaulted (every problem a ReshootError):
 * style:matta at 256 px, 80 frames. A style generator restyles the whole
 * frame, so its run keeps the generator's whole frame (`--background
 * generated`: the strokes cover the scene; with `original` only the subject's
 * region would be kept from it); `--gen-scope subject` restyles only the
 * subject and keeps the input scene around it (`original`); `both` runs the
 * two. Other generators keep the earlier default, `original`.
 */
export function demoPlan(opts: Omit<DemoCliOptions, 'out'>): DemoPlan {
  const generator = (opts.generator ?? DEMO_GENERATOR).trim();
  const isStyle = parseGeneratorSpec(generator).kind === 'style';
  const size = opts.genSize === undefined ? DEMO_GEN_SIZE : checkGenSize(opts.genSize);
  const frames = opts.frames ?? DEMO_FRAMES;
  if (!Number.isInteger(frames) || frames < DEMO_MIN_FRAMES || frames > DEMO_MAX_FRAMES) {
    throw new ReshootError(`--frames must be a whole number from ${DEMO_MIN_FRAMES} (3 segments of 10 frames) to ${DEMO_MAX_FRAMES} (the length of vtest.avi); got ${frames}`);
  }
  const scopes = [...GEN_SCOPES, 'both'];
  const scope = (opts.genScope ?? 'frame') as DemoScope;
  if (!scopes.includes(scope)) throw new ReshootError(`--gen-scope must be one of ${scopes.join(', ')}; got "${opts.genScope}"`);
  if (!isStyle && scope !== 'frame') throw new ReshootError(`--gen-scope ${scope} needs a style: generator (got --generator ${generator})`);
  if (opts.background !== undefined && !(BACKGROUND_MODES as readonly string[]).includes(opts.background)) {
    throw new ReshootError(`--background must be one of ${BACKGROUND_MODES.join(', ')}; got "${opts.background}"`);
  }
  if (opts.background !== undefined && scope === 'both') throw new ReshootError('--background cannot be combined with --gen-scope both (each scope has its own background)');
  const background = (s: 'frame' | 'subject'): BackgroundMode => (opts.background as BackgroundMode | undefined) ?? (isStyle && s === 'frame' ? 'generated' : 'original');
  const runs: DemoRun[] =
    scope === 'both'
      ? [
          { scope: 'frame', background: background('frame'), name: 'output' },
          { scope: 'subject', background: background('subject'), name: 'output-subject' },
        ]
      : [{ scope, background: background(scope), name: 'output' }];
  return { generator, isStyle, size, frames, runs };
}

/**
 * The generator alone, frame by frame on `input` (one segment, no
 * stabilization, no temporal stage): what a user gets without reshoot.
 * Subject scope reads the run's person masks (input coordinates).
 */
async function rawGenerate(generator: Generator, input: string, out: string, masks: MaskFile | null, workDir: string, onProgress: (d: number, t?: number) => void): Promise<{ seconds: number; frames: number }> {
  const info = await probeVideo(input);
  const frames: Frame[] = [];
  for await (const f of decodeFrames(input, { info })) frames.push(f);
  const chunk = generator.wholeSegment || generator.kind === 'cmd' ? frames.length : 24;
  const empty = (): GrayFrame => ({ width: info.width, height: info.height, data: new Uint8Array(info.width * info.height) });
  const t0 = performance.now();
  const generated: Frame[] = [];
  for (let s = 0; s < frames.length; s += chunk) {
    const part = frames.slice(s, s + chunk);
    const base = s;
    const got = await generator.generate({
      segmentIndex: 0,
      label: 'raw',
      start: s,
      frames: part,
      masks: masks ? part.map((_, k) => (masks.found(s + k) ? masks.read(s + k) : empty())) : undefined,
      plate: null,
      reference: frames[0],
      fps: info.fps,
      workDir,
      onProgress: (d) => onProgress(base + d, frames.length),
    });
    generated.push(...got);
  }
  const seconds = (performance.now() - t0) / 1000;
  await encodeFrames(generated, out, { fps: info.fps, crf: 12, preset: 'veryfast', overwrite: true });
  return { seconds, frames: frames.length };
}

const fmtFlicker = (f: FlickerReport) => `E_warp ${f.eWarp.output.toExponential(2)} (input ${f.eWarp.input.toExponential(2)}, ratio ${f.eWarp.ratio.toFixed(2)}), tOF ${f.tOF.toFixed(3)}`;

/**
 * The main job on the embedded default input: a real style transfer network
 * (style:matta; `--generator` overrides it) through the whole pipeline, the
 * same network alone frame by frame (the raw clip), both side by side (mp4 and
 * PNG), and the flicker of each against the input, so the effect of the
 * temporal stage shows. It owns its output folder (out/demo by default) and
 * replaces its own earlier outputs there.
 */
export async function demoCommand(opts: DemoCliOptions): Promise<void> {
  const plan = demoPlan(opts);
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const load0 = loadavg()[0];
  const outDir = resolve(opts.out);
  await ensureDir(outDir);
  const spec = { ...getSynthPreset(DEMO_PRESET), frames: plan.frames };
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const genLabel = plan.isStyle ? `${plan.generator} (a real style transfer network, ${plan.size} px short side)` : plan.generator;
  const steps = 3 + 2 * plan.runs.length;
  let step = 0;
  const head = (s: string) => say(`[${++step}/${steps}] ${s}`);

  head(`fetching ${spec.source} (real footage)`);
  await fetchDatasets({ ids: [spec.source] });

  const shaky = join(outDir, 'shaky.mp4');
  head(`adding known handheld shake (preset ${DEMO_PRESET}, ${plan.frames} frames) -> ${shaky}`);
  await withProgress('synthesize', (onProgress) => synthesizeClip(spec, shaky, { overwrite: true, onProgress }));
  say(formatInfo(await probeVideo(shaky)).replace(/^/gm, '      '));

  const reports: Record<string, unknown>[] = [];
  for (const r of plan.runs) {
    const output = join(outDir, `${r.name}.mp4`);
    const runDir = join(outDir, `${r.name}.run`);
    const scopeText = plan.isStyle ? `, scope ${r.scope}` : '';
    head(`reshoot process (preset balanced, generator ${genLabel}${scopeText}, background ${r.background}) -> ${output}`);
    const listener = cliListener((s) => say(`      ${s}`));
    let result: ProcessResult;
    try {
      result = await processVideo({
        input: shaky,
        output,
        runDir,
        overwrite: true,
        // The default temporal stage, not temporal.preset 'style': the preset took the demo from 115 s to 203 s
        // (README "Temporal preset") for E_warp 0.13x -> 0.11x the raw network's.
        config: resolveConfig({ generator: { spec: plan.generator, size: plan.size, scope: r.scope }, background: { mode: r.background } }),
        onEvent: listener.onEvent,
      });
    } finally {
      listener.stop();
    }
    for (const s of result.run.manifest.segments) say(`      segment ${s.index} ${s.label.padEnd(9)} frames ${s.start}-${s.end - 1}: ${(s.seconds.total ?? 0).toFixed(1)} s (generate ${(s.seconds.generate ?? 0).toFixed(1)} s)`);

    // The generator alone on the shaky input: the "before" of the side by side and of the flicker figures.
    const raw = join(outDir, `${r.name}-raw.mp4`);
    head(`the generator alone, frame by frame on the input (no reshoot) -> ${raw}`);
    const generator = await createGenerator(plan.generator, { synthetic: { seed: resolveConfig().generator.seed }, style: { size: plan.size, scope: r.scope } });
    const masks = r.scope === 'subject' ? await MaskFile.open(join(runDir, RUN_FILES.masks), join(runDir, RUN_FILES.masksSidecar)) : null;
    const workDir = join(outDir, `${r.name}-raw.work`);
    let rawRun: { seconds: number; frames: number };
    try {
      rawRun = await withProgress('generate', (onProgress) => rawGenerate(generator, shaky, raw, masks, workDir, onProgress));
    } finally {
      masks?.close();
      await generator.close();
      await rm(workDir, { recursive: true, force: true });
    }
    say(`      ${rawRun.frames} frames in ${rawRun.seconds.toFixed(1)} s (${((1000 * rawRun.seconds) / rawRun.frames).toFixed(0)} ms per frame: ${generator.describe()})`);

    say('      measuring flicker (raw and output against the input), seams and the scene');
    const segPlan = JSON.parse(await readFile(join(runDir, 'plan.json'), 'utf8')) as SegmentPlan;
    const flickerRaw = await withProgress('measure raw', (onProgress) => measureFlicker(raw, { input: shaky, flowScale: 0.5, ssim: false, onProgress }));
    const flicker = await withProgress('measure output', (onProgress) => measureFlicker(output, { input: shaky, plan: segPlan, flowScale: 0.5, ssim: false, onProgress }));
    // The end-to-end invariants: outside the subject the output must be the input (other people kept;
    // only meaningful when the background is the original), and nothing at the borders may repeat an edge.
    const scene = await measureEndToEnd(shaky, output, runDir);
    const frames = sheetFrames(scene.summary.frames, 6);
    const sheet = join(outDir, r.name === 'output' ? 'contact-sheet.png' : `contact-sheet-${r.name}.png`);
    await writeContactSheet(shaky, output, sheet, frames);
    const sideVideo = join(outDir, `${r.name}-side-by-side.mp4`);
    const sideSheet = join(outDir, `${r.name}-side-by-side.png`);
    await writeSideBySideVideo([shaky, raw, output], sideVideo);
    await writeColumnsSheet([shaky, raw, output], sideSheet, frames);

    say(`      raw generator  ${fmtFlicker(flickerRaw)}`);
    say(`      reshoot output ${fmtFlicker(flicker)}`);
    // Before = the network alone on the shaky frames; after = stabilized, generated, temporal stage, re-shaken.
    // The ratio is what reshoot as a whole does to the flicker (bench/temporal.ts --suite style isolates the temporal stage).
    say(`      flicker: reshoot's E_warp is ${(flicker.eWarp.output / flickerRaw.eWarp.output).toFixed(2)}x the raw generator's (stabilization + temporal consistency)`);
    for (const s of flicker.seams ?? []) {
      say(`      seam ${s.index}/${s.index + 1} at frame ${s.start}: score ${s.score.toFixed(2)} (1 = invisible), colour jump ${s.colorJumpMax.toFixed(1)} levels`);
    }
    say(
      `      scene kept: PSNR outside the subject (${scene.summary.sceneRadius} px around its mask) mean ${scene.summary.psnrSceneMean.toFixed(1)} dB, worst frame ${scene.summary.psnrSceneMin.toFixed(1)} dB; whole frame mean ${scene.summary.psnrMean.toFixed(1)} dB; edge copies ${(100 * scene.summary.edgeCopyMax).toFixed(3)} % of pixels at most` +
        (r.background === 'generated' ? ' (background generated: the scene is restyled on purpose)' : ''),
    );
    say(`      side by side ${sideVideo} and ${sideSheet} (input | raw generator | reshoot output)`);
    say(`      sheet        ${sheet} (input | output | 4x difference)`);
    reports.push({
      name: r.name,
      scope: r.scope,
      background: r.background,
      output,
      raw,
      runDir,
      sideBySide: { video: sideVideo, sheet: sideSheet, columns: ['input', 'raw generator', 'reshoot output'] },
      contactSheet: sheet,
      generator: result.run.manifest.segments[0]?.generator ?? plan.generator,
      seconds: result.seconds,
      rawSeconds: rawRun.seconds,
      rawMsPerFrame: (1000 * rawRun.seconds) / rawRun.frames,
      peakRssMB: result.run.manifest.peakRssMB,
      segments: result.run.manifest.segments.map((s) => ({ index: s.index, label: s.label, frames: `${s.start}-${s.end - 1}`, seconds: s.seconds })),
      flickerRaw: { eWarp: flickerRaw.eWarp, tOF: flickerRaw.tOF },
      flicker: { eWarp: flicker.eWarp, tOF: flicker.tOF, seams: flicker.seams, vsRaw: flicker.eWarp.output / flickerRaw.eWarp.output },
      scene: scene.summary,
      notes: result.run.manifest.notes ?? [],
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // On a shared machine the wall time depends on the other jobs: the CPU time and load say how much.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const loadAverage = { start: load0, end: loadavg()[0] };
  const report = {
    input: shaky,
    generator: plan.generator,
    isModel: plan.isStyle ? true : undefined,
    genSize: plan.isStyle ? plan.size : undefined,
    frames: plan.frames,
    runs: reports,
    seconds,
    cpuSeconds,
    loadAverage,
  };
  const reportPath = join(outDir, 'report.json');
  await writeJsonAtomic(reportPath, report, { overwrite: true });
  say('');
  for (const r of reports) say(`${String(r.name).padEnd(15)} ${r.output} (run folder ${r.runDir})`);
  say(`report          ${reportPath}`);
  say(`total           ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(0)} s CPU in this process, ffmpeg not counted; 1-min load average ${loadAverage.start.toFixed(1)} at the start, ${loadAverage.end.toFixed(1)} at the end)`);
}
