import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile } from './helpers.js';
import { createGenerator, parseGeneratorSpec } from '../src/generate/index.js';
import { resolveConfig } from '../src/pipeline/config.js';
import type { PipelineEvent } from '../src/pipeline/events.js';
import { processVideo } from '../src/pipeline/process.js';
import { ReshootError } from '../src/util/errors.js';
import { cliListener } from '../src/cli/commands/process.js';
import { resolveFfmpeg } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-overlap-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const clip = join(dir, 'walk.mp4');

before(() => {
  // 40 frames of the real vtest.avi walkers at half size.
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', mediaFile('vtest.avi'), '-frames:v', '40', '-vf', 'scale=384:288', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', clip]);
});

test('slow:<seconds> sleeps per segment call, returns the input, and takes the segment whole; bad values are one clear error', async () => {
  const g = await createGenerator('slow:0.4');
  assert.equal(g.wholeSegment, true);
  assert.equal(g.isModel, false);
  const frame = { width: 4, height: 2, data: Uint8Array.from({ length: 24 }, (_, i) => i * 10) };
  const t0 = performance.now();
  const out = await g.generate({ segmentIndex: 0, label: 'a', frames: [frame, frame], plate: null, reference: frame, fps: { num: 10, den: 1 }, workDir: dir });
  const ms = performance.now() - t0;
  assert.ok(ms >= 390, `slept ${ms.toFixed(0)} ms`);
  assert.deepEqual([...out[1].data], [...frame.data]);
  assert.notEqual(out[1].data, frame.data, 'a copy, not the input buffer');
  for (const bad of ['slow:', 'slow:-1', 'slow:abc', 'slow:99999']) {
    assert.throws(() => parseGeneratorSpec(bad), (e: unknown) => e instanceof ReshootError && /slow: needs seconds/.test(e.message) && !e.message.includes('\n'), bad);
  }
});

test('segments in flight give the same bytes as --sequential, and the generator still takes them in order while the next one is prepared', async () => {
  const config = resolveConfig({ generator: { spec: 'slow:1' }, segments: { count: 3, overlap: 4, minLength: 8 } });
  const runs: Record<string, { events: PipelineEvent[]; dir: string; out: string }> = {};
  for (const mode of ['sequential', 'overlap'] as const) {
    const out = join(dir, `${mode}.mp4`);
    const events: PipelineEvent[] = [];
    await processVideo({ input: clip, output: out, config, sequential: mode === 'sequential', onEvent: (e) => e.type !== 'progress' && events.push(e), threads: 1 });
    runs[mode] = { events, dir: join(dir, `${mode}.run`), out };
  }
  const bytes = (p: string) => readFileSync(p);
  for (const k of [0, 1, 2]) {
    const name = join('segments', `seg-${String(k).padStart(2, '0')}.mp4`);
    const manifest = JSON.parse(readFileSync(join(runs.overlap.dir, 'run.json'), 'utf8'));
    assert.equal(manifest.segments[k].file, name);
    assert.ok(bytes(join(runs.overlap.dir, name)).equals(bytes(join(runs.sequential.dir, name))), `segment ${k} clip differs`);
  }
  assert.ok(bytes(runs.overlap.out).equals(bytes(runs.sequential.out)), 'output differs');

  const at = (events: PipelineEvent[], type: string, stage: string, segment: number) => events.findIndex((e) => e.type === type && e.stage === stage && e.segment === segment);
  const ov = runs.overlap.events, sq = runs.sequential.events;
  // The generator's turns, in plan order, in both modes.
  for (const ev of [ov, sq]) {
    const order = ev.filter((e) => e.type === 'stage-start' && e.stage === 'generate').map((e) => e.segment);
    assert.deepEqual(order, [0, 1, 2]);
    for (const k of [1, 2]) assert.ok(at(ev, 'stage-end', 'generate', k - 1) < at(ev, 'stage-start', 'generate', k), `segment ${k} generates after ${k - 1} is done`);
  }
  // Overlap: segment 1 is being prepared while segment 0 is still in flight; sequential: only after segment 0 ended.
  assert.ok(at(ov, 'stage-start', 'decode', 1) < at(ov, 'stage-end', 'segment', 0), 'segment 1 prepared while segment 0 generates');
  assert.ok(at(sq, 'stage-start', 'decode', 1) > at(sq, 'stage-end', 'segment', 0));
  // Never more than three segments in flight.
  let open = 0, most = 0;
  for (const e of ov) {
    if (e.type === 'progress' || e.stage !== 'segment' || e.reused) continue;
    open += e.type === 'stage-start' ? 1 : e.type === 'stage-end' ? -1 : 0;
    most = Math.max(most, open);
  }
  assert.ok(most >= 2 && most <= 3, `${most} segments in flight at most`);
});

test('the CLI log names each segment and its step when segments overlap', () => {
  const lines: string[] = [];
  const l = cliListener((s) => lines.push(s));
  const seg = (type: 'stage-start' | 'stage-end', stage: 'segment' | 'decode' | 'generate' | 'temporal', segment: number, seconds?: number): PipelineEvent => ({ type, stage, segment, segments: 3, ...(seconds !== undefined && { seconds }) });
  for (const e of [
    seg('stage-start', 'segment', 0), seg('stage-start', 'decode', 0), seg('stage-start', 'generate', 0),
    seg('stage-start', 'segment', 1), seg('stage-start', 'decode', 1),
    seg('stage-end', 'generate', 0), seg('stage-start', 'temporal', 0), seg('stage-start', 'generate', 1),
    seg('stage-end', 'segment', 0, 3.25),
  ]) l.onEvent(e);
  l.stop();
  assert.deepEqual(lines, ['segment 1/3: decode', 'segment 1/3: generate', 'segment 2/3: decode', 'segment 1/3: temporal', 'segment 2/3: generate', 'segment 1/3: 3.3 s']);
});
