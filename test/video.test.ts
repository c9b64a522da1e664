import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReshootError } from '../src/util/errors.js';
import {
  decodeAll,
  decodeFrames,
  encodeFrames,
  FrameStore,
  probeVideo,
  resolveFfmpeg,
  resolveFfprobe,
  type Frame,
} from '../src/video/index.js';
import { mediaFile } from './helpers.js';

const VTEST = mediaFile('vtest.avi');
const MEGAMIND = mediaFile('Megamind.avi');
const PNG = mediaFile('basketball1.png');

const tmp = mkdtempSync(join(tmpdir(), 'reshoot-video-test-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** Deterministic test frame: smooth gradients plus a square moving 3 px per frame. */
function synthFrame(i: number, width: number, height: number): Frame {
  const data = new Uint8Array(width * height * 3);
  const sx = 10 + 2 * i;
  const sy = 20 + 2 * i;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const inSquare = x >= sx && x < sx + 24 && y >= sy && y < sy + 24;
      data[o] = inSquare ? 200 : Math.round((x / width) * 200 + 20);
      data[o + 1] = inSquare ? 180 : Math.round((y / height) * 180 + 30);
      data[o + 2] = inSquare ? 120 : Math.round(110 + 60 * Math.sin((x + y + i * 4) / 23));
    }
  }
  return { width, height, data };
}

/** PSNR of the top-left a.width x a.height region of b against a (both RGB24). */
function psnr(a: Frame, b: Frame): number {
  let se = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width * 3; x++) {
      const d = a.data[y * a.width * 3 + x] - b.data[y * b.width * 3 + x];
      se += d * d;
    }
  }
  const mse = se / (a.width * a.height * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function rejectsWith(p: Promise<unknown>, re: RegExp, mentions: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ReshootError, `expected ReshootError, got ${String(err)}`);
    assert.match(err.message, re);
    assert.ok(err.message.includes(mentions), `message "${err.message}" should name ${mentions}`);
    assert.ok(!err.message.includes('\n'), 'message must be one line');
    return true;
  });
}

test('binaries resolve (explicit option, env, npm) and bad paths are clear errors', () => {
  const ff = resolveFfmpeg();
  const fp = resolveFfprobe();
  assert.ok(existsSync(ff) && existsSync(fp));
  assert.equal(resolveFfmpeg({ ffmpegPath: ff }), ff);
  assert.throws(() => resolveFfmpeg({ ffmpegPath: join(tmp, 'nope') }), (e: unknown) => e instanceof ReshootError && /not found/.test(e.message));
  const notExec = join(tmp, 'not-exec');
  writeFileSync(notExec, 'x');
  chmodSync(notExec, 0o644);
  assert.throws(() => resolveFfprobe({ ffprobePath: notExec }), (e: unknown) => e instanceof ReshootError && /not executable/.test(e.message));
  const saved = process.env.RESHOOT_FFPROBE;
  process.env.RESHOOT_FFPROBE = join(tmp, 'missing-ffprobe');
  try {
    assert.throws(() => resolveFfprobe(), (e: unknown) => e instanceof ReshootError && /RESHOOT_FFPROBE/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.RESHOOT_FFPROBE;
    else process.env.RESHOOT_FFPROBE = saved;
  }
});

test('probe vtest.avi and Megamind.avi', async () => {
  const v = await probeVideo(VTEST);
  assert.equal(v.width, 768);
  assert.equal(v.height, 576);
  assert.deepEqual(v.fps, { num: 10, den: 1 });
  assert.equal(v.frameCount, 795);
  assert.equal(v.hasAudio, false);
  assert.equal(v.rotation, 0);
  assert.equal(v.variableFrameRate, false);
  const m = await probeVideo(MEGAMIND);
  assert.equal(m.width, 720);
  assert.equal(m.height, 528);
  assert.equal(m.hasAudio, true);
  assert.equal(m.audioCodec, 'ac3');
  assert.deepEqual(m.fps, { num: 2997, den: 125 });
});

test('decode start/count equals the same frames of a sequential decode', async () => {
  const seq = await decodeAll(VTEST, { count: 25 });
  assert.equal(seq.length, 25);
  const part = await decodeAll(VTEST, { start: 20, count: 5 });
  assert.equal(part.length, 5);
  for (let i = 0; i < 5; i++) {
    assert.equal(part[i].width, 768);
    assert.equal(part[i].data.length, 768 * 576 * 3);
    assert.ok(sameBytes(part[i].data, seq[20 + i].data), `frame ${20 + i} differs`);
  }
  assert.ok(!sameBytes(seq[0].data, seq[20].data));
  const gray = await decodeAll(VTEST, { count: 2, gray: true, scale: { width: 64, height: 48 } });
  assert.equal(gray.length, 2);
  assert.equal(gray[0].data.length, 64 * 48);
});

test('round trip: encode 30 synthetic frames (odd size 161x121) at 25 fps, decode, PSNR > 35 dB', async () => {
  const W = 161;
  const H = 121;
  const N = 30;
  const out = join(tmp, 'roundtrip.mp4');
  let progress = 0;
  const src = Array.from({ length: N }, (_, i) => synthFrame(i, W, H));
  async function* gen(): AsyncGenerator<Frame> {
    for (const f of src) yield f;
  }
  const res = await encodeFrames(gen(), out, { fps: { num: 25, den: 1 }, onProgress: (d) => (progress = d), totalFrames: N });
  assert.equal(res.frames, N);
  assert.equal(progress, N);
  const info = await probeVideo(out);
  // yuv420p needs even sizes: encode pads (does not crop) 161x121 to 162x122.
  assert.equal(info.width, 162);
  assert.equal(info.height, 122);
  assert.deepEqual(info.fps, { num: 25, den: 1 });
  assert.equal(info.frameCount, N);
  const frames = await decodeAll(out, { info });
  assert.equal(frames.length, N);
  // libx264 at crf 18, yuv420p, on smooth gradients + a flat square: well above 35 dB
  // (chroma subsampling and the square's edges are the main losses).
  for (let i = 0; i < N; i++) {
    assert.equal(frames[i].width, 162);
    const p = psnr(src[i], frames[i]);
    assert.ok(p > 35, `frame ${i}: PSNR ${p.toFixed(2)} dB`);
  }
  // Refuses to overwrite without overwrite:true; allowed with it.
  await rejectsWith(encodeFrames(src.slice(0, 2), out, { fps: { num: 25, den: 1 } }), /already exists/, out);
  const r2 = await encodeFrames(src.slice(0, 2), out, { fps: { num: 25, den: 1 }, overwrite: true, preset: 'ultrafast' });
  assert.equal(r2.frames, 2);
  assert.equal((await probeVideo(out)).frameCount, 2);
});

test('encode: inconsistent frame sizes and unwritable destinations are clear errors, leave no file', async () => {
  const dir = mkdtempSync(join(tmp, 'enc-'));
  const bad = join(dir, 'mixed.mp4');
  await rejectsWith(
    encodeFrames([synthFrame(0, 64, 48), synthFrame(1, 64, 48), synthFrame(2, 32, 48)], bad, { fps: { num: 25, den: 1 } }),
    /frame 2 is 32x48/,
    bad,
  );
  assert.deepEqual(readdirSync(dir), []);
  const noDir = join(dir, 'missing', 'out.mp4');
  await rejectsWith(encodeFrames([synthFrame(0, 64, 48)], noDir, { fps: { num: 25, den: 1 } }), /does not exist/, join(dir, 'missing'));
  // A "folder" that is really a file: passes the access check as root, so ffmpeg itself fails.
  const file = join(dir, 'plain.txt');
  writeFileSync(file, 'x');
  const underFile = join(file, 'out.mp4');
  await rejectsWith(encodeFrames([synthFrame(0, 64, 48)], underFile, { fps: { num: 25, den: 1 } }), /not a folder/, file);
  assert.deepEqual(readdirSync(dir), ['plain.txt']);
  // ffmpeg itself failing (libx264 rejects the preset): clear error, temp file gone.
  const failing = join(dir, 'bad-preset.mp4');
  await rejectsWith(
    encodeFrames([synthFrame(0, 64, 48), synthFrame(1, 64, 48)], failing, { fps: { num: 25, den: 1 }, preset: 'no-such-preset' }),
    /encoding .* failed/,
    failing,
  );
  assert.deepEqual(readdirSync(dir), ['plain.txt']);
  await rejectsWith(encodeFrames([], join(dir, 'empty.mp4'), { fps: { num: 25, den: 1 } }), /no frames/, 'empty.mp4');
  assert.deepEqual(readdirSync(dir), ['plain.txt']);
});

test('encode with audioFrom Megamind.avi carries audio; a source without audio just encodes video', async () => {
  const out = join(tmp, 'with-audio.mp4');
  const frames = Array.from({ length: 12 }, (_, i) => synthFrame(i, 64, 48));
  await encodeFrames(frames, out, { fps: { num: 24, den: 1 }, audioFrom: MEGAMIND, preset: 'ultrafast' });
  const info = await probeVideo(out);
  assert.equal(info.hasAudio, true);
  assert.equal(info.audioCodec, 'aac');
  const out2 = join(tmp, 'no-audio.mp4');
  await encodeFrames(frames, out2, { fps: { num: 24, den: 1 }, audioFrom: VTEST, preset: 'ultrafast' });
  const info2 = await probeVideo(out2);
  assert.equal(info2.hasAudio, false);
  assert.equal(info2.frameCount, 12);
});

test('FrameStore: random access equals sequential decode; close deletes; failed creation leaves nothing', async () => {
  const dir = mkdtempSync(join(tmp, 'store-'));
  const seq = await decodeAll(VTEST, { count: 40 });
  let last = 0;
  const store = await FrameStore.fromVideo(VTEST, { count: 40, dir, onProgress: (d) => (last = d) });
  assert.equal(store.length, 40);
  assert.equal(last, 40);
  assert.equal(store.channels, 3);
  assert.ok(existsSync(store.path));
  assert.equal(statSync(store.path).size, 40 * 768 * 576 * 3);
  const order = Array.from({ length: 40 }, (_, i) => (i * 17 + 5) % 40);
  for (const i of order) {
    const f = await store.get(i);
    assert.ok(sameBytes(f.data, seq[i].data), `store frame ${i} differs`);
  }
  let k = 10;
  for await (const f of store.frames(10, 13)) assert.ok(sameBytes(f.data, seq[k++].data));
  assert.equal(k, 13);
  await assert.rejects(store.get(40), ReshootError);
  await assert.rejects(store.get(-1), ReshootError);
  await store.close();
  await store.close();
  assert.ok(!existsSync(store.path));
  assert.deepEqual(readdirSync(dir), []);

  // Bad input: nothing created.
  const txt = join(tmp, 'notes.txt');
  writeFileSync(txt, 'not a video at all\n');
  await rejectsWith(FrameStore.fromVideo(txt, { dir }), /not a video/, txt);
  assert.deepEqual(readdirSync(dir), []);
  // Failure midway (aborted after 5 frames): the partial file is removed.
  const ac = new AbortController();
  await assert.rejects(
    FrameStore.fromVideo(VTEST, { dir, count: 40, signal: ac.signal, onProgress: (d) => d >= 5 && ac.abort() }),
    ReshootError,
  );
  assert.deepEqual(readdirSync(dir), []);

  // create/append for computed frames (gray).
  const g = await FrameStore.create({ width: 4, height: 2, channels: 1, dir });
  await g.append({ width: 4, height: 2, data: new Uint8Array(8).fill(7) });
  await g.append({ width: 4, height: 2, data: new Uint8Array(8).fill(9) });
  await assert.rejects(g.append({ width: 2, height: 2, data: new Uint8Array(4) }), ReshootError);
  assert.equal(g.length, 2);
  assert.equal((await g.get(1)).data[3], 9);
  await g.close();
  assert.deepEqual(readdirSync(dir), []);
});

test('bad inputs: one-line ReshootError naming the file', async () => {
  const missing = join(tmp, 'missing.mp4');
  await rejectsWith(probeVideo(missing), /no such file/, missing);
  const empty = join(tmp, 'empty.mp4');
  writeFileSync(empty, '');
  await rejectsWith(probeVideo(empty), /empty \(0 bytes\)/, empty);
  const txt = join(tmp, 'text.mp4');
  writeFileSync(txt, 'hello, this is text\n'.repeat(20));
  await rejectsWith(probeVideo(txt), /not a video/, txt);
  await rejectsWith(probeVideo(PNG), /still image/, PNG);
  await rejectsWith(probeVideo(mediaFile('building.jpg')), /still image/, 'building.jpg');
  // No video stream: an audio-only file.
  const audio = join(tmp, 'audio.m4a');
  execFileSync(resolveFfmpeg(), ['-nostdin', '-v', 'error', '-i', MEGAMIND, '-vn', '-t', '1', '-c:a', 'aac', audio], { stdio: 'pipe' });
  await rejectsWith(probeVideo(audio), /no video stream/, audio);
  // Truncated mp4 (encoder writes +faststart, so the index survives but the data is cut).
  const whole = join(tmp, 'whole.mp4');
  await encodeFrames(Array.from({ length: 20 }, (_, i) => synthFrame(i, 96, 64)), whole, { fps: { num: 25, den: 1 }, preset: 'ultrafast' });
  const cut = join(tmp, 'cut.mp4');
  writeFileSync(cut, readFileSync(whole));
  truncateSync(cut, Math.floor(statSync(cut).size / 2));
  await rejectsWith(probeVideo(cut), /truncated/, cut);
  // Truncated mp4 without faststart: the moov atom (at the end) is missing.
  const tail = join(tmp, 'tail-moov.mp4');
  execFileSync(resolveFfmpeg(), ['-nostdin', '-v', 'error', '-i', whole, '-c', 'copy', tail]);
  truncateSync(tail, Math.floor(statSync(tail).size / 2));
  await rejectsWith(probeVideo(tail), /moov/, tail);
  // decode of bad inputs rejects the same way.
  await rejectsWith(decodeAll(missing), /no such file/, missing);
});

test('rotated clip: probe reports display size and decode delivers it', async () => {
  const src = join(tmp, 'rot-src.mp4');
  await encodeFrames(Array.from({ length: 4 }, (_, i) => synthFrame(i, 96, 64)), src, { fps: { num: 10, den: 1 }, preset: 'ultrafast' });
  const rot = join(tmp, 'rot.mp4');
  execFileSync(resolveFfmpeg(), ['-nostdin', '-v', 'error', '-i', src, '-c', 'copy', '-metadata:s:v', 'rotate=90', rot]);
  const info = await probeVideo(rot);
  assert.equal(info.codedWidth, 96);
  assert.equal(info.codedHeight, 64);
  // The 2018 ffmpeg writes `rotate=90` as a display matrix that both ffprobe 2023 and
  // the 2018 decoder read as 270 clockwise (see src/video/README.md).
  assert.equal(info.rotation, 270);
  assert.equal(info.width, 64);
  assert.equal(info.height, 96);
  const frames = await decodeAll(rot, { info });
  assert.equal(frames.length, 4);
  assert.equal(frames[0].width, 64);
  assert.equal(frames[0].height, 96);
  assert.equal(frames[0].data.length, 64 * 96 * 3);
});

test('VFR input is resampled to the average rate; frame count matches', async () => {
  const vfr = join(tmp, 'vfr.mp4');
  execFileSync(resolveFfmpeg(), [
    '-nostdin', '-v', 'error', '-i', VTEST, '-frames:v', '30', '-vf', "select='not(eq(mod(n\\,3)\\,2))',scale=96:72",
    '-vsync', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast', vfr,
  ]);
  const info = await probeVideo(vfr);
  assert.equal(info.variableFrameRate, true);
  const frames = await decodeAll(vfr, { info });
  assert.equal(frames.length, info.frameCount);
});

test('breaking out of decodeFrames early stops ffmpeg promptly', async () => {
  const t0 = Date.now();
  let n = 0;
  for await (const f of decodeFrames(VTEST)) {
    assert.equal(f.width, 768);
    if (++n === 2) break;
  }
  assert.equal(n, 2);
  assert.ok(Date.now() - t0 < 10_000);
  // No ffmpeg child of this process survives.
  const kids = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)]).toString();
  assert.ok(!/ffmpeg/.test(kids), `lingering children: ${kids}`);
});

test('encodeFrames: an error of the frame source is what the caller sees (not the kill of ffmpeg that follows), and no output is left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-encode-src-'));
  try {
    const out = join(dir, 'o.mp4');
    async function* broken() {
      const f = { width: 32, height: 16, data: new Uint8Array(32 * 16 * 3).fill(90) };
      yield f;
      yield f;
      throw new Error('source broke at frame 2');
    }
    await assert.rejects(encodeFrames(broken(), out, { fps: { num: 10, den: 1 } }), /source broke at frame 2/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
