import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenCV } from '../src/cv/opencv.js';

test('OpenCV loads once and computes a known affine estimate', async () => {
  const cv = await loadOpenCV();
  assert.equal(await loadOpenCV(), cv);
  // Points moved by a pure translation (+3, -2): estimateAffine2D must recover it.
  const src = [0, 0, 10, 0, 0, 10, 10, 10, 5, 7];
  const dst = src.map((v, i) => (i % 2 === 0 ? v + 3 : v - 2));
  const a = cv.matFromArray(5, 1, cv.CV_32FC2, src);
  const b = cv.matFromArray(5, 1, cv.CV_32FC2, dst);
  const m = cv.estimateAffine2D(a, b);
  const d = Array.from(m.data64F as Float64Array);
  a.delete(); b.delete(); m.delete();
  const expected = [1, 0, 3, 0, 1, -2];
  d.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `element ${i}: ${v} vs ${expected[i]}`));
});
