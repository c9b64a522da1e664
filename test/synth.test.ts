import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOpenCV } from '../src/cv/opencv.js';
import { decodeFrames } from '../src/video/index.js';
import {
  datasetPath,
  defaultSharedDir,
  fetchDatasets,
  getSynthPreset,
  listSynthPresets,
  synthGroundTruth,
  synthesizeClip,
  type Affine2x3,
  type GroundTruth,
  type SynthSpec,
} from '../src/datasets/index.js';
import { isReshootError } from '../src/util/errors.js';

// Independent re-estimation of the inter-frame motion from the decoded pixels:
// Shi-Tomasi corners + pyramidal LK + estimateAffine2D (RANSAC, 1 px), then
// compared with gt.interframe. Bounds (stated in datasets/README.md):
//   - translation error: RMS over frame pairs of |M_est(c) - M_gt(c)| at the
//     frame centre c, < 0.3 px;
//   - whole-frame error: RMS over pairs and a 5x5 grid of points spanning the
//     frame of |M_est(p) - M_gt(p)|, < 0.5 px (includes rotation/zoom error at
//     the corners, 400 px from the centre);
//   - angle error: max over pairs of |angle(M_est) - angle(M_gt)| < 0.05 deg.

let work: string;
let cacheDir: string;
let unavailable: string | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'reshoot-synth-test-'));
  cacheDir = join(work, 'cache');
  const shared = defaultSharedDir();
  try {
    if (shared) {
      await fetchDatasets({ ids: ['leuven', 'vtest', 'building'], cacheDir, sharedDir: shared, download: false });
    } else {
      // No shared folder: use the default cache if `reshoot datasets fetch` was run.
      const leuven = datasetPath('leuven');
      cacheDir = join(leuven, '..');
      datasetPath('vtest');
      datasetPath('building');
    }
  } catch (err) {
    unavailable = `source media unavailable (${(err as Error).message}); run \`reshoot datasets fetch\``;
  }
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

interface PairError {
  centre: number;
  gridRms: number;
  angle: number;
}

function angleOf(m: ArrayLike<number>): number {
  // 2x3 row-major [a b c; d e f]: rotation of the closest similarity.
  return (Math.atan2(m[3] - m[1], m[0] + m[4]) * 180) / Math.PI;
}

async function estimateAgainstGt(mp4: string, gt: GroundTruth): Promise<PairError[]> {
  const cv = await loadOpenCV();
  const W = gt.width;
  const H = gt.height;
  const prev = new cv.Mat(H, W, cv.CV_8UC1);
  const cur = new cv.Mat(H, W, cv.CV_8UC1);
  const errors: PairError[] = [];
  let t = 0;
  try {
    for await (const f of decodeFrames(mp4, { gray: true })) {
      assert.equal(f.data.length, W * H);
      cur.data.set(f.data);
      if (t > 0) {
        const corners = new cv.Mat();
        const next = new cv.Mat();
        const status = new cv.Mat();
        const err = new cv.Mat();
        const none = new cv.Mat();
        cv.goodFeaturesToTrack(prev, corners, 500, 0.01, 8, none, 7);
        cv.calcOpticalFlowPyrLK(prev, cur, corners, next, status, err, new cv.Size(21, 21), 3);
        const p: number[] = [];
        const q: number[] = [];
        for (let i = 0; i < status.rows; i++) {
          if (!status.data[i]) continue;
          p.push(corners.data32F[2 * i], corners.data32F[2 * i + 1]);
          q.push(next.data32F[2 * i], next.data32F[2 * i + 1]);
        }
        assert.ok(p.length >= 40, `frame ${t}: only ${p.length / 2} tracked points`);
        const P = cv.matFromArray(p.length / 2, 1, cv.CV_32FC2, p);
        const Q = cv.matFromArray(q.length / 2, 1, cv.CV_32FC2, q);
        const inliers = new cv.Mat();
        const m = cv.estimateAffine2D(P, Q, inliers, cv.RANSAC, 1.0);
        const e = Array.from(m.data64F as Float64Array);
        [corners, next, status, err, none, P, Q, inliers, m].forEach((x) => x.delete());
        assert.equal(e.length, 6, `frame ${t}: estimateAffine2D failed`);
        const g = gt.interframe[t];
        const apply = (a: ArrayLike<number>, u: number, v: number) => [a[0] * u + a[1] * v + a[2], a[3] * u + a[4] * v + a[5]];
        const gf = g.flat();
        const dist = (u: number, v: number) => {
          const [x1, y1] = apply(e, u, v);
          const [x2, y2] = apply(gf, u, v);
          return Math.hypot(x1 - x2, y1 - y2);
        };
        let sq = 0;
        for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) sq += dist(((W - 1) * i) / 4, ((H - 1) * j) / 4) ** 2;
        errors.push({
          centre: dist((W - 1) / 2, (H - 1) / 2),
          gridRms: Math.sqrt(sq / 25),
          angle: Math.abs(angleOf(e) - angleOf(gf)),
        });
      }
      prev.data.set(cur.data);
      t++;
    }
  } finally {
    prev.delete();
    cur.delete();
  }
  assert.equal(t, gt.frames, 'decoded frame count');
  return errors;
}

function summarise(errors: PairError[]) {
  const rms = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + b * b, 0) / xs.length);
  return {
    centreRms: rms(errors.map((e) => e.centre)),
    gridRms: rms(errors.map((e) => e.gridRms)),
    angleMax: Math.max(...errors.map((e) => e.angle)),
    angleRms: rms(errors.map((e) => e.angle)),
  };
}

function gtMotionSize(gt: GroundTruth): number {
  // RMS of the true inter-frame displacement at the centre, to show the test measures real motion.
  const cx = (gt.width - 1) / 2;
  const cy = (gt.height - 1) / 2;
  const d = gt.interframe.slice(1).map((m) => Math.hypot(m[0][0] * cx + m[0][1] * cy + m[0][2] - cx, m[1][0] * cx + m[1][1] * cy + m[1][2] - cy));
  return Math.sqrt(d.reduce((a, b) => a + b * b, 0) / d.length);
}

for (const [preset, frames] of [
  ['photo-strong-shake', 24],
  ['vtest-shake', 24],
  ['photo-dolly-shake', 16],
  ['vtest-pan-shake', 16],
] as const) {
  test(`${preset}: ground-truth inter-frame motion matches an independent estimate from the decoded mp4`, async (t) => {
    if (unavailable) assert.fail(unavailable);
    const out = join(work, `${preset}.mp4`);
    const progress: number[] = [];
    const gt = await synthesizeClip(getSynthPreset(preset, { frames }), out, { cacheDir, onProgress: (d) => progress.push(d) });
    assert.ok(existsSync(out));
    assert.ok(existsSync(join(work, `${preset}.gt.json`)));
    assert.equal(progress.at(-1), frames);
    assert.equal(gt.interframe.length, frames);
    assert.deepEqual(gt.interframe[0], [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const s = summarise(await estimateAgainstGt(out, gt));
    const motion = gtMotionSize(gt);
    t.diagnostic(
      `${preset}: true motion RMS ${motion.toFixed(2)} px/frame; error: centre RMS ${s.centreRms.toFixed(3)} px, ` +
        `grid RMS ${s.gridRms.toFixed(3)} px, angle max ${s.angleMax.toFixed(4)} deg (RMS ${s.angleRms.toFixed(4)})`,
    );
    assert.ok(motion > 0.3, `the clip should move (true motion ${motion})`);
    assert.ok(s.centreRms < 0.3, `translation error RMS ${s.centreRms} px`);
    assert.ok(s.gridRms < 0.5, `whole-frame error RMS ${s.gridRms} px`);
    assert.ok(s.angleMax < 0.05, `angle error max ${s.angleMax} deg`);
  });
}

test('same seed gives a byte-identical ground-truth file; another seed another shake', async (t) => {
  if (unavailable) assert.fail(unavailable);
  const spec = getSynthPreset('photo-strong-shake', { frames: 6, width: 160, height: 120 });
  const a = join(work, 'det-a.mp4');
  const b = join(work, 'det-b.mp4');
  await synthesizeClip(spec, a, { cacheDir });
  await synthesizeClip(structuredClone(spec), b, { cacheDir });
  const ja = readFileSync(join(work, 'det-a.gt.json'));
  const jb = readFileSync(join(work, 'det-b.gt.json'));
  assert.ok(ja.equals(jb), 'gt JSON differs between two runs with the same seed');
  // Refuses to overwrite without {overwrite: true}.
  await assert.rejects(synthesizeClip(spec, a, { cacheDir }), (e) => isReshootError(e) && /already exists/.test(e.message));

  const g1 = synthGroundTruth(getSynthPreset('photo-strong-shake'));
  const g2 = synthGroundTruth(getSynthPreset('photo-strong-shake', { seed: g1.seed + 1 }));
  assert.equal(JSON.stringify(g1), JSON.stringify(synthGroundTruth(getSynthPreset('photo-strong-shake'))));
  const x1 = g1.shake.map((p) => p.x);
  const x2 = g2.shake.map((p) => p.x);
  const corr = x1.reduce((acc, v, i) => acc + v * x2[i], 0) / Math.sqrt(x1.reduce((a, v) => a + v * v, 0) * x2.reduce((a, v) => a + v * v, 0));
  assert.ok(Math.abs(corr) < 0.9, `shakes for seeds ${g1.seed} and ${g2.seed} are too similar (correlation ${corr})`);
  assert.notDeepEqual(g1.shake, g2.shake);
});

/** One-sided power spectrum (mean removed) by a direct DFT; bin k is k * fps / n Hz. */
function powerSpectrum(x: number[]): number[] {
  const n = x.length;
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const out: number[] = [];
  for (let k = 1; k <= Math.floor(n / 2); k++) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < n; i++) {
      const w = (2 * Math.PI * k * i) / n;
      re += (x[i] - mean) * Math.cos(w);
      im -= (x[i] - mean) * Math.sin(w);
    }
    out.push(re * re + im * im);
  }
  return out;
}

// The shake is Gaussian-low-passed white noise: power spectrum exp(-4 pi^2 s^2 f^2)
// with the -3 dB point at cutoffHz, so in theory 76% of its power lies below the
// cut-off and 98% below twice the cut-off. Bounds: >= 60% and >= 93%.
for (const [preset, frames] of [
  ['photo-strong-shake', 600],
  ['vtest-shake', 600],
] as const) {
  test(`${preset}: shake RMS and spectrum match the spec (${frames}-frame ground truth)`, (t) => {
    const spec = getSynthPreset(preset, { frames });
    const gt = synthGroundTruth(spec);
    const fps = gt.fps.num / gt.fps.den;
    const rms = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + b * b, 0) / xs.length);
    const channels: [string, number[], number][] = [
      ['x', gt.shake.map((p) => p.x), spec.shake.translationRms],
      ['y', gt.shake.map((p) => p.y), spec.shake.translationRms],
      ['angle', gt.shake.map((p) => p.angle), spec.shake.angleRmsDeg],
      ['scale', gt.shake.map((p) => p.scale - 1), spec.shake.scaleRms],
    ];
    for (const [name, xs, want] of channels) {
      const got = rms(xs);
      assert.ok(Math.abs(got - want) <= 0.02 * want, `${name}: RMS ${got} vs spec ${want}`);
      const ps = powerSpectrum(xs);
      const total = ps.reduce((a, b) => a + b, 0);
      const below = (f: number) => ps.reduce((a, p, i) => a + (((i + 1) * fps) / frames <= f ? p : 0), 0) / total;
      const f1 = below(spec.shake.cutoffHz);
      const f2 = below(2 * spec.shake.cutoffHz);
      t.diagnostic(`${preset} ${name}: RMS ${got.toPrecision(4)} (spec ${want}); power below fc ${(100 * f1).toFixed(1)}%, below 2fc ${(100 * f2).toFixed(1)}%`);
      assert.ok(f1 >= 0.6, `${name}: only ${f1} of the power below ${spec.shake.cutoffHz} Hz`);
      assert.ok(f2 >= 0.93, `${name}: only ${f2} of the power below ${2 * spec.shake.cutoffHz} Hz`);
    }
    // The intentional path carries no shake.
    assert.ok(gt.intentional.every((p) => p.angle === 0));
  });
}

test('every preset is valid at its default seed and size', () => {
  const presets = listSynthPresets();
  assert.deepEqual(
    presets.map((p) => p.name).sort(),
    ['photo-dolly-shake', 'photo-strong-shake', 'vtest-pan-shake', 'vtest-shake'],
  );
  for (const p of presets) {
    const gt = synthGroundTruth(p.spec);
    assert.equal(gt.width, 640);
    assert.equal(gt.height, 480);
    assert.equal(gt.camera.length, gt.frames);
  }
  assert.throws(() => getSynthPreset('nope'), (e) => isReshootError(e) && /known: .*vtest-shake/.test(e.message));
});

test('a spec whose motion leaves the source fails clearly and writes nothing', async (t) => {
  const dir = mkdtempSync(join(work, 'margin-'));
  const out = join(dir, 'too-much.mp4');
  const base = getSynthPreset('photo-strong-shake', { frames: 30 });
  const spec: SynthSpec = { ...base, shake: { ...base.shake, translationRms: 80 } };
  await assert.rejects(
    synthesizeClip(spec, out, { cacheDir: unavailable ? undefined : cacheDir }),
    (e) => isReshootError(e) && /leaves the source leuvenA\.jpg \(751x563\) at frame \d+/.test(e.message),
  );
  const pan = getSynthPreset('vtest-pan-shake', { frames: 400 });
  await assert.rejects(synthesizeClip(pan, out, { cacheDir }), (e) => isReshootError(e) && /leaves the source vtest\.avi/.test(e.message));
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir), [], 'no partial output left behind');
  t.diagnostic('errors raised before any output was written');
});

test('camera matrices follow the documented convention', () => {
  const spec = getSynthPreset('photo-dolly-shake', { frames: 10 });
  const gt = synthGroundTruth(spec);
  const k = spec.sourceScale ?? 1;
  const cs = [(gt.source.width - 1) / 2, (gt.source.height - 1) / 2];
  const co = [(gt.width - 1) / 2, (gt.height - 1) / 2];
  for (let t = 0; t < gt.frames; t++) {
    const i = gt.intentional[t];
    const s = gt.shake[t];
    const x = i.x + s.x;
    const y = i.y + s.y;
    const a = ((i.angle + s.angle) * Math.PI) / 180;
    const z = i.scale * s.scale;
    // A test point: output pixel (100, 50).
    const du = 100 - co[0];
    const dv = 50 - co[1];
    const want = [cs[0] + k * (x + (Math.cos(a) * du - Math.sin(a) * dv) / z), cs[1] + k * (y + (Math.sin(a) * du + Math.cos(a) * dv) / z)];
    const m: Affine2x3 = gt.camera[t];
    const got = [m[0][0] * 100 + m[0][1] * 50 + m[0][2], m[1][0] * 100 + m[1][1] * 50 + m[1][2]];
    assert.ok(Math.hypot(got[0] - want[0], got[1] - want[1]) < 1e-9);
    if (t > 0) {
      // interframe[t] o ... : a frame t-1 pixel goes to the same source point as its image in frame t.
      const f = gt.interframe[t];
      const p1 = [f[0][0] * 100 + f[0][1] * 50 + f[0][2], f[1][0] * 100 + f[1][1] * 50 + f[1][2]];
      const prev = gt.camera[t - 1];
      const s0 = [prev[0][0] * 100 + prev[0][1] * 50 + prev[0][2], prev[1][0] * 100 + prev[1][1] * 50 + prev[1][2]];
      const s1 = [m[0][0] * p1[0] + m[0][1] * p1[1] + m[0][2], m[1][0] * p1[0] + m[1][1] * p1[1] + m[1][2]];
      assert.ok(Math.hypot(s0[0] - s1[0], s0[1] - s1[1]) < 1e-9);
    }
  }
  // Dolly zooms in: the intentional scale ramps from 1 to endScale.
  assert.equal(gt.intentional[0].scale, 1);
  assert.ok(Math.abs(gt.intentional.at(-1)!.scale - 1.25) < 1e-12);
});

test('keys motion and walking bob: poses by hand', () => {
  const spec = {
    name: 'keys', source: 'building', width: 320, height: 240, frames: 21, fps: { num: 30, den: 1 }, sourceScale: 1, seed: 1,
    motion: { type: 'keys' as const, keys: [{ t: 0, x: 0, scale: 1 }, { t: 10, x: 10, scale: 4, ease: 'in' as const }, { t: 20, y: -6, angle: 2, ease: 'inout' as const }] },
    shake: { translationRms: 0, angleRmsDeg: 0, scaleRms: 0, cutoffHz: 2, bob: { hz: 1.5, ampX: 1, ampY: 3, angleDeg: 0.5 } },
  };
  const gt = synthGroundTruth(spec);
  // t = 5: u = 0.5, 'in' eases to u^2 = 0.25: x = 2.5; scale geometric: exp(0.25 ln 4) = sqrt 2
  assert.ok(Math.abs(gt.intentional[5].x - 2.5) < 1e-12);
  assert.ok(Math.abs(gt.intentional[5].scale - Math.SQRT2) < 1e-12);
  // t = 15: second piece, u = 0.5, smoothstep 0.5: y = -3, angle 1, x and scale held from key 1
  assert.deepEqual(gt.intentional[15], { x: 10, y: -3, angle: 1, scale: 4 });
  // bob at 30 fps, 1.5 Hz: w = pi / 10 per frame; t = 5: y = 3 sin(pi / 2) = 3, x = sin(pi / 4), roll 0.5 sin(pi / 4)
  assert.ok(Math.abs(gt.shake[5].y - 3) < 1e-12);
  assert.ok(Math.abs(gt.shake[5].x - Math.SQRT1_2) < 1e-12);
  assert.ok(Math.abs(gt.shake[5].angle - 0.5 * Math.SQRT1_2) < 1e-12);
  assert.throws(() => synthGroundTruth({ ...spec, motion: { type: 'keys', keys: [{ t: 1 }] } }), /keys starting at t = 0/);
});
