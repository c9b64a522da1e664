/** Segment plans that never span a hard cut (hand-worked cases). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SEGMENTS, planShotSegments, validatePlan } from '../src/segment/index.js';

const shotsOf = (cuts: number[], n: number) => [0, ...cuts].map((s, k, a) => ({ start: s, end: k + 1 < a.length ? a[k + 1] : n }));

test('one shot: the ordinary plan (3 segments with overlaps)', () => {
  const p = planShotSegments(90, undefined, [{ start: 0, end: 90 }], { count: 3, overlap: 5, minLength: 10 });
  assert.equal(p.count, 3);
  assert.equal(p.segments[0].overlap, 5);
});

test('Megamind-like cuts at 97, 153, 199 of 270: every cut is a boundary with no overlap', () => {
  const cuts = [97, 153, 199];
  const p = validatePlan(planShotSegments(270, undefined, shotsOf(cuts, 270), { count: 3, overlap: 5, minLength: 10 }));
  // Four shots need at least four segments.
  assert.equal(p.count, 4);
  for (const c of cuts) {
    const before = p.segments.find((s) => s.end === c);
    assert.ok(before, `a segment ends at the cut ${c}`);
    assert.equal(before!.overlap, 0);
    assert.ok(p.segments.some((s) => s.start === c));
  }
  for (const s of p.segments) for (const c of cuts) assert.ok(!(s.start < c && s.end > c), `segment ${s.index} spans cut ${c}`);
  assert.deepEqual(p.cutsInsideSegments, []);
});

test('more segments than shots are spread by length: a long shot gets the extra ones, with overlaps inside it', () => {
  // Shots of 100 and 20 frames, 4 segments: lengths/count favour the long shot (100/3 > 20/1).
  const p = validatePlan(planShotSegments(120, undefined, shotsOf([100], 120), { count: 4, overlap: 5, minLength: 10, uniform: true }));
  assert.equal(p.count, 4);
  assert.deepEqual(p.segments.map((s) => s.overlap), [5, 5, 0, 0]);
  assert.equal(p.segments[3].start, 100);
});

test('an all-cuts clip: shots too short to stand alone are joined, the cuts inside are listed', () => {
  const n = 30;
  const cuts = Array.from({ length: n - 1 }, (_, i) => i + 1); // every frame a new shot
  const p = validatePlan(planShotSegments(n, undefined, shotsOf(cuts, n), { count: 3, overlap: 2, minLength: 10 }));
  assert.ok(p.count >= 1 && p.count <= MAX_SEGMENTS);
  for (const s of p.segments) assert.ok(s.end - s.start >= 10, 'no segment shorter than minLength');
  assert.ok(p.cutsInsideSegments!.length > 0);
  assert.match(p.reason, /joined/);
});
