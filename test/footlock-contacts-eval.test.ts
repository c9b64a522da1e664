import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { f1, quantile, readContactLabels, scoreWalker, type LabelledWalker } from '../src/footlock/contacts-eval.js';
import type { Contacts } from '../src/footlock/contacts.js';
import type { Keypoint, PoseFrame, PoseTrack } from '../src/pose/types.js';

function frameWith(index: number, left: [number, number] | null, right: [number, number] | null): PoseFrame {
  const keypoints: Keypoint[] = Array.from({ length: 17 }, () => ({ x: 110, y: 150, score: 0.9, valid: true }));
  keypoints[15] = left ? { x: left[0], y: left[1], score: 0.9, valid: true } : { x: 0, y: 0, score: 0.1, valid: false };
  keypoints[16] = right ? { x: right[0], y: right[1], score: 0.9, valid: true } : { x: 0, y: 0, score: 0.1, valid: false };
  return { index, found: true, keypoints, box: { x: 100, y: 100, width: 30, height: 100 }, score: 0.8 };
}

test('scoring a walker by hand: majority foot matching, confusion at stance/swing boundaries, ankle error', () => {
  const w: LabelledWalker = {
    name: 'w', frames: [10, 15], at: [110, 150], heightPx: [100, 100],
    feet: {
      a: { contact: 'cccss-', ankles: { '10': [100, 200], '11': [100, 200] } },
      b: { contact: 'sscccu', ankles: { '10': [120, 200] } },
    },
  };
  const frames = [frameWith(10, [103, 204], [120, 201]), frameWith(11, null, [130, 200]), ...[12, 13, 14, 15].map((i) => frameWith(i, [100, 200], [120, 200]))];
  const track = { frames } as PoseTrack;
  const contacts = { feet: { left: { contact: [true, true, false, false, true, null] }, right: { contact: [false, true, true, true, true, false] } } } as unknown as Contacts;
  const s = scoreWalker(w, track, contacts);
  // Votes: a@10 -> left (5 px vs 20 px), a@11 -> right (left invalid), b@10 -> right: a is left.
  assert.deepEqual(s.match, { a: 15, b: 16 });
  // a: c c c s s vs T T F F T -> tp tp fn tn fp (frames 12, 13 at the boundary). b: s s c c c vs F T T T T -> tn fp tp tp tp
  // (11, 12 at the boundary, and 14, next to the 'u' at 15).
  assert.deepEqual(s.all, { tp: 5, fp: 2, fn: 1, tn: 2 });
  assert.deepEqual(s.boundary, { tp: 2, fp: 1, fn: 1, tn: 1 });
  assert.deepEqual(s.interior, { tp: 3, fp: 1, fn: 0, tn: 1 });
  assert.ok(Math.abs(f1(s.all) - 10 / 13) < 1e-12);
  assert.equal(s.undecided, 0);
  assert.deepEqual(s.ankleErrors, [1, 5]);
  assert.equal(s.ankleMissing, 1);
  assert.equal(quantile([1, 5], 0.5), 3);
});

test('contact labels: the held-out frames and malformed rows are refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-labels-'));
  try {
    const base = { schema: 'reshoot.contact-labels/1', clip: 'vtest.avi', fps: 10, heldOut: [[231, 274]], method: 'x' };
    const walker = (frames: [number, number], contact: string) => ({ name: 'w', frames, at: [0, 0], heightPx: [80, 80], feet: { a: { contact, ankles: {} }, b: { contact, ankles: {} } } });
    const p = join(dir, 'l.json');
    await writeFile(p, JSON.stringify({ ...base, walkers: [walker([225, 232], 'cccccccc')] }));
    assert.throws(() => readContactLabels(p), /overlaps the held-out frames 231-274/);
    await writeFile(p, JSON.stringify({ ...base, walkers: [walker([10, 13], 'ccx')] }));
    assert.throws(() => readContactLabels(p), /needs 4 characters of c\/s\/u\/-/);
    await writeFile(p, JSON.stringify({ ...base, walkers: [walker([10, 13], 'ccsu')] }));
    assert.equal(readContactLabels(p).walkers.length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
