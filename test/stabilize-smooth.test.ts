import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accumulatePath, applyPoint, compose, constrained, fromParams, gaussian, gaussianFilter1D, invert, l1, movingAverage, pathPieces, shakeLevel, similarity, toParams,
  translation, type PathParams, type Smoother,
} from '../src/stabilize/index.js';

import { gaussian as gaussianRng, mulberry32 } from '../src/util/rng.js';
const close = (a: number, b: number, tol: number, msg: string) => assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);

test('2x3 algebra: compose applies right first, invert, params about the centre', () => {
  const T = translation(5, -3);
  const R = similarity(0, 0, Math.PI / 2, 2); // (x, y) -> (-2y, 2x)
  const [x, y] = applyPoint(compose(T, R), 1, 2); // R first: (-4, 2), then +T: (1, -1)
  close(x, 1, 1e-12, 'x'); close(y, -1, 1e-12, 'y');
  const M = [1.1, -0.2, 3, 0.15, 0.9, -7];
  compose(M, invert(M)).forEach((v, i) => close(v, [1, 0, 0, 0, 1, 0][i], 1e-12, `M M^-1 [${i}]`));
  // rotation by 90 deg about the centre of a 101x51 frame (centre (50, 25)) plus a shift (2, 3) of the centre
  const P = fromParams({ x: 2, y: 3, angle: Math.PI / 2, scale: 1 }, 101, 51);
  assert.deepEqual(applyPoint(P, 50, 25).map((v) => Math.round(v * 1e9) / 1e9), [52, 28]);
  const [px, py] = applyPoint(P, 60, 25); // 10 px right of centre -> 10 px below the moved centre
  close(px, 52, 1e-9, 'x'); close(py, 38, 1e-9, 'y');
  const back = toParams(P, 101, 51);
  close(back.x, 2, 1e-9, 'x'); close(back.y, 3, 1e-9, 'y'); close(back.angle, Math.PI / 2, 1e-12, 'angle'); close(back.scale, 1, 1e-12, 'scale');
});

test('accumulatePath: translations add up, rotations about the centre keep the centre', () => {
  const W = 201, H = 101; // centre (100, 50)
  const rotC = (a: number) => compose(translation(100, 50), compose(similarity(0, 0, a, 1), translation(-100, -50)));
  const motions = [[1, 0, 0, 0, 1, 0], translation(3, 1), translation(-1, 2), rotC(0.01), rotC(0.02), translation(0.5, 0)];
  const p = accumulatePath(motions, W, H);
  assert.deepEqual(p.slice(0, 3).map((q) => [q.x, q.y]), [[0, 0], [3, 1], [2, 3]]);
  // after rotating 0.01 about the centre, the displaced centre (102, 53) rotates about (100, 50)
  const c = Math.cos(0.01), s = Math.sin(0.01);
  close(p[3].x, 2 * c - 3 * s, 1e-9, 'x3'); close(p[3].y, 2 * s + 3 * c, 1e-9, 'y3');
  close(p[4].angle, 0.03, 1e-12, 'angle4');
  close(p[5].angle, 0.03, 1e-12, 'angle5');
  close(p[5].x - p[4].x, 0.5, 1e-9, 'dx5');
});

const ramp = (n: number): PathParams[] =>
  Array.from({ length: n }, (_, t) => ({ x: 3 + 2 * t, y: -1 - 0.5 * t, angle: 0.001 * t, scale: Math.exp(0.002 * t) }));

const all: [string, Smoother<any>, object][] = [
  ['moving average (30)', movingAverage, {}],
  ['moving average (7)', movingAverage, { window: 7 }],
  ['gaussian (15)', gaussian, {}],
  ['gaussian (40) longer than the clip', gaussian, { sigma: 40 }],
  ['constrained', constrained, { width: 320, height: 240 }],
  // x, y as given (the default smooths x / scale: see the dolly test below)
  ['l1', l1, { width: 320, height: 240, translationByScale: false }],
];

test('every smoother keeps a constant-velocity pan + steady zoom exactly, edges included', () => {
  for (const [name, f, opts] of all) {
    for (const n of [100, 12]) {
      const p = ramp(n);
      const s = f(p, opts);
      assert.equal(s.length, n);
      s.forEach((q, t) => {
        close(q.x, p[t].x, 1e-6, `${name} n=${n} x[${t}]`);
        close(q.y, p[t].y, 1e-6, `${name} n=${n} y[${t}]`);
        close(q.angle, p[t].angle, 1e-9, `${name} n=${n} angle[${t}]`);
        close(q.scale, p[t].scale, 1e-9, `${name} n=${n} scale[${t}]`);
      });
    }
  }
});

test('smoothers remove a high-frequency shake on top of a pan', () => {
  const n = 120, A = 5;
  const p = ramp(n);
  const shaky = p.map((q, t) => ({ ...q, x: q.x + A * Math.sin((2 * Math.PI * t) / 4 + 0.3), y: q.y + A * Math.cos((2 * Math.PI * t) / 6) }));
  // bounds: a centred 31-tap average leaves at most A/31 of a period-4 sine (7 full periods + one tap) and
  // at most A/31 of a period-6 cosine; a sigma-15 Gaussian truncated at 3 sigma leaves < 1e-3 of either (truncation ripple).
  // interior: beyond the filter radius from each end (the odd reflection does not cancel the shake's phase there)
  const cases: [string, PathParams[], number, number][] = [
    ['moving average', movingAverage(shaky), (A / 31) * 1.01, 16],
    ['gaussian', gaussian(shaky), A / 1000, 46],
  ];
  for (const [name, s, tol, edge] of cases) {
    for (let t = edge; t < n - edge; t++) {
      close(s[t].x, p[t].x, tol, `${name} x[${t}]`);
      close(s[t].y, p[t].y, tol, `${name} y[${t}]`);
    }
  }
  // constrained: the optimum with a tube wider than the shake is a straight line (zero acceleration cost);
  // it is the line closest to the shaky samples, so it may sit a little off the true pan (a constant-velocity
  // offset, < 0.2 A here) but carries no shake: its second differences are ~0 (raw: up to 4 A = 20 px).
  const c = constrained(shaky, { marginX: 8, marginY: 8, marginAngle: 0.01, marginLogScale: 0.01 });
  for (let t = 1; t < n - 1; t++) {
    for (const k of ['x', 'y'] as const) {
      assert.ok(Math.abs(c[t - 1][k] - 2 * c[t][k] + c[t + 1][k]) < 0.01, `constrained ${k} acceleration at ${t}`);
      close(c[t][k], p[t][k], 0.2 * A, `constrained ${k}[${t}]`);
    }
  }
});

test('constrained smoother never leaves the crop tube and is steadier than the raw path', () => {
  let seed = 5;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5);
  const n = 200;
  const raw: PathParams[] = [];
  let x = 0, y = 0;
  for (let t = 0; t < n; t++) {
    x += 3 * rnd() + 0.3; y += 3 * rnd();
    raw.push({ x: x + 6 * rnd(), y: y + 6 * rnd(), angle: 0.01 * rnd(), scale: 1 });
  }
  const m = { marginX: 4, marginY: 3, marginAngle: 0.002, marginLogScale: 0.001 };
  const s = constrained(raw, m);
  const acc = (k: 'x' | 'y', q: PathParams[]) => q.slice(1, -1).reduce((a, _, i) => a + (q[i][k] - 2 * q[i + 1][k] + q[i + 2][k]) ** 2, 0);
  s.forEach((q, t) => {
    assert.ok(Math.abs(q.x - raw[t].x) <= m.marginX + 1e-9, `x margin at ${t}: ${q.x - raw[t].x}`);
    assert.ok(Math.abs(q.y - raw[t].y) <= m.marginY + 1e-9, `y margin at ${t}`);
    assert.ok(Math.abs(q.angle - raw[t].angle) <= m.marginAngle + 1e-12, `angle margin at ${t}`);
  });
  assert.ok(acc('x', s) < 0.05 * acc('x', raw), `acceleration energy ${acc('x', s)} vs raw ${acc('x', raw)}`);
});

test('short paths do not break the smoothers', () => {
  for (const n of [1, 2, 3]) {
    const p = ramp(n);
    for (const [name, f, opts] of all) assert.equal(f(p, opts).length, n, name);
  }
});

// ---------------------------------------------------------------- l1

const lcg = (seed: number) => () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5);
const CH = ['x', 'y', 'angle', 'scale'] as const;
const chan = (q: PathParams, k: (typeof CH)[number]) => (k === 'scale' ? Math.log(q.scale) : q[k]);
const ms = (m: { marginX: number; marginY: number; marginAngle: number; marginLogScale: number }, k: (typeof CH)[number]) =>
  ({ x: m.marginX, y: m.marginY, angle: m.marginAngle, scale: m.marginLogScale })[k];

function assertInTube(s: PathParams[], raw: PathParams[], m: { marginX: number; marginY: number; marginAngle: number; marginLogScale: number }, label: string) {
  const ms = [m.marginX, m.marginY, m.marginAngle, m.marginLogScale];
  assert.equal(s.length, raw.length);
  s.forEach((q, t) => CH.forEach((k, c) => {
    const d = Math.abs(chan(q, k) - chan(raw[t], k));
    assert.ok(d <= ms[c] * (1 + 1e-12) + 1e-12, `${label}: ${k} leaves the tube at ${t}: |S - P| = ${d} > ${ms[c]}`);
  }));
}

test('l1: a noisy constant stays in the tube and becomes constant', () => {
  const rnd = lcg(11);
  const n = 150;
  const raw: PathParams[] = Array.from({ length: n }, () => ({ x: 10 + 6 * rnd(), y: -4 + 6 * rnd(), angle: 0.01 * rnd(), scale: Math.exp(0.006 * rnd()) }));
  const m = { marginX: 8, marginY: 8, marginAngle: 0.01, marginLogScale: 0.01 };
  for (const translationByScale of [true, false]) {
    const s = l1(raw, { ...m, translationByScale });
    assertInTube(s, raw, m, `byScale ${translationByScale}`);
    for (const k of CH) {
      // constant up to the ADMM tolerance (1e-6 of the margin per iteration)
      for (let t = 1; t < n; t++) close(chan(s[t], k), chan(s[0], k), 1e-3 * ms(m, k), `${k}[${t}] constant`);
    }
    close(s[0].x, 10, 3, 'x level'); close(s[0].y, -4, 3, 'y level');
  }
});

test('l1: a pan with shake on top becomes a straight line close to the pan', () => {
  const rnd = lcg(3);
  const n = 150;
  const pan = (t: number) => ({ x: 1.5 * t, y: 20 - 0.4 * t });
  const raw: PathParams[] = Array.from({ length: n }, (_, t) => ({
    x: pan(t).x + 4 * Math.sin((2 * Math.PI * t) / 7) + 2 * Math.sin((2 * Math.PI * t) / 13 + 1) + rnd(),
    y: pan(t).y + 4 * Math.cos((2 * Math.PI * t) / 9) + rnd(),
    angle: 0, scale: 1,
  }));
  const m = { marginX: 12, marginY: 12, marginAngle: 0.01, marginLogScale: 0.01 };
  // 'auto' (the whole-clip still-or-moving choice) converges to an exact line; the
  // default 'hybrid' path stops its piecewise solve early (CPU), so it is a line to 1e-2 px/frame^2
  for (const [path, acc] of [['auto', 1e-3], ['hybrid', 1e-2]] as const) {
    const s = l1(raw, { ...m, path });
    assertInTube(s, raw, m, `pan (${path})`);
    for (const k of ['x', 'y'] as const) {
      for (let t = 1; t < n - 1; t++) assert.ok(Math.abs(s[t - 1][k] - 2 * s[t][k] + s[t + 1][k]) < acc, `${path}: ${k} acceleration at ${t}: ${s[t - 1][k] - 2 * s[t][k] + s[t + 1][k]}`);
      // raw is up to ~7 px off the pan; the line is within 1 px of it
      for (let t = 0; t < n; t++) close(s[t][k], pan(t)[k], 1, `${path}: ${k}[${t}] vs the pan`);
    }
  }
});

test('l1: a pan during a steady zoom (x = scale x linear) is kept exactly', () => {
  // geometry of a dolly with a constant-velocity pan: the frame-0 centre goes to scale(t) * (v t)
  const n = 90;
  const raw: PathParams[] = Array.from({ length: n }, (_, t) => {
    const scale = Math.pow(1.25, t / (n - 1));
    return { x: scale * (-0.3 * t), y: scale * (0.1 * t + 2), angle: 0.0005 * t, scale };
  });
  const s = l1(raw, { width: 640, height: 480 });
  s.forEach((q, t) => {
    close(q.x, raw[t].x, 1e-6, `x[${t}]`); close(q.y, raw[t].y, 1e-6, `y[${t}]`);
    close(q.angle, raw[t].angle, 1e-9, `angle[${t}]`); close(q.scale, raw[t].scale, 1e-9, `scale[${t}]`);
  });
});

test('l1: |S - P| <= margin on every frame and channel, whatever the path', () => {
  const rnd = lcg(5);
  const n = 120;
  const raw: PathParams[] = [];
  let x = 0, y = 0, a = 0, ls = 0;
  for (let t = 0; t < n; t++) {
    x += 3 * rnd() + 0.3; y += 3 * rnd(); a += 0.004 * rnd(); ls += 0.01 * rnd();
    raw.push({ x: x + 6 * rnd(), y: y + 6 * rnd(), angle: a + 0.01 * rnd(), scale: Math.exp(ls + 0.01 * rnd()) });
  }
  const m = { marginX: 4, marginY: 3, marginAngle: 0.002, marginLogScale: 0.001 };
  for (const [path, translationByScale] of [['auto', true], ['auto', false], ['static', true], ['moving', true]] as const) {
    assertInTube(l1(raw, { ...m, path, translationByScale }), raw, m, `${path} byScale ${translationByScale}`);
  }
  // margins from a crop budget: the same holds, and the correction needs at most about that zoom
  const s = l1(raw, { width: 320, height: 240, maxZoom: 1.05 });
  assert.equal(s.length, n);
  assert.throws(() => l1(raw), /width and height/);
  assert.throws(() => l1(raw, { ...m, w1: -1 }), /finite and >= 0/);
});

test('shakeLevel: 0 on a straight line, the noise sigma on white noise about a line', () => {
  const line = Float64Array.from({ length: 200 }, (_, t) => 3 - 0.7 * t);
  assert.ok(shakeLevel(line) < 1e-9, `line: ${shakeLevel(line)}`);
  const normal = gaussianRng(mulberry32(7));
  const noisy = Float64Array.from(line, (v) => v + 2 * normal());
  // a sigma-8 low-pass keeps 1/(2 sqrt(pi) 8) = 3.5 % of white noise power: the level reads ~0.98 x 2
  close(shakeLevel(noisy), 2, 0.25, 'white noise sigma 2');
});

test('l1 (default hybrid): a clip that holds, pans and stops is followed piece by piece', () => {
  // intended: still 60 frames, 3 px/frame for 80 frames, still 60 frames; shake: slow and fast sinusoids + noise
  const rnd = lcg(5);
  const n = 200;
  const intended = (t: number) => 3 * Math.min(80, Math.max(0, t - 60));
  const raw: PathParams[] = Array.from({ length: n }, (_, t) => ({
    x: intended(t) + 3 * Math.sin((2 * Math.PI * t) / 23) + 2 * Math.sin((2 * Math.PI * t) / 9 + 1) + rnd(),
    y: 0, angle: 0, scale: 1,
  }));
  const m = { marginX: 40, marginY: 40, marginAngle: 0.01, marginLogScale: 0.01 };
  // drift: RMS of the sigma-15 low-pass of (smoothed - intended), mean removed (the bench's measure)
  const drift = (s: PathParams[]) => {
    const d = Float64Array.from(s, (q, t) => q.x - intended(t));
    const mean = d.reduce((a, b) => a + b, 0) / n;
    const lp = gaussianFilter1D(d.map((v) => v - mean), 15);
    return Math.sqrt(lp.reduce((a, b) => a + b * b, 0) / n);
  };
  const hybrid = l1(raw, m);
  const whole = l1(raw, { ...m, path: 'auto' });
  assertInTube(hybrid, raw, m, 'hybrid');
  // the shake is 3-4 px; the piecewise path stays within ~1 px of the intent at low frequency,
  // the whole-clip choice (one line-or-parabola fit inside a 40 px tube) wanders further
  assert.ok(drift(hybrid) < 1.2, `hybrid drift ${drift(hybrid)}`);
  assert.ok(drift(hybrid) < 0.5 * drift(whole), `hybrid drift ${drift(hybrid)} vs auto ${drift(whole)}`);
  // in the held stretches the path is nearly still: it moves less than a fifth of the raw path's
  // range there (the 3 px and 2 px sinusoids, about 10 px peak to peak), since w1 = 0 allows a slight slope
  const range = (a: number[]) => Math.max(...a) - Math.min(...a);
  for (const [a, b] of [[5, 50], [150, 195]]) {
    const seg = range(hybrid.slice(a, b).map((q) => q.x)), rawSeg = range(raw.slice(a, b).map((q) => q.x));
    assert.ok(seg < 0.2 * rawSeg, `frames ${a}-${b} move ${seg} px (raw ${rawSeg} px)`);
  }
});

test('l1: an unknown path mode is refused with one line', () => {
  assert.throws(() => l1([{ x: 0, y: 0, angle: 0, scale: 1 }, { x: 1, y: 0, angle: 0, scale: 1 }, { x: 2, y: 0, angle: 0, scale: 1 }], { marginX: 1, marginY: 1, marginAngle: 0.01, marginLogScale: 0.01, path: 'wobbly' as 'auto' }), /l1 path must be/);
});

test('pathPieces: still, constant-velocity and easing stretches of a channel', () => {
  // frames 0-9 at 0; 10-19 ease in (s = 0.1 (t-9)^2: steps 0.1 .. 1.9 px); 2 px/frame to frame 29 (s = 30); then hold
  const s: number[] = [];
  for (let t = 0; t < 40; t++) {
    if (t <= 9) s.push(0);
    else if (t <= 19) s.push(0.1 * (t - 9) * (t - 9)); // acceleration 0.2 px/frame^2
    else if (t <= 29) s.push(10 + 2 * (t - 19)); // s[19] = 10, velocity 2
    else s.push(30);
  }
  const pieces = pathPieces(s);
  // steps: t -> t+1. 0..8 still (0 -> 0); 9 -> 10 is 0.1 (> 0.05) with acceleration 0.1 - 0 = 0.1: easing;
  // 10..18 easing (accelerations 0.2); step 19 -> 20 is 2 px after a 1.9 step: acceleration 0.1, easing;
  // steps 20..27 constant (2 px, no change); step 28 -> 29 is 2 then 0 after: acceleration 2: easing;
  // steps 29.. still; the last frame takes its predecessor's kind
  assert.deepEqual(pieces, [
    { start: 0, end: 9, kind: 'still' },
    { start: 9, end: 20, kind: 'easing' },
    { start: 20, end: 28, kind: 'constant' },
    { start: 28, end: 29, kind: 'easing' },
    { start: 29, end: 40, kind: 'still' },
  ]);
  assert.throws(() => pathPieces(s, { still: -1 }), /tolerances must be >= 0/);
});
