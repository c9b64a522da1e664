import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeVideo } from '../src/stabilize/index.js';
import { probeVideo, type GrayFrame } from '../src/video/index.js';
import { isReshootError } from '../src/util/errors.js';
import { mediaFile } from './helpers.js';

test('analyzeVideo on Megamind.avi: shots detected in the same pass, a cut is identity with fallback "cut", paths restart', async () => {
  const file = mediaFile('Megamind.avi');
  const { transforms, motions } = await analyzeVideo(file, { smoother: 'gaussian', sigma: 5 });
  // The cuts found by eye (see test/shots.test.ts).
  assert.deepEqual(transforms.shots.map((s) => s.start), [0, 1, 98, 154, 200]);
  for (const c of [1, 98, 154, 200]) {
    assert.equal(transforms.frames[c].fallback, 'cut');
    assert.deepEqual(motions[c].matrix, [1, 0, 0, 0, 1, 0]);
    assert.deepEqual(transforms.frames[c].trajectory, { x: 0, y: 0, angle: 0, scale: 1 });
  }
  assert.equal(transforms.frames.filter((f) => f.fallback === 'cut').length, 4);
  assert.ok(transforms.notes.some((n) => /5 shot\(s\) \(detected\); cuts at frames 1, 98, 154, 200/.test(n)), transforms.notes.join(' | '));
  // Shots given by the caller win over detection.
  const given = await analyzeVideo(file, { smoother: 'gaussian', sigma: 5, shots: [{ start: 0, end: 150 }, { start: 150, end: 270 }] });
  assert.deepEqual(given.transforms.frames.filter((f) => f.fallback === 'cut').map((f) => f.index), [150]);
  await assert.rejects(analyzeVideo(file, { shots: [{ start: 0, end: 100 }] }), (e) => isReshootError(e) && /shots cover frames \[0, 100\) but the clip has 270 frames/.test(e.message));
});

test('analyzeVideo with full-size masks still analyses at the small size; masks of another size are refused', async () => {
  const file = mediaFile('vtest.avi');
  const info = await probeVideo(file);
  const info40 = { ...info, frameCount: 40 };
  const calls: number[] = [];
  // A 200x300 box on the left (one of the pedestrians' areas), in input coordinates.
  const mask: GrayFrame = { width: info.width, height: info.height, data: new Uint8Array(info.width * info.height) };
  for (let y = 200; y < 500; y++) for (let x = 100; x < 300; x++) mask.data[y * info.width + x] = 255;
  const r = await analyzeVideo(file, {
    info: info40, smoother: 'gaussian', sigma: 5, motion: {},
    maskFor: (t) => { calls.push(t); return t < 40 ? mask : undefined; },
  });
  assert.ok((r.transforms.params.analysisScale as number) > 2, `analysis scale ${r.transforms.params.analysisScale}`);
  assert.ok(calls.length >= 40);
  assert.ok(r.transforms.notes.some((n) => /subject masks excluded from motion analysis on \d+ of \d+ frames/.test(n)), r.transforms.notes.join(' | '));
  // vtest is a static camera: with the mask every pair stays under 0.5 px of motion.
  for (const m of r.motions.slice(1, 40)) assert.ok(Math.hypot(m.matrix[2], m.matrix[5]) < 0.5 || m.fallback, m.matrix.join(','));
  const small: GrayFrame = { width: 320, height: 240, data: new Uint8Array(320 * 240) };
  await assert.rejects(analyzeVideo(file, { info: info40, maskFor: () => small }), (e) => isReshootError(e) && /mask for frame 0 is 320x240 .*masks must be gray 768x576/.test(e.message));
});
