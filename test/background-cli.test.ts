import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { makePlateScene, psnr } from '../src/background/index.js';
import { loadTransforms, makeShakyClip, stabilizeFrame } from '../src/stabilize/index.js';
import { readRgb } from '../src/generate/index.js';
import { encodeFrames, probeVideo, type Frame } from '../src/video/index.js';
import { mediaFile, runCli } from './helpers.js';

async function load(file: string, w: number, h: number): Promise<Frame> {
  const { data, info } = await sharp(file).removeAlpha().resize(w, h, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

test('reshoot plate: static plate from a video and its mask video, confidence and holes; sliding plates as video; errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-plate-cli-'));
  try {
    const bg = await load(mediaFile('building.jpg'), 160, 120);
    const tex = await load(mediaFile('basketball1.png'), 40, 80);
    const s = makePlateScene({ background: bg, texture: tex, frames: 24, path: 'cross', noise: 1, seed: 9 });
    const video = join(dir, 'in.mp4');
    const masks = join(dir, 'masks.mp4');
    await encodeFrames(s.frames, video, { fps: { num: 24, den: 1 }, crf: 12 });
    // Mask video as `reshoot masks` writes it: gray (here stored as equal RGB channels).
    const maskRgb = s.masks.map((m) => ({ width: m.width, height: m.height, data: Uint8Array.from({ length: m.data.length * 3 }, (_, i) => m.data[Math.floor(i / 3)]) }));
    await encodeFrames(maskRgb, masks, { fps: { num: 24, den: 1 }, crf: 12 });

    const out = join(dir, 'plate.png');
    const r = await runCli(['plate', video, '--masks', masks, '-o', out, '--confidence', join(dir, 'conf.png'), '--holes', join(dir, 'holes.png')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /median of 24 of 24 frames, person masked out/);
    assert.match(r.stdout, /inpainted\s+0\.00%/);
    const plate = await readRgb(out);
    assert.deepEqual([plate.width, plate.height], [160, 120]);
    // H.264 at crf 12 plus noise std 1: the plate is within ~35 dB of the true background.
    assert.ok(psnr(plate, s.truth[0]) > 33, `plate PSNR ${psnr(plate, s.truth[0])}`);
    assert.ok(psnr(plate, s.truth[0], s.everCovered) > 30, 'where the person walked');
    assert.equal((await sharp(join(dir, 'conf.png')).metadata()).channels, 1);
    assert.ok(existsSync(join(dir, 'holes.png')));

    const again = await runCli(['plate', video, '--masks', masks, '-o', out]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already exists \(pass --overwrite/);

    const plates = join(dir, 'plates.mp4');
    const w = await runCli(['plate', video, '--masks', masks, '-o', plates, '--window', '16', '--confidence', join(dir, 'conf.mp4')]);
    assert.equal(w.code, 0, w.stderr);
    assert.equal((await probeVideo(plates)).frameCount, 24);
    assert.equal((await probeVideo(join(dir, 'conf.mp4'))).frameCount, 24);

    const bad = await runCli(['plate', video, '-o', join(dir, 'x.mp4')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /must end in \.png \(a per-frame plate video needs --window\)/);
    const badMask = await runCli(['plate', video, '--masks', join(dir, 'nope.mp4'), '-o', join(dir, 'y.png')]);
    assert.notEqual(badMask.code, 0);
    assert.equal(badMask.stderr.trim().split('\n').length, 1, badMask.stderr);
    assert.ok(!existsSync(join(dir, 'y.png')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reshoot plate --transforms: a handheld clip and its masks are stabilized on the fly; the plate matches the stabilized background', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-plate-cli-'));
  try {
    const W = 192, H = 144, N = 30;
    const big = await load(mediaFile('building.jpg'), 260, 195);
    const clip = await makeShakyClip(big, { frames: N, width: W, height: H, amplitude: 5, amplitudeDeg: 0.5, seed: 3 });
    const tex = await load(mediaFile('basketball1.png'), 50, 100);
    const s = makePlateScene({ background: clip.frames, texture: tex, frames: N, path: 'cross', noise: 1, seed: 8 });
    const video = join(dir, 'in.mp4'), masks = join(dir, 'masks.mp4'), transforms = join(dir, 't.json');
    await encodeFrames(s.frames, video, { fps: { num: 30, den: 1 }, crf: 12 });
    const maskRgb = s.masks.map((m) => ({ width: m.width, height: m.height, data: Uint8Array.from({ length: m.data.length * 3 }, (_, i) => m.data[Math.floor(i / 3)]) }));
    await encodeFrames(maskRgb, masks, { fps: { num: 30, den: 1 }, crf: 12 });
    const st = await runCli(['stabilize', video, '-o', join(dir, 'stable.mp4'), '--transforms', transforms], { timeoutMs: 180_000 });
    assert.equal(st.code, 0, st.stderr);
    const stab = await runCli(['plate', video, '--masks', masks, '--transforms', transforms, '-o', join(dir, 'plate.png')]);
    assert.equal(stab.code, 0, stab.stderr);
    const shaky = await runCli(['plate', video, '--masks', masks, '-o', join(dir, 'shaky.png')]);
    assert.equal(shaky.code, 0, shaky.stderr);
    // The true background in stabilized coordinates: the same corrections applied to the true frames.
    const t = await loadTransforms(transforms);
    const plate = await readRgb(join(dir, 'plate.png'));
    const shakyPlate = await readRgb(join(dir, 'shaky.png'));
    let withT = 0, without = 0;
    for (let i = 0; i < N; i += 3) {
      const truth = await stabilizeFrame(s.truth[i], t, i);
      withT += psnr(plate, truth) / 10;
      without += psnr(shakyPlate, s.truth[i]) / 10;
    }
    assert.ok(withT > 30, `stabilized plate ${withT.toFixed(2)} dB`);
    assert.ok(withT > without + 8, `stabilized ${withT.toFixed(2)} dB vs shaky ${without.toFixed(2)} dB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
