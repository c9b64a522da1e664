import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaFile } from './helpers.js';
import { trackPoses } from '../src/pose/index.js';
import { applyMat, detectContacts, planFootLock } from '../src/footlock/index.js';
import { footSliding } from '../src/metrics/index.js';

// vtest.avi (10 fps): the pedestrian the pose tracker follows from frame 0 walks in, then stands talking by the
// sign post from about frame 45 to 150 (visible in the clip), so both her feet are planted over frames 60-139.
test('real vtest.avi walker: both feet are found planted while she stands; the lock reduces the track\'s sliding there', async () => {
  const { track } = await trackPoses(mediaFile('vtest.avi'), { count: 140 });
  const c = detectContacts(track);
  for (const foot of ['left', 'right'] as const) {
    const decided = c.feet[foot].contact.slice(60, 140).filter((v) => v !== null);
    const share = decided.filter((v) => v === true).length / decided.length;
    assert.ok(decided.length >= 60, `${foot}: only ${decided.length} decided frames`);
    assert.ok(share >= 0.7, `${foot}: planted on ${(100 * share).toFixed(0)} % of the standing frames`);
  }
  // Sliding of the pose track itself during detected contacts, before and after locking to it.
  const feet = [15, 16].map((k, i) => ({
    position: track.frames.map((f) => (f.keypoints[k].valid ? { x: f.keypoints[k].x, y: f.keypoints[k].y } : { x: NaN, y: NaN })),
    contact: [c.feet.left.contact, c.feet.right.contact][i],
  }));
  const plan = planFootLock(c, track);
  const before = footSliding(feet, { fps: 10, bodyHeight: c.bodyHeight });
  const after = footSliding(feet.map((f) => ({ position: f.position.map((p, t) => applyMat(plan.matrices[t], p)), contact: f.contact })), { fps: 10, bodyHeight: c.bodyHeight });
  assert.ok(after.meanPx < before.meanPx, `sliding ${before.meanPx} -> ${after.meanPx} px`);
});
