/**
 * Fault injection against the CLI's observable behaviour only (exit code, the one
 * stderr line, files left, processes left, the source's bytes), so these cases hold
 * whatever the pipeline's internals become. Every case has a timeout; a hang fails.
 *
 * Disk full and read-only folders use real small tmpfs mounts (these tests run as
 * root; without root those cases fail with a message saying so, they are not skipped).
 * Inputs: 24 frames of the real vtest.avi at 192x144, made here; VFR clips made from
 * the same footage with three timing patterns; truncated AVI, MKV and MP4 cut from real files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAll, probeVideo, resolveFfmpeg } from '../src/video/index.js';
import { mediaFile, ROOT } from './helpers.js';

const T = { timeout: 150_000 };
/** The cheapest full pipeline: every stage that writes a file still runs. */
const FAST = ['--preset', 'fast', '--segments', '2', '--no-footlock', '--no-temporal', '--bg-plate', 'off'];
let dir: string;
let clip: string;
const mounts: string[] = [];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** node bin/reshoot.js <args>; `onStart` may signal the child; killed (and the test failed) after timeoutMs. */
function reshoot(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onStderr?: (text: string, pid: number) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'reshoot.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, RESHOOT_PROGRESS: '0', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, child.pid!);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`reshoot ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 90_000} ms (a hang); stderr: ${stderr}`));
    }, opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Processes (other than this test process) whose command line mentions `needle`. */
function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(`${pid}: ${cmd}`);
    } catch {
      // gone
    }
  }
  return out;
}

/** The assertions every failure case shares: non-zero exit, one line on stderr matching `why`, no process left. */
async function assertCleanFailure(r: Run, why: RegExp, needle: string): Promise<void> {
  assert.notEqual(r.code, 0, `expected a failure; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('reshoot: '));
  assert.equal(lines.length, 1, `one error line expected, got: ${r.stderr}`);
  assert.match(lines[0], why);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
  // Give the kernel a moment to reap; then nothing of ours may still run.
  await new Promise((res) => setTimeout(res, 300));
  assert.deepEqual(processesMentioning(needle), [], 'no process left running');
}

function partials(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.partial|reshoot-frames-/.test(e.name)) found.push(join(d, e.name));
    }
  };
  walk(folder);
  return found;
}

function ffmpeg(args: string[]): void {
  execFileSync(resolveFfmpeg(), ['-nostdin', '-v', 'error', '-y', ...args]);
}

function mountTmpfs(path: string, options: string): void {
  mkdirSync(path, { recursive: true });
  assert.equal(process.getuid?.(), 0, 'the disk-full and read-only cases mount a tmpfs and need root');
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path]);
  mounts.push(path);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-faults-'));
  clip = join(dir, 'clip.mp4');
  ffmpeg(['-i', mediaFile('vtest.avi'), '-frames:v', '24', '-vf', 'scale=192:144', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
});

after(() => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});

// ---- row 4: input protection

test('-o naming the input, a symlink to it or a hard link to it is refused, with or without --overwrite; the source is untouched', T, async () => {
  const src = join(dir, 'protect.mp4');
  writeFileSync(src, readFileSync(clip));
  const before = sha(src);
  const sym = join(dir, 'protect-sym.mp4');
  const hard = join(dir, 'protect-hard.mp4');
  symlinkSync(src, sym);
  linkSync(src, hard);
  // With --overwrite (without it the same guard runs first; src/util's unit tests cover both).
  for (const out of [src, sym, hard]) {
    const r = await reshoot(['process', src, '-o', out, '--generator', 'passthrough', '--segments', '2', '--overwrite']);
    await assertCleanFailure(r, /refusing to write over an input/, dir);
  }
  // Other commands that write files get the same guard.
  const seg = await reshoot(['segments', src, '-o', hard, '--overwrite']);
  await assertCleanFailure(seg, /resolves to the input/, dir);
  assert.equal(sha(src), before, 'the source bytes are unchanged');
  assert.equal(existsSync(join(dir, 'protect.run')), false, 'no run folder was made');
});

// ---- row 6 and deliver 5: validate before work

test('options checkable from the probe fail in seconds, before any decoding, and leave no run folder', T, async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--overlap', '50'], /overlap \(50\) must be shorter than the minimum segment length/],
    [['--segments', '5'], /24 frames are too few for 5 segments of at least 10 frames \(at most 2 fit\)/],
    [['--generator', 'nonsense', '--segments', '2'], /unknown generator "nonsense"/],
  ];
  for (const [flags, why] of cases) {
    const out = join(dir, 'pre.mp4');
    const t0 = Date.now();
    const r = await reshoot(['process', clip, '-o', out, ...flags]);
    await assertCleanFailure(r, why, dir);
    assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
    assert.equal(existsSync(join(dir, 'pre.run')), false, `no run folder after ${flags.join(' ')}`);
    assert.equal(existsSync(out), false);
  }
});

test('a read-only output folder is refused before work (read-only tmpfs)', T, async () => {
  const ro = join(dir, 'ro');
  mountTmpfs(ro, 'ro,size=1m');
  const r = await reshoot(['process', clip, '-o', join(ro, 'out.mp4'), '--segments', '2']);
  await assertCleanFailure(r, /output folder .* is on a read-only file system/, dir);
  // The standalone commands fail cleanly too (their atomic writer).
  const s = await reshoot(['segments', clip, '-o', join(ro, 'plan.json'), '--uniform']);
  await assertCleanFailure(s, /read-only|not writable|EROFS/, dir);
});

// ---- rows 2 and 3: VFR and truncated inputs

test('VFR clips from real footage (dropped frames, jitter, a rate change, an mp4 edit list): decode delivers exactly the frames probeVideo counts', T, async () => {
  const patterns: Record<string, string> = {
    'drop3.mp4': "select='not(eq(mod(n\\,3)\\,2))'",
    'jitter.mp4': "setpts='(N+0.45*mod(N\\,2))/10/TB'",
    'ramp.mkv': "setpts='if(lt(N\\,30)\\,N/10\\,3+(N-30)/25)/TB'",
    'burst.mp4': "setpts='(N+floor(N/7)*2.3)/10/TB'",
  };
  for (const [name, filter] of Object.entries(patterns)) {
    const f = join(dir, name);
    // -r 1000 with -vsync vfr keeps the irregular timestamps; in mp4 the muxer's edit list then hides the
    // last packet (the 63-packets / 62-frames case of the issue).
    ffmpeg(['-i', mediaFile('vtest.avi'), '-frames:v', '63', '-vf', `scale=96:72,${filter}`, '-vsync', 'vfr', '-r', '1000', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f]);
    const info = await probeVideo(f);
    const frames = await decodeAll(f, { info });
    assert.equal(frames.length, info.frameCount, `${name}: probe says ${info.frameCount}, decode gave ${frames.length}`);
    // Independent count: ffprobe decoding every frame.
    const ffprobe = execFileSync(process.env.RESHOOT_FFPROBE ?? (await import('../src/video/index.js')).resolveFfprobe(), [
      '-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', f,
    ]).toString().trim();
    assert.equal(frames.length, Number(ffprobe), `${name}: ffprobe -count_frames says ${ffprobe}`);
  }
});

test('truncated AVI, MKV and MP4 give one clear "truncated" line from info and process, and no run folder', T, async () => {
  const avi = join(dir, 'cut.avi');
  writeFileSync(avi, readFileSync(mediaFile('vtest.avi')).subarray(0, 400_000));
  const full = join(dir, 'full.mkv');
  ffmpeg(['-i', mediaFile('vtest.avi'), '-frames:v', '100', '-vf', 'scale=192:144', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', full]);
  const mkv = join(dir, 'cut.mkv');
  const mkvBytes = readFileSync(full);
  writeFileSync(mkv, mkvBytes.subarray(0, mkvBytes.length >> 1));
  const fullMp4 = join(dir, 'full.mp4');
  ffmpeg(['-i', full, '-c', 'copy', '-movflags', '+faststart', fullMp4]);
  const mp4 = join(dir, 'cut.mp4');
  const mp4Bytes = readFileSync(fullMp4);
  writeFileSync(mp4, mp4Bytes.subarray(0, mp4Bytes.length >> 1));
  for (const f of [avi, mkv, mp4]) {
    const info = await reshoot(['info', f]);
    await assertCleanFailure(info, /is truncated/, dir);
    if (f === avi) assert.match(info.stderr, /26 of 795 frames present/);
  }
  // process probes the same way, before it makes a run folder.
  const out = join(dir, 'trunc-out.mp4');
  const p = await reshoot(['process', avi, '-o', out, '--segments', '2']);
  await assertCleanFailure(p, /is truncated: 26 of 795 frames present/, dir);
  assert.equal(existsSync(join(dir, 'trunc-out.run')), false);
});

// ---- row 1 and ENOSPC: a full disk ends the run with one line and no process left

/** A 64 KiB tmpfs at `path`, filled up to its last byte (empty files can still be created). */
function fullTmpfs(path: string): void {
  mountTmpfs(path, 'size=64k');
  const chunk = Buffer.alloc(4096, 1);
  const fd = openSync(join(path, '.filler'), 'w');
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

test('disk full at run.json (the run folder on a full tmpfs): one line, nothing left, source untouched', T, async () => {
  const run = join(dir, 'full-run');
  fullTmpfs(run);
  const before = sha(clip);
  const r = await reshoot(['process', clip, '-o', join(dir, 'enospc-run.mp4'), '--run-dir', run, '--overwrite', ...FAST, '--generator', 'passthrough']);
  await assertCleanFailure(r, /no space left on device|ENOSPC/i, dir);
  assert.deepEqual(readdirSync(run), ['.filler']);
  assert.equal(existsSync(join(dir, 'enospc-run.mp4')), false);
  assert.equal(sha(clip), before);
});

test('disk full while a segment clip is encoded (issue row 1: it used to hang): one line, exit != 0, no ffmpeg left, no partial file', T, async () => {
  const run = join(dir, 'seg-run');
  mkdirSync(run);
  fullTmpfs(join(run, 'segments'));
  const before = sha(clip);
  // --overwrite: the run folder already holds the (mounted) segments folder.
  const r = await reshoot(['process', clip, '-o', join(dir, 'enospc-seg.mp4'), '--run-dir', run, '--overwrite', ...FAST, '--generator', 'passthrough'], { timeoutMs: 140_000 });
  await assertCleanFailure(r, /encoding .*seg-00\.mp4 failed: .*no space left on device/i, dir);
  assert.deepEqual(readdirSync(join(run, 'segments')), ['.filler'], 'no partial segment clip');
  assert.deepEqual(partials(run), []);
  assert.equal(existsSync(join(dir, 'enospc-seg.mp4')), false);
  assert.equal(sha(clip), before);
});

test('disk full at the final output (output folder on a full tmpfs): one line, no ffmpeg left, no partial output', T, async () => {
  const outDir = join(dir, 'full-out');
  fullTmpfs(outDir);
  const r = await reshoot(['process', clip, '-o', join(outDir, 'out.mp4'), '--run-dir', join(dir, 'out-run'), ...FAST, '--generator', 'passthrough'], { timeoutMs: 140_000 });
  await assertCleanFailure(r, /out\.mp4.*no space left on device|no space left on device.*out\.mp4/i, dir);
  assert.deepEqual(readdirSync(outDir), ['.filler']);
});

test('disk full at transforms.json (reshoot stabilize --transforms on a full tmpfs)', T, async () => {
  const tDir = join(dir, 'full-transforms');
  fullTmpfs(tDir);
  const r = await reshoot(['stabilize', clip, '-o', join(dir, 'stab-ok.mp4'), '--transforms', join(tDir, 't.json')]);
  await assertCleanFailure(r, /no space left on device|ENOSPC/i, dir);
  assert.deepEqual(readdirSync(tDir), ['.filler']);
  assert.equal(existsSync(join(dir, 'stab-ok.mp4')), false, 'no half-finished pair of outputs');
});

test('disk full in the model cache (RESHOOT_CACHE on a full tmpfs): pose fails with one line, no partial model', T, async () => {
  const cache = join(dir, 'full-cache');
  fullTmpfs(cache);
  const r = await reshoot(['pose', mediaFile('basketball1.png'), '-o', join(dir, 'pose.json')], { env: { RESHOOT_CACHE: cache } });
  await assertCleanFailure(r, /no space left on device|ENOSPC/i, dir);
  const left: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk(join(d, e.name)) : left.push(e.name));
  };
  walk(cache);
  assert.deepEqual(left, ['.filler']);
  assert.equal(existsSync(join(dir, 'pose.json')), false);
});

// ---- killed ffmpeg children, hanging generator

test('an ffmpeg child killed mid-decode ends the command with one line and nothing left running', T, async () => {
  const wrapper = join(dir, 'ffmpeg-killed.sh');
  // Runs the real ffmpeg, and SIGKILLs it after 0.3 s when it is a decoder (raw frames to a pipe).
  writeFileSync(
    wrapper,
    `#!/bin/bash\ncase "$*" in *rawvideo*pipe:1*) "${resolveFfmpeg()}" "$@" & p=$!; sleep 0.3; kill -9 $p; wait $p; exit $?;; esac\nexec "${resolveFfmpeg()}" "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  const long = join(dir, 'long.mp4');
  ffmpeg(['-i', mediaFile('vtest.avi'), '-frames:v', '300', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', long]);
  const r = await reshoot(['stabilize', long, '-o', join(dir, 'stab.mp4')], { env: { RESHOOT_FFMPEG: wrapper } });
  await assertCleanFailure(r, /fail|killed|signal/i, dir);
  assert.deepEqual(partials(dir), []);
});

test('a generator that hangs: the timeout fires, the command and its process group are gone', T, async () => {
  const cfg = join(dir, 'short-timeout.json');
  writeFileSync(cfg, JSON.stringify({ generator: { timeoutSeconds: 2 } }));
  const marker = `reshoot-hang-${process.pid}`;
  const r = await reshoot(['process', clip, '-o', join(dir, 'hang.mp4'), ...FAST, '--config', cfg, '--generator', `cmd:sleep 300 # ${marker}`]);
  await assertCleanFailure(r, /timed out after 2 s/, marker);
  assert.deepEqual(processesMentioning('sleep 300'), []);
});

// ---- row 11: interruption

test('SIGINT prints the --resume hint and exits 130; --resume then finishes with the same bytes as an uninterrupted run', T, async () => {
  const ref = join(dir, 'ref.mp4');
  const base = [...FAST, '--generator', 'synthetic'];
  const clean = await reshoot(['process', clip, '-o', ref, ...base]);
  assert.equal(clean.code, 0, clean.stderr);
  const out = join(dir, 'int.mp4');
  let sent = false;
  const r = await reshoot(['process', clip, '-o', out, ...base], {
    onStderr: (text, pid) => {
      // Interrupt once the first segment is done (a step boundary that --resume must honour).
      if (!sent && /segment 1\/2/.test(text)) {
        sent = true;
        process.kill(pid, 'SIGINT');
      }
    },
  });
  assert.ok(sent, `the run never reached segment 1: ${r.stderr}`);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /reshoot: interrupted; rerun with --resume to continue/);
  assert.equal(existsSync(out), false, 'no output after an interruption');
  assert.deepEqual(partials(dir), []);
  const resumed = await reshoot(['process', clip, '-o', out, ...base, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(sha(out), sha(ref), 'resumed output is byte-identical');
});

test('a VFR clip whose mp4 edit list hides a frame: stabilize then reshake succeed with the probed frame count (issue row 2)', T, async () => {
  const vfr = join(dir, 'vfr-edit.mp4');
  ffmpeg(['-i', mediaFile('vtest.avi'), '-frames:v', '63', '-vf', "scale=96:72,setpts='(N+floor(N/7)*2.3)/10/TB'", '-vsync', 'vfr', '-r', '1000', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', vfr]);
  const info = await probeVideo(vfr);
  const stable = join(dir, 'vfr-stable.mp4');
  const t = join(dir, 'vfr-t.json');
  const s = await reshoot(['stabilize', vfr, '-o', stable, '--transforms', t]);
  assert.equal(s.code, 0, s.stderr);
  const back = join(dir, 'vfr-back.mp4');
  const r = await reshoot(['reshake', stable, '--transforms', t, '-o', back]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await probeVideo(back)).frameCount, info.frameCount);
});

