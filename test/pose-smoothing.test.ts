import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OneEuroFilter, oneEuroAlpha } from '../src/pose/one-euro.js';
import { mulberry32, gaussian } from '../src/util/rng.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('alpha = 1 / (1 + tau/dt) with tau = 1/(2 pi fc)', () => {
  // fc = 1 Hz, dt = 1/30 s: tau = 0.159154943, alpha = 1 / (1 + 4.77464829) = 0.173173...
  close(oneEuroAlpha(1, 1 / 30), 1 / (1 + 30 / (2 * Math.PI)));
  close(oneEuroAlpha(1, 1 / 30), 0.17317, 1e-5);
});

test('beta = 0 is a first-order low-pass: a unit step gives 1 - (1 - alpha)^k', () => {
  const f = new OneEuroFilter({ minCutoff: 2, beta: 0, dCutoff: 1 });
  const dt = 1 / 25;
  const a = 1 / (1 + 1 / (2 * Math.PI * 2) / dt);
  close(f.filter(0, 0), 0);
  for (let k = 1; k <= 20; k++) close(f.filter(1, k * dt), 1 - (1 - a) ** k, 1e-12);
});

test('first two samples of a ramp follow the equations by hand (derivative raises the cutoff)', () => {
  const p = { minCutoff: 1, beta: 0.1, dCutoff: 1 };
  const f = new OneEuroFilter(p);
  const dt = 1 / 30;
  assert.equal(f.filter(5, 0), 5); // first sample passes through
  // x1 = 15: dx = (15 - 5)/dt = 300 px/s; dxhat = ad * 300; fc = 1 + 0.1 * dxhat; xhat = a(fc) * 15 + (1 - a(fc)) * 5.
  const ad = 1 / (1 + 1 / (2 * Math.PI * 1) / dt);
  const dxhat = ad * 300;
  const fc = 1 + 0.1 * dxhat;
  const a = 1 / (1 + 1 / (2 * Math.PI * fc) / dt);
  const x1 = a * 15 + (1 - a) * 5;
  close(f.filter(15, dt), x1, 1e-9);
  // x2 = 25: dx = (25 - x1)/dt, dxhat2 = ad*dx + (1-ad)*dxhat, ...
  const dx2 = (25 - x1) / dt;
  const dxhat2 = ad * dx2 + (1 - ad) * dxhat;
  const a2 = 1 / (1 + 1 / (2 * Math.PI * (1 + 0.1 * Math.abs(dxhat2))) / dt);
  close(f.filter(25, 2 * dt), a2 * 25 + (1 - a2) * x1, 1e-9);
});

test('on a noisy still point it removes jitter; on a fast ramp beta cuts the lag', () => {
  const g = gaussian(mulberry32(7));
  const still = new OneEuroFilter({ minCutoff: 1, beta: 0.05, dCutoff: 1 });
  let rawVar = 0;
  let outVar = 0;
  for (let k = 0; k < 300; k++) {
    const x = 100 + 2 * g();
    const y = still.filter(x, k / 30);
    if (k >= 30) {
      rawVar += (x - 100) ** 2;
      outVar += (y - 100) ** 2;
    }
  }
  assert.ok(outVar < rawVar / 4, `variance ${outVar} vs raw ${rawVar}`);
  const lag = (beta: number) => {
    const f = new OneEuroFilter({ minCutoff: 1, beta, dCutoff: 1 });
    let y = 0;
    for (let k = 0; k <= 60; k++) y = f.filter(300 * (k / 30), k / 30); // 300 px/s
    return 300 * 2 - y;
  };
  assert.ok(lag(0.05) < lag(0) / 3, `lag with beta ${lag(0.05)} vs without ${lag(0)}`);
});

test('reset makes the next sample pass through', () => {
  const f = new OneEuroFilter({ minCutoff: 1, beta: 0, dCutoff: 1 });
  f.filter(0, 0);
  f.filter(10, 0.1);
  f.reset();
  assert.equal(f.filter(50, 0.2), 50);
  assert.throws(() => new OneEuroFilter({ minCutoff: 0, beta: 0, dCutoff: 1 }));
});
