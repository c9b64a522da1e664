/**
 * `reshoot finish` and the `wan-animate:` generator: a stand-in for the model's output (a solid red
 * video at Wan's size, or the exported background video itself) goes back through reshoot's back end.
 * Independent expectations: the output has the input's size, fps and frame count; in `original` mode
 * the scene away from the person is the input's; the person's region shows the model's pixels.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { decodeAll, probeVideo, resolveFfmpeg, type Frame } from '../src/video/index.js';
import { mediaFile, runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wan-finish-'));
const clip = join(dir, 'clip.mp4');
const exp = join(dir, 'exp');
const ff = resolveFfmpeg();

before(async () => {
  // 20 frames of the real vtest.avi walkers at 320x240, 10 fps.
  execFileSync(ff, ['-v', 'error', '-i', mediaFile('vtest.avi'), '-frames:v', '20', '-vf', 'scale=320:240', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', clip]);
  const r = await runCli(['export', clip, '--format', 'wan-animate', '-o', exp, '--refert-num', '1', '--area', '320x240', '--preset', 'fast', '--segments', '2'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
});

function redness(out: Frame, input: Frame): { red: number; outsideDiff: number } {
  let red = 0;
  let diff = 0;
  let n = 0;
  for (let i = 0; i < out.width * out.height; i++) {
    const [r, g, b] = [out.data[3 * i], out.data[3 * i + 1], out.data[3 * i + 2]];
    const isRed = r > 170 && g < 90 && b < 90 && !(input.data[3 * i] > 170 && input.data[3 * i + 1] < 90);
    if (isRed) red++;
    else {
      diff += Math.abs(r - input.data[3 * i]) + Math.abs(g - input.data[3 * i + 1]) + Math.abs(b - input.data[3 * i + 2]);
      n += 3;
    }
  }
  return { red, outsideDiff: diff / n };
}

test('finish: the model\'s frames land in the subject\'s region at the input\'s size, fps and length; the rest is the input', async () => {
  const gen = join(dir, 'generated.mp4');
  // Wan writes 30 fps at the export's size (304x240 here): a solid red "model output", 60 frames.
  execFileSync(ff, ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=304x240:r=30', '-frames:v', '60', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', gen]);
  const out = join(dir, 'finished.mp4');
  const r = await runCli(['finish', gen, '--run', exp, '-o', out], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const a = await probeVideo(clip);
  const b = await probeVideo(out);
  assert.deepEqual([b.width, b.height, b.frameCount], [a.width, a.height, a.frameCount]);
  assert.equal(b.fps.num / b.fps.den, a.fps.num / a.fps.den);
  const [o] = await decodeAll(out, { start: 10, count: 1 });
  const [i] = await decodeAll(clip, { start: 10, count: 1 });
  const { red, outsideDiff } = redness(o, i);
  assert.ok(red > 100 && red < 0.15 * 320 * 240, `the subject's region is red (${red} px)`);
  assert.ok(outsideDiff < 3, `elsewhere the input is kept (mean |diff| ${outsideDiff.toFixed(2)} levels)`);
});

test('finish refuses a video of another aspect, too short a video, and a folder that is not an export', async () => {
  const wide = join(dir, 'wide.mp4');
  execFileSync(ff, ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=640x240:r=30', '-frames:v', '60', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', wide]);
  let r = await runCli(['finish', wide, '--run', exp, '-o', join(dir, 'x.mp4')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /is 640x240, the export is 304x240: a different aspect ratio/);
  const short = join(dir, 'short.mp4');
  execFileSync(ff, ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=304x240:r=30', '-frames:v', '20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', short]);
  r = await runCli(['finish', short, '--run', exp, '-o', join(dir, 'x.mp4')]);
  assert.match(r.stderr, /has 20 frames, the export has 60/);
  r = await runCli(['finish', short, '--run', dir, '-o', join(dir, 'x.mp4')]);
  assert.match(r.stderr, /has no reshoot-export\.json/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('generator wan-animate:<command> runs the command on a Wan folder per segment and maps its mp4 back', async () => {
  const out = join(dir, 'wa.mp4');
  // The "model" returns the folder's background video: the person blacked out (Wan's src_bg convention).
  const cmd = `wan-animate:${ff} -v error -i {src_root}/src_bg.mp4 -pix_fmt yuv420p {out}`;
  const r = await runCli(['process', clip, '-o', out, '--preset', 'fast', '--segments', '2', '--no-footlock', '--generator', cmd, '--refert-num', '5'], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const b = await probeVideo(out);
  assert.deepEqual([b.width, b.height, b.frameCount], [320, 240, 20]);
  const seg = await probeVideo(join(dir, 'wa.run', 'work', 'seg-00', 'wan', 'src_pose.mp4'));
  assert.equal(seg.fps.num / seg.fps.den, 30);
  const [o] = await decodeAll(out, { start: 5, count: 1 });
  const [i] = await decodeAll(clip, { start: 5, count: 1 });
  // The subject's region is dark now; the rest is the input.
  let dark = 0;
  for (let p = 0; p < 320 * 240; p++) {
    const s = o.data[3 * p] + o.data[3 * p + 1] + o.data[3 * p + 2];
    const si = i.data[3 * p] + i.data[3 * p + 1] + i.data[3 * p + 2];
    if (s < 40 && si > 120) dark++;
  }
  assert.ok(dark > 50, `the person was replaced by the model's (black) pixels: ${dark} px`);
  const bad = await runCli(['process', clip, '-o', join(dir, 'wb.mp4'), '--preset', 'fast', '--segments', '2', '--generator', 'wan-animate:true', '--refert-num', '1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /the command exited 0 but wrote no .*wan-generated\.mp4/);
});
