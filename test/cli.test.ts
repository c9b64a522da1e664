import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { join } from 'node:path';
import { runCli, mediaFile } from './helpers.js';

/** A failing command prints exactly one line, prefixed "reshoot:", on stderr, nothing on stdout, and exits non-zero. */
function assertOneLineError(r: { code: number | null; stdout: string; stderr: string }, mentions: RegExp): void {
  assert.notEqual(r.code, 0, 'exit code must be non-zero');
  assert.equal(r.stdout, '', 'nothing on stdout');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^reshoot: /);
  assert.match(lines[0], mentions);
}

test('--help lists the commands', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const cmd of ['info', 'datasets', 'demo']) assert.match(r.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), cmd);
});

test('info on vtest.avi reports 768x576, 10 fps, 795 frames (values from the dataset README)', async () => {
  const video = mediaFile('vtest.avi');
  const text = await runCli(['info', video]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /768x576/);
  assert.match(text.stdout, /^fps\s+10$/m);
  assert.match(text.stdout, /^frames\s+795$/m);
  const json = await runCli(['info', video, '--json']);
  const info = JSON.parse(json.stdout);
  assert.deepEqual([info.width, info.height, info.fps, info.frameCount, info.hasAudio], [768, 576, { num: 10, den: 1 }, 795, false]);
});

test('info rejects bad inputs with one clear line and a non-zero exit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const text = join(dir, 'notes.txt');
  await writeFile(text, 'this is not a video\n'.repeat(50));
  const empty = join(dir, 'empty.mp4');
  await writeFile(empty, '');
  // A real mp4 (made by the npm-shipped ffmpeg) cut in half: its moov atom, written last, is gone.
  const whole = join(dir, 'whole.mp4');
  const made = spawnSync(ffmpegInstaller.path, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', whole]);
  assert.equal(made.status, 0, String(made.stderr));
  const bytes = await readFile(whole);
  const truncated = join(dir, 'truncated.mp4');
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.mp4'), /missing\.mp4/],
    [text, /notes\.txt/],
    [empty, /empty\.mp4.*(empty|0 bytes)/],
    [truncated, /truncated\.mp4/],
    [mediaFile('basketball1.png'), /basketball1\.png.*(image|not a video)/],
  ];
  for (const [file, mentions] of cases) {
    const r = await runCli(['info', file]);
    assertOneLineError(r, mentions);
  }
});

test('an unknown command fails with a non-zero exit', async () => {
  const r = await runCli(['frobnicate']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown command/);
});

test('datasets synth into an unwritable folder fails cleanly and leaves nothing behind', async (t) => {
  // CI runs as root, which ignores permission bits: a folder below a regular file cannot be created by anyone.
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const blocker = join(dir, 'file');
  await writeFile(blocker, 'x');
  await chmod(blocker, 0o444);
  const r = await runCli(['datasets', 'synth', 'photo-strong-shake', '--frames', '5', '-o', join(blocker, 'sub')]);
  assertOneLineError(r, /file/);
  assert.deepEqual(await readdir(dir), ['file']);
});
