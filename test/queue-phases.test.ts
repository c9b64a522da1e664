// processVideo's phases (src/queue runs them as jobs): prepare, each segment alone in any order, then finish
// must give the bytes of one whole run, and a segment redone must give the same clip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile } from './helpers.js';
import { resolveConfig } from '../src/pipeline/config.js';
import type { PipelineEvent } from '../src/pipeline/events.js';
import { processVideo } from '../src/pipeline/process.js';
import { ReshootError } from '../src/util/errors.js';
import { resolveFfmpeg } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-phases-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const clip = join(dir, 'walk.mp4');
// The synthetic stand-in changes every frame differently per segment, so a clip from the wrong segment or
// frame would show in the bytes; 3 segments with overlaps so the blend in finish joins real seams.
const config = resolveConfig({ generator: { spec: 'synthetic' }, segments: { count: 3, overlap: 4, minLength: 8 } });
const bytes = (p: string) => readFileSync(p);
const segClip = (run: string, k: number) => join(run, 'segments', `seg-0${k}.mp4`);

before(() => {
  // 30 frames of the real vtest.avi walkers at 320x240.
  execFileSync(resolveFfmpeg(), ['-v', 'error', '-i', mediaFile('vtest.avi'), '-frames:v', '30', '-vf', 'scale=320:240', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', clip]);
});

const isOneLine = (re: RegExp) => (e: unknown) => e instanceof ReshootError && re.test(e.message) && !e.message.includes('\n');

test('prepare, the segments in any order, then finish give the same output bytes as one processVideo call; a segment redone gives the same clip', async () => {
  const whole = join(dir, 'whole.mp4');
  await processVideo({ input: clip, output: whole, config, threads: 1 });

  const out = join(dir, 'phased.mp4');
  const runDir = join(dir, 'phased.run');
  // Before prepare there is nothing to continue.
  await assert.rejects(processVideo({ input: clip, output: out, config, phase: { segment: 0 } }), isOneLine(/no run\.json: run the prepare phase first/));
  const prep = await processVideo({ input: clip, output: out, config, phase: 'prepare', threads: 1 });
  assert.equal(prep.runDir, runDir);
  assert.equal((await prep.run.plan()).segments.length, 3);
  assert.ok(!existsSync(out), 'prepare writes no output');
  assert.ok(!existsSync(join(runDir, 'segments', 'seg-00.mp4')), 'prepare runs no segment');
  // Finish before the segments: refused, naming the missing segment.
  await assert.rejects(processVideo({ input: clip, output: out, config, phase: 'finish' }), isOneLine(/segment 0 of .* is not done/));
  await assert.rejects(processVideo({ input: clip, output: out, config, phase: { segment: 3 } }), isOneLine(/segment 3 is not in the plan .* \(3 segments\)/));

  const runJson = () => bytes(join(runDir, 'run.json')).toString();
  const before = runJson();
  for (const k of [2, 0, 1]) {
    const events: PipelineEvent[] = [];
    await processVideo({ input: clip, output: out, config, phase: { segment: k }, threads: 1, onEvent: (e) => e.type !== 'progress' && events.push(e) });
    // Only segment k ran, every prepare step was reused.
    assert.deepEqual(events.filter((e) => e.type === 'stage-start' && e.stage === 'segment').map((e) => e.segment), [k]);
    for (const step of ['decompose', 'stabilize', 'plate', 'plan']) assert.ok(events.some((e) => e.type === 'stage-end' && e.stage === step && e.reused), `${step} reused`);
    const rec = JSON.parse(bytes(join(runDir, 'segments', `seg-0${k}.json`)).toString());
    assert.equal(rec.status, 'done');
    assert.equal(rec.index, k);
  }
  // Segment jobs share the folder: none of them rewrote run.json.
  assert.equal(runJson(), before);
  await processVideo({ input: clip, output: out, config, phase: 'finish', threads: 1 });
  for (const k of [0, 1, 2]) assert.ok(bytes(segClip(runDir, k)).equals(bytes(segClip(join(dir, 'whole.run'), k))), `segment ${k} clip differs`);
  assert.ok(bytes(out).equals(bytes(whole)), 'phased output differs from the whole run');
  const manifest = JSON.parse(runJson());
  assert.equal(manifest.status, 'done');
  assert.deepEqual(manifest.segments.map((s: { index: number; status: string }) => [s.index, s.status]), [[0, 'done'], [1, 'done'], [2, 'done']]);

  // A segment job delivered twice is reused (same file, not rewritten) ...
  const first = bytes(segClip(runDir, 1));
  const mtime = statSync(segClip(runDir, 1)).mtimeMs;
  const events: PipelineEvent[] = [];
  await processVideo({ input: clip, output: out, config, phase: { segment: 1 }, onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.type === 'stage-end' && e.stage === 'segment' && e.reused));
  assert.equal(statSync(segClip(runDir, 1)).mtimeMs, mtime);
  // ... and one redone from scratch (its record lost, as when a worker died before writing it) gives the same bytes.
  rmSync(join(runDir, 'segments', 'seg-01.json'));
  rmSync(segClip(runDir, 1));
  await processVideo({ input: clip, output: out, config, phase: { segment: 1 }, threads: 1 });
  assert.ok(bytes(segClip(runDir, 1)).equals(first), 'segment 1 redone differs');
});

test('segment and finish phases never rerun a prepare step: a changed config is refused in one line', async () => {
  const out = join(dir, 'changed.mp4');
  await processVideo({ input: clip, output: out, config: { ...config, pose: { ...config.pose, enabled: false } }, phase: 'prepare', threads: 1 });
  await assert.rejects(processVideo({ input: clip, output: out, config, phase: { segment: 0 } }), isOneLine(/step decompose of .* is not done \(or its config changed\): run the prepare phase first/));
  const carry = { ...config, temporal: { ...config.temporal, carry: true } };
  await assert.rejects(processVideo({ input: clip, output: out, config: carry, phase: { segment: 0 } }), isOneLine(/temporal\.carry chains the segments/));
});
