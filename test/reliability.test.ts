/**
 * The pieces behind issue 19 that need no full pipeline run: input protection,
 * preflight checks (each one), decode's frame promise, child cleanup, the
 * versions in run.json, onnxruntime's debug-log litter, and where OpenCV loads.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { resolveConfig } from '../src/pipeline/config.js';
import { preflightProcess } from '../src/pipeline/preflight.js';
import { collectVersions } from '../src/pipeline/versions.js';
import { killAllChildren, liveChildCount, trackChild } from '../src/util/children.js';
import { assertFolderHoldsNoInput, assertNotAnInput } from '../src/util/inputs.js';
import { decodeAll, probeVideo, resolveFfmpeg, type VideoInfo } from '../src/video/index.js';
import { mediaFile, ROOT } from './helpers.js';

const T = { timeout: 120_000 };
let dir: string;
let clip: string;
let info: VideoInfo;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-reliability-'));
  clip = join(dir, 'clip.mp4');
  execFileSync(resolveFfmpeg(), ['-nostdin', '-v', 'error', '-i', mediaFile('vtest.avi'), '-frames:v', '30', '-vf', 'scale=96:72', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  info = await probeVideo(clip);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('assertNotAnInput: same path, symlinks either way, hard links and a symlinked folder are refused; other paths pass', T, () => {
  const src = join(dir, 'in.mp4');
  writeFileSync(src, 'x');
  const sym = join(dir, 'sym.mp4');
  symlinkSync(src, sym);
  const hard = join(dir, 'hard.mp4');
  linkSync(src, hard);
  const linkedDir = join(dir, 'linked');
  symlinkSync(dir, linkedDir);
  assert.throws(() => assertNotAnInput(src, [src]), /output .*in\.mp4 is the input/);
  assert.throws(() => assertNotAnInput(sym, [src]), /resolves to the input/);
  assert.throws(() => assertNotAnInput(src, [sym]), /resolves to the input/);
  assert.throws(() => assertNotAnInput(hard, [src]), /resolves to the input/);
  assert.throws(() => assertNotAnInput(join(linkedDir, 'in.mp4'), [src]), /resolves to the input/);
  assert.throws(() => assertNotAnInput(join(dir, '.', 'in.mp4'), [undefined, src]), /is the input/);
  assert.doesNotThrow(() => assertNotAnInput(join(dir, 'other.mp4'), [src, sym, hard]));
  assert.doesNotThrow(() => assertNotAnInput(join(linkedDir, 'new.mp4'), [src]));
  assert.throws(() => assertFolderHoldsNoInput(dir, [src]), /run folder .* holds the input/);
  assert.doesNotThrow(() => assertFolderHoldsNoInput(join(dir, 'run'), [src]));
});

test('preflightProcess: every check from the probe, with the message of each', T, () => {
  const config = resolveConfig({ segments: { count: 2 } });
  const out = join(dir, 'out.mp4');
  const ok = { input: clip, output: out, runDir: join(dir, 'out.run'), info, config };
  assert.doesNotThrow(() => preflightProcess(ok));
  assert.equal(existsSync(ok.runDir), false, 'preflight creates nothing');
  const fails = (args: Partial<Parameters<typeof preflightProcess>[0]>, why: RegExp) => assert.throws(() => preflightProcess({ ...ok, ...args }), why);
  fails({ info: { ...info, frameCount: 1 } }, /has 1 frame\(s\): the pipeline needs at least 2/);
  fails({ config: resolveConfig({ generator: { spec: 'bogus' } }) }, /unknown generator "bogus"/);
  fails({ config: resolveConfig({ generator: { spec: 'onnx:' } }) }, /needs a model path/);
  fails({ config: resolveConfig({ generator: { spec: `onnx:${join(dir, 'missing.onnx')}` } }) }, /model .*missing\.onnx not found/);
  // The plan's own rules: 30 frames, minLength 10 -> at most 3 segments; overlap must stay below minLength.
  fails({ config: resolveConfig({ segments: { count: 4 } }) }, /30 frames are too few for 4 segments of at least 10 frames \(at most 3 fit\)/);
  fails({ config: resolveConfig({ segments: { count: 2, overlap: 50 } }) }, /overlap \(50\) must be shorter than the minimum segment length \(10\)/);
  fails({ output: join(dir, 'out.mkv') }, /must be an \.mp4 file/);
  fails({ output: clip }, /is the input/);
  fails({ output: join(dir, 'x.mp4'), inputs: [join(dir, 'x.mp4')] }, /is the input/);
  writeFileSync(join(dir, 'exists.mp4'), 'old');
  fails({ output: join(dir, 'exists.mp4') }, /already exists \(pass --overwrite/);
  assert.doesNotThrow(() => preflightProcess({ ...ok, output: join(dir, 'exists.mp4'), overwrite: true }));
  fails({ output: join(dir, 'no-such-folder', 'o.mp4') }, /output folder .*no-such-folder does not exist/);
  writeFileSync(join(dir, 'afile'), '');
  fails({ runDir: join(dir, 'afile') }, /run folder .*afile is a file/);
  fails({ runDir: dir }, /run folder .* holds the input/);
  fails({ runDir: out }, /is the run folder/);
});

test('decode keeps probeVideo\'s promise: frames missing from the end are an error naming the count', T, async () => {
  const frames = await decodeAll(clip, { info });
  assert.equal(frames.length, 30);
  await assert.rejects(decodeAll(clip, { info: { ...info, frameCount: 40 } }), /only 30 of 40 frames are decodable/);
  // Never more than promised either.
  assert.equal((await decodeAll(clip, { info: { ...info, frameCount: 12 } })).length, 12);
  assert.equal((await decodeAll(clip, { info, start: 25, count: 10 })).length, 5);
});

test('killAllChildren ends every tracked child', T, async () => {
  const child = spawn('sleep', ['60'], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  assert.equal(liveChildCount(), 1);
  const exited = new Promise((res) => child.once('exit', (_c, s) => res(s)));
  assert.equal(killAllChildren(), 1);
  assert.equal(await exited, 'SIGKILL');
  assert.equal(liveChildCount(), 0);
});

test('run.json versions name the installed sharp (its exports hide package.json)', T, async () => {
  const expected = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'sharp', 'package.json'), 'utf8')) as { version: string }).version;
  const v = await collectVersions();
  assert.equal(v.sharp, expected);
  for (const [k, val] of Object.entries(v)) assert.notEqual(val, 'not installed', k);
});

test('a CLI run that loads a model leaves no mat-debug-<pid>.log in the temp folder', T, async () => {
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const res = await new Promise<{ code: number | null; pid: number; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'reshoot.js'), 'pose', mediaFile('basketball1.png'), '-o', join(dir, 'p.json'), '--threads', '1'], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp, RESHOOT_PROGRESS: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, pid: child.pid!, stderr }));
  });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('mat-debug-')), []);
});

test('OpenCV is loaded in one place (src/cv/opencv.ts), the motion worker included', T, () => {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && /\(\s*['"]@techstark\/opencv-js['"]\s*\)/.test(readFileSync(p, 'utf8'))) hits.push(relative(ROOT, p));
    }
  };
  walk(join(ROOT, 'src'));
  assert.deepEqual(hits, ['src/cv/opencv.ts']);
});

test('every writing CLI command refuses an output that is its input (checked without running the work)', T, async () => {
  const src = join(dir, 'guard.mp4');
  writeFileSync(src, readFileSync(clip));
  const { runCli } = await import('./helpers.js');
  for (const args of [
    ['stabilize', src, '-o', src, '--overwrite'],
    ['reshake', src, '--transforms', join(dir, 't.json'), '-o', src, '--overwrite'],
    ['temporal', src, '--guide', src, '-o', src, '--overwrite'],
  ]) {
    const r = await runCli(args);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refusing to write over an input/, args.join(' '));
  }
  assert.deepEqual(readFileSync(src), readFileSync(clip));
});

test('npm test needs no browser: no suite its glob runs mentions Chromium; CI runs npm run test:browser', T, () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.test, /test\/\*\.test\.ts/);
  const inTest = readdirSync(join(ROOT, 'test')).filter((f) => f.endsWith('.test.ts') && f !== 'reliability.test.ts');
  const needBrowser = inTest.filter((f) => /chromium/i.test(readFileSync(join(ROOT, 'test', f), 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, '')));
  assert.deepEqual(needBrowser, []);
  assert.match(pkg.scripts['test:browser'], /test\/browser\//);
  assert.ok(readdirSync(join(ROOT, 'test', 'browser')).some((f) => f.endsWith('.test.ts')));
  assert.match(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /^npm run test:browser$/m);
});

test('npm prints no "Unknown project config" warnings, and runs bin scripts through bash (signals reach reshoot)', T, () => {
  const r = spawnSync('npm', ['config', 'get', 'script-shell'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown project config/);
  assert.equal(r.stdout.trim(), '/bin/bash');
});
