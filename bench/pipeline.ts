/**
 * Pipeline overhead and memory: everything except the generator, per segment
 * and per stage, on real footage at 720p. The clip is vtest.avi (real
 * pedestrians) scaled and cropped to 1280x720 and re-timed to 30 fps (its
 * frames shown 3x faster; looped for lengths beyond its 795 frames). The
 * passthrough generator (a stand-in that returns its input) makes the
 * generator's own time ~0, so what is measured is reshoot's overhead. Each
 * length runs in a fresh process; peak RSS is that process's VmHWM.
 *
 *   node --import tsx bench/pipeline.ts [--seconds 10,120] [--preset balanced] [--generator passthrough|slow:20] [--sequential] [--out results/<ts>-pipeline.csv]
 *
 * `--generator slow:20` (a stand-in that sleeps 20 s per segment, like a GPU job) measures how much of the
 * CPU work hides behind the generator; `--sequential` runs one segment at a time for comparison.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { datasetPath, fetchDatasets } from '../src/datasets/index.js';
import { SEGMENT_STAGES, STEP_NAMES } from '../src/pipeline/events.js';
import { resolveFfmpeg } from '../src/video/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    preset: { type: 'string', default: 'balanced' },
    generator: { type: 'string', default: 'passthrough' },
    sequential: { type: 'boolean', default: false },
    out: { type: 'string', default: `results/${stamp}-pipeline.csv` },
  },
});

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RESHOOT_PROGRESS: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(stdout) : rej(new Error(`${cmd} exited ${code}: ${stderr}`))));
  });
}


await fetchDatasets({ ids: ['vtest'] });
const work = await mkdtemp(join(tmpdir(), 'reshoot-bench-pipeline-'));
const rows: Record<string, string | number>[] = [];
try {
  for (const seconds of values.seconds!.split(',').map(Number)) {
    const clip = join(work, `walk720-${seconds}s.mp4`);
    await run(resolveFfmpeg(), [
      '-v', 'error', '-y', '-stream_loop', '-1', '-i', datasetPath('vtest'),
      '-vf', 'setpts=PTS/3,scale=1280:960,crop=1280:720,fps=30,format=yuv420p', '-frames:v', String(seconds * 30),
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', clip,
    ]);
    const out = join(work, `out-${seconds}s.mp4`);
    const config = { preset: values.preset, generator: { spec: values.generator } };
    process.stderr.write(`pipeline bench: ${seconds} s at 1280x720, 30 fps, preset ${values.preset} ...\n`);
    const r = JSON.parse((await run(process.execPath, ['--import', 'tsx', resolve('bench/pipeline-child.ts'), clip, out, JSON.stringify(config), values.sequential ? 'sequential' : 'overlap'])).trim().split('\n').pop()!);
    const wholeVideo = Object.fromEntries(Object.entries(r.steps as Record<string, { seconds?: number }>).map(([k, v]) => [k, v.seconds ?? 0]));
    // The overlap target (issue 17): wall <= 1.15 x (generator time + everything before the generator's first
    // call + everything after its last). Generator time: the sum of its calls ('generate' start -> end).
    const tl = (r.timeline ?? []) as { t: number; type: string; stage: string; segment?: number }[];
    const genStarts = tl.filter((e) => e.stage === 'generate' && e.type === 'stage-start');
    const genEnds = tl.filter((e) => e.stage === 'generate' && e.type === 'stage-end');
    const genSeconds = genStarts.reduce((a, e) => a + ((genEnds.find((x) => x.segment === e.segment)?.t ?? e.t) - e.t), 0);
    const beforeGen = genStarts.length ? Math.min(...genStarts.map((e) => e.t)) : 0;
    const afterGen = genEnds.length ? Number(r.wallSeconds) - Math.max(...genEnds.map((e) => e.t)) : 0;
    const overlapTarget = 1.15 * (genSeconds + beforeGen + afterGen);
    const perSegmentShare = STEP_NAMES.reduce((a, k) => a + (wholeVideo[k] ?? 0), 0) / r.segments.length;
    for (const s of r.segments) {
      const sec = s.seconds as Record<string, number>;
      const inSegment = SEGMENT_STAGES.reduce((a, k) => a + (k === 'generate' ? 0 : sec[k] ?? 0), 0);
      rows.push({
        clip_seconds: seconds,
        frames: seconds * 30,
        preset: values.preset,
        generator: values.generator!,
        mode: values.sequential ? 'sequential' : 'overlap',
        segment: s.index,
        segment_frames: s.end - s.start,
        ...Object.fromEntries(SEGMENT_STAGES.map((k) => [`${k}_s`, (sec[k] ?? 0).toFixed(2)])),
        segment_total_s: (sec.total ?? 0).toFixed(2),
        whole_video_share_s: perSegmentShare.toFixed(2),
        non_generator_s: (inSegment + perSegmentShare).toFixed(2),
        segment_peak_rss_mb: (s.peakRssMB ?? 0).toFixed(0),
        process_peak_rss_mb: Number(r.peakRssMB).toFixed(0),
        ...Object.fromEntries(STEP_NAMES.map((k) => [`${k}_s`, (wholeVideo[k] ?? 0).toFixed(2)])),
        total_s: Number(r.seconds).toFixed(1),
        // CPU seconds of the pipeline process (bench/pipeline-child.ts), beside the wall times above.
        segment_cpu_s: (r.cpu?.segments?.[s.index] ?? 0).toFixed(2),
        ...Object.fromEntries(STEP_NAMES.map((k) => [`${k}_cpu_s`, (r.cpu?.steps?.[k] ?? 0).toFixed(2)])),
        total_cpu_s: Number(r.cpu?.total ?? 0).toFixed(1),
        load_avg_1m: loadavg()[0].toFixed(2),
        generator_calls_s: genSeconds.toFixed(1),
        before_first_generate_s: beforeGen.toFixed(1),
        after_last_generate_s: afterGen.toFixed(1),
        overlap_target_s: overlapTarget.toFixed(1),
        wall_s: Number(r.wallSeconds).toFixed(1),
      });
    }
    if (genSeconds > 0) process.stderr.write(`  generator ${genSeconds.toFixed(1)} s, before its first call ${beforeGen.toFixed(1)} s, after its last ${afterGen.toFixed(1)} s: target ${overlapTarget.toFixed(1)} s, wall ${Number(r.wallSeconds).toFixed(1)} s\n`);
    process.stderr.write(`  total ${Number(r.seconds).toFixed(1)} s (${Number(r.cpu?.total ?? 0).toFixed(1)} CPU s, load ${loadavg()[0].toFixed(1)}), peak RSS ${Number(r.peakRssMB).toFixed(0)} MB\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
await writeFileAtomic(values.out!, stringify(rows, { header: true }), { overwrite: true });
console.table(rows.map((r) => ({ clip: `${r.clip_seconds}s`, seg: r.segment, frames: r.segment_frames, decode: r.decode_s, temporal: r.temporal_s, composite: r.composite_s, footlock: r.footlock_s, encode: r.encode_s, share: r.whole_video_share_s, nonGen: r.non_generator_s, rss: r.process_peak_rss_mb })));
console.log(`wrote ${values.out}`);
