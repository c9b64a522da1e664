import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaFile, runCli, ROOT } from './helpers.js';
import { decodeAll, probeVideo, resolveFfmpeg, type Frame } from '../src/video/index.js';

const dir = mkdtempSync(join(tmpdir(), 'reshoot-pipeline-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const clip = join(dir, 'walk.mp4');

/** PSNR of two same-size RGB frames over the central `crop` share (re-shake leaves thin borders at the edges). */
function psnrCentral(a: Frame, b: Frame, crop = 0.8): number {
  const x0 = Math.floor((a.width * (1 - crop)) / 2), y0 = Math.floor((a.height * (1 - crop)) / 2);
  let se = 0, n = 0;
  for (let y = y0; y < a.height - y0; y++) {
    for (let x = x0; x < a.width - x0; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * a.width + x) * 3 + c;
        se += (a.data[i] - b.data[i]) ** 2;
        n++;
      }
    }
  }
  return 10 * Math.log10((255 * 255) / (se / n));
}

before(() => {
  // 36 frames of the real vtest.avi walkers at half size, with a 440 Hz tone as audio.
  execFileSync(resolveFfmpeg(), [
    '-v', 'error', '-i', mediaFile('vtest.avi'), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-frames:v', '36', '-vf', 'scale=384:288', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-shortest', clip,
  ]);
});

test('process keeps frame count, fps, size and audio of the input', async () => {
  const out = join(dir, 'full.mp4');
  const r = await runCli(['process', clip, '-o', out, '--generator', 'synthetic'], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  const a = await probeVideo(clip);
  const b = await probeVideo(out);
  assert.equal(b.frameCount, a.frameCount);
  assert.deepEqual([b.width, b.height], [a.width, a.height]);
  assert.equal(b.fps.num / b.fps.den, a.fps.num / a.fps.den);
  assert.equal(b.hasAudio, true);
  const run = JSON.parse(readFileSync(join(dir, 'full.run', 'run.json'), 'utf8'));
  assert.equal(run.status, 'done');
  assert.equal(run.segments.length, 3);
  for (const f of ['transforms.json', 'poses.json', 'contacts.json', 'plan.json', 'plate.png', 'output.mp4']) {
    assert.ok(existsSync(join(dir, 'full.run', f)), `${f} in the run folder`);
  }
  // The synthetic stand-in perturbs every frame: the output must differ from the input (the generator really ran).
  const [fa, fb] = [(await decodeAll(clip, { count: 1, start: 18 }))[0], (await decodeAll(out, { count: 1, start: 18 }))[0]];
  assert.ok(psnrCentral(fa, fb) < 40, 'synthetic output differs from the input');
});

test('with every stage that changes pixels off, passthrough returns the input', async () => {
  const out = join(dir, 'identity.mp4');
  const r = await runCli(
    ['process', clip, '-o', out, '--generator', 'passthrough', '--no-stabilize', '--no-temporal', '--no-footlock', '--bg-plate', 'off'],
    { timeoutMs: 600_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const a = await decodeAll(clip);
  const b = await decodeAll(out);
  assert.equal(b.length, a.length);
  // Only two lossy encodes stand between them (segment clip, output): well above 35 dB.
  for (const t of [0, 15, 31, 35]) assert.ok(psnrCentral(a[t], b[t], 1) > 35, `frame ${t}: ${psnrCentral(a[t], b[t], 1).toFixed(1)} dB`);
});

test('stabilize then re-shake puts the camera back: passthrough output matches the input in the centre', async () => {
  const out = join(dir, 'reshake.mp4');
  const r = await runCli(['process', clip, '-o', out, '--generator', 'passthrough', '--no-temporal', '--no-footlock', '--bg-plate', 'off'], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  const a = await decodeAll(clip);
  const b = await decodeAll(out);
  for (const t of [5, 20, 30]) assert.ok(psnrCentral(a[t], b[t], 0.8) > 30, `frame ${t}: ${psnrCentral(a[t], b[t], 0.8).toFixed(1)} dB`);
});

test('a failing cmd: generator stops the run with its exit code; --resume recomputes only the missing segments', async () => {
  const out = join(dir, 'resume.mp4');
  const log = join(dir, 'segments.log');
  const gen = `cmd:node ${join(ROOT, 'test', 'fixtures', 'pipeline-generator.mjs')} {in} {out}`;
  const args = ['process', clip, '-o', out, '--generator', gen, '--no-temporal'];
  const failed = await runCli(args, { timeoutMs: 600_000, env: { RESHOOT_TEST_LOG: log, RESHOOT_TEST_FAIL_SEGMENT: '1' } });
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /exit(ed with)? (code )?5/);
  assert.match(failed.stderr, /refusing segment 1 on purpose/);
  assert.equal(existsSync(out), false, 'no output after a failed run');
  const manifest = JSON.parse(readFileSync(join(dir, 'resume.run', 'run.json'), 'utf8'));
  assert.equal(manifest.status, 'failed');
  assert.equal(manifest.segments[0].status, 'done');
  const seg0 = join(dir, 'resume.run', manifest.segments[0].file);
  const seg0Mtime = statSync(seg0).mtimeMs;

  // Without --resume the run folder is not touched.
  const refused = await runCli(args, { timeoutMs: 600_000, env: { RESHOOT_TEST_LOG: log } });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--resume/);

  writeFileSync(log, '');
  const resumed = await runCli([...args, '--resume'], { timeoutMs: 600_000, env: { RESHOOT_TEST_LOG: log } });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['1', '2'], 'only segments 1 and 2 ran again');
  assert.equal(statSync(seg0).mtimeMs, seg0Mtime, 'segment 0 was not recomputed');
  assert.equal((await probeVideo(out)).frameCount, 36);
});

test('bad input and bad flags fail with one clear line', async () => {
  const missing = await runCli(['process', join(dir, 'nope.mp4'), '-o', join(dir, 'x.mp4')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /^reshoot: input .*nope\.mp4 not found\n$/);
  const preset = await runCli(['process', clip, '-o', join(dir, 'y.mp4'), '--preset', 'turbo']);
  assert.match(preset.stderr, /--preset must be one of fast, balanced, quality/);
  const segs = await runCli(['process', clip, '-o', join(dir, 'z.mp4'), '--segments', '0']);
  assert.match(segs.stderr, /segments\.count/);
  const gen = await runCli(['process', clip, '-o', join(dir, 'w.mp4'), '--generator', 'magic']);
  assert.match(gen.stderr, /unknown generator "magic"/);
  assert.equal(existsSync(join(dir, 'w.mp4')), false);
  assert.equal(existsSync(join(dir, 'w.run')), false, 'a bad generator fails before the run folder is made');
});
