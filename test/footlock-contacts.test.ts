import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bodySpeeds, decideContacts, detectContacts, planFootLock, readContacts, resolveContactOptions, unswapLegs, writeContacts } from '../src/footlock/index.js';
import { gaitSet, generateGait } from '../src/datasets/index.js';
import { contactScores } from '../src/metrics/index.js';
import type { PoseTrack } from '../src/pose/types.js';
import { ReshootError } from '../src/util/errors.js';

interface Pt {
  x: number;
  y: number;
  valid?: boolean;
}

/** A pose track from ankle paths; the nose sits h above the ground so body size is h. */
function handTrack(n: number, fps: number, h: number, left: (t: number) => Pt, right: (t: number) => Pt, ground = 400): PoseTrack {
  return {
    schema: 'reshoot.poses/1',
    source: { path: 'hand', width: 1000, height: 800, fps: { num: fps, den: 1 }, frameCount: n },
    model: { id: 'hand', inputSize: 0, provider: 'none' },
    minScore: 0.3,
    smoothing: null,
    frames: Array.from({ length: n }, (_, t) => {
      const l = left(t), r = right(t);
      const keypoints = Array.from({ length: 17 }, (_, k) => ({ x: 200, y: ground - h * (k < 5 ? 1 : 0.5), score: 0.9, valid: true }));
      keypoints[15] = { x: l.x, y: l.y, score: l.valid === false ? 0.1 : 0.9, valid: l.valid !== false };
      keypoints[16] = { x: r.x, y: r.y, score: r.valid === false ? 0.1 : 0.9, valid: r.valid !== false };
      return { index: t, found: true, keypoints, box: { x: 100, y: ground - h, width: 300, height: h }, score: 0.9 };
    }),
  };
}

// Left foot: planted at x=100 (frames 0-14), swings to x=300 (15-24), planted (25-39). Right foot planted.
const swingLeft = (scale = 1, y0 = 400) => (t: number): Pt => {
  if (t < 15) return { x: 100 * scale, y: y0 * scale };
  if (t >= 25) return { x: 300 * scale, y: y0 * scale };
  const u = (t - 14) / 11;
  return { x: (100 + 200 * u) * scale, y: (y0 - 40 * Math.sin(Math.PI * u)) * scale };
};

const noSmoothing = { smoothing: 0, minSmoothingFrames: 0 };

test('contacts: a planted-swing-planted foot gives exactly its stance frames (no smoothing: hand-checked boundaries)', () => {
  const track = handTrack(40, 30, 400, swingLeft(), () => ({ x: 200, y: 400 }));
  const c = detectContacts(track, noSmoothing);
  const expected = Array.from({ length: 40 }, (_, t) => t < 15 || t >= 25);
  assert.deepEqual(c.feet.left.contact, expected);
  assert.deepEqual(c.feet.right.contact, new Array(40).fill(true));
  assert.deepEqual(c.feet.left.spans.map((s) => [s.start, s.end, s.anchor.x, s.anchor.y]), [[0, 14, 100, 400], [25, 39, 300, 400]]);
  assert.deepEqual(c.feet.left.anchor[3], { x: 100, y: 400 });
  assert.equal(c.feet.left.anchor[20], null);
});

test('contacts: the same motion at a quarter of the size (a far person) gives the same contacts', () => {
  const near = detectContacts(handTrack(40, 30, 400, swingLeft(), () => ({ x: 200, y: 400 })));
  const far = detectContacts(handTrack(40, 30, 100, swingLeft(0.25), () => ({ x: 50, y: 100 }), 100));
  assert.deepEqual(far.feet.left.contact, near.feet.left.contact);
  assert.ok(Math.abs((far.bodyHeight[10] ?? 0) - 100) < 1e-9 && Math.abs((near.bodyHeight[10] ?? 0) - 400) < 1e-9);
});

test('contacts: short low-confidence gaps are interpolated, long ones give no decision', () => {
  const left = (t: number): Pt => ({ x: 100, y: 400, valid: !((t >= 5 && t <= 16) || (t >= 22 && t <= 34)) });
  const c = detectContacts(handTrack(40, 30, 400, left, () => ({ x: 200, y: 400 })));
  // maxInterpolate 0.4 s = 12 frames at 30 fps: a 12-frame gap is interpolated and decided; 13 frames: null.
  for (let t = 5; t <= 16; t++) assert.equal(c.feet.left.contact[t], true);
  for (let t = 22; t <= 34; t++) assert.equal(c.feet.left.contact[t], null);
  assert.equal(c.feet.left.contact[38], true);
});

test('contacts: a foot held still but raised is not in contact (height test)', () => {
  // Right foot planted; left foot lifted 0.45 h (over heightOff 0.4) and held from frame 10 to 29.
  // (Thresholds sit that high because walking away from the camera puts a planted front foot up to 0.29 h above the back one.)
  const left = (t: number): Pt => ({ x: 100, y: t >= 10 && t < 30 ? 220 : 400 });
  const c = detectContacts(handTrack(40, 30, 400, left, () => ({ x: 200, y: 400 })), noSmoothing);
  for (let t = 11; t < 29; t++) assert.equal(c.feet.left.contact[t], false, `frame ${t}`);
  assert.equal(c.feet.left.contact[5], true);
});

test('contacts: hysteresis, gap filling and minimum length on hand-made signals', () => {
  const o = resolveContactOptions({ speedOn: 0.3, speedOff: 0.5, heightOn: 0.08, heightOff: 0.12, fillGap: 0.1, minContact: 0.1 });
  const fps = 30; // fillGap = 3 frames, minContact = 3 frames
  const zeros = (n: number) => new Array(n).fill(0);
  // Enter below 0.3, stay while <= 0.5, leave above 0.5; 0.4 alone never enters.
  assert.deepEqual(decideContacts({ speed: [0.4, 0.2, 0.4, 0.45, 0.2, 0.6, 0.4, 0.4, 0.6], height: zeros(9) }, { ...o, fillGap: 0 }, fps),
    [false, true, true, true, true, false, false, false, false]);
  // Height hysteresis: enter below 0.08, stay up to 0.12.
  assert.deepEqual(decideContacts({ speed: zeros(6), height: [0.1, 0.05, 0.11, 0.13, 0.1, 0.07] }, { ...o, fillGap: 0, minContact: 0 }, fps),
    [false, true, true, false, false, true]);
  // A 2-frame gap between contacts is filled, a 4-frame gap is not; a 2-frame contact is dropped.
  const s = [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1];
  const got = decideContacts({ speed: s, height: zeros(s.length) }, o, fps);
  const want = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0].map(Boolean);
  // frames 0-3 contact, gap 4-5 (2) filled -> 0-9 contact; gap 10-13 (4) kept; 14-17 contact; 18-23 gap (6);
  // 24-25 a 2-frame contact: dropped; 26-29 gap.
  assert.deepEqual(got, want);
  // NaN gives no decision and resets the state.
  assert.deepEqual(decideContacts({ speed: [0.1, NaN, 0.4], height: [0, 0, 0] }, { ...o, minContact: 0 }, fps), [true, null, false]);
});

test('contacts: speed thresholds follow the body speed (hand-made signals)', () => {
  const o = resolveContactOptions({ speedOn: 0.25, speedOff: 0.4, bodySpeedOn: 0.6, bodySpeedOff: 0.7, heightOn: 1, heightOff: 1, fillGap: 0, minContact: 0 });
  const speed = [0.5, 0.5, 0.8, 0.3, 0.3, 0.5], height = new Array(6).fill(0);
  // Body at 1 h/s: enter below max(0.25, 0.6) = 0.6, leave above max(0.4, 0.7) = 0.7. Body at 0.2 h/s: enter below 0.25.
  assert.deepEqual(decideContacts({ speed, height }, o, 10, [1, 1, 1, 0.2, 0.2, 0.2]), [true, true, false, false, false, false]);
  // Without a body speed (or NaN) only the floors act.
  assert.deepEqual(decideContacts({ speed, height }, o, 10), [false, false, false, false, false, false]);
  assert.deepEqual(decideContacts({ speed: [0.2, 0.35, 0.45], height: [0, 0, 0] }, o, 10, [NaN, NaN, NaN]), [true, true, false]);
});

test('contacts: the default release threshold lets go of a lift-off frame at 0.6 x body speed (vtest W3 frame 354)', () => {
  // W3 (hand labels: frame 354 is the first swing frame of foot b) walks at 0.71 h/s; MoveNet's ankle moves
  // 0.46 h/s on that frame, then 1.2 h/s. Defaults: leave above max(speedOff 0.4, 0.6 x 0.71 = 0.426) h/s, so the
  // lift-off frame is released. (The previous 0.7 x 0.71 = 0.497 held it: a false contact.)
  const o = resolveContactOptions();
  const body = new Array(5).fill(0.71);
  assert.deepEqual(decideContacts({ speed: [0.1, 0.1, 0.46, 1.2, 1.2], height: new Array(5).fill(0) }, o, 10, body), [true, true, false, false, false]);
  // Entering still needs less than max(speedOn 0.25, 0.5 x 0.71 = 0.355) h/s: a foot arriving at 0.4 h/s is not yet planted.
  assert.deepEqual(decideContacts({ speed: [1.2, 0.4, 0.1, 0.1, 0.1], height: new Array(5).fill(0) }, o, 10, body), [false, false, true, true, true]);
});

test('contacts: body speed from the hips, else the box centre, in body heights per second', () => {
  // 10 fps, h = 100 px; hips move 5 px per frame to the right: 5 * 10 / 100 = 0.5 h/s.
  const track = handTrack(8, 10, 100, () => ({ x: 100, y: 400 }), () => ({ x: 200, y: 400 }));
  track.frames.forEach((f, t) => {
    for (const k of [11, 12]) f.keypoints[k] = { ...f.keypoints[k], x: 200 + 5 * t };
  });
  // Frames 3-4: no hips, so the box centre (x = 100 + 20 t + 150, y = 350) stands in; frame 7 is lost.
  for (const t of [3, 4]) {
    for (const k of [11, 12]) track.frames[t].keypoints[k] = { ...track.frames[t].keypoints[k], valid: false };
    track.frames[t].box = { x: 100 + 20 * t, y: 300, width: 300, height: 100 };
  }
  track.frames[7].found = false;
  const h = new Array(8).fill(100);
  const v = bodySpeeds(track, h, 10, 1, 0);
  // Without the median: frame 1 (hips 0 and 2): 10 px / 2 frames -> 0.5; frame 3: hips at 2 (210, 350) to box at 4 (330, 350): 120 px / 2 -> 6.
  assert.equal(v[1], 0.5);
  assert.equal(v[3], 6);
  assert.ok(Number.isNaN(v[6]) && Number.isNaN(v[7]), 'frame 6 reaches the lost frame 7');
  // Running median over +-1 frame: frame 1 sees 0.5, 0.5 and 5.25 (hips at 1 to the box at 3: 105 px / 2).
  const m = bodySpeeds(track, h, 10, 1, 1);
  assert.equal(m[1], 0.5);
});

test('contacts: left/right ankle swaps are undone by continuity, an ankle on the other foot becomes a gap', () => {
  // 10 fps, h = 100: left foot planted at x = 100; right foot slides from 150 at 20 px per frame.
  // The "model" swaps the ankles on frames 5-7 and puts both on the right foot on frame 12.
  const trueL = () => ({ x: 100, y: 400 }), trueR = (t: number) => ({ x: 150 + 20 * t, y: 400 });
  const track = handTrack(20, 10, 100, (t) => (t >= 5 && t <= 7 ? trueR(t) : t === 12 ? trueR(t) : trueL()), (t) => (t >= 5 && t <= 7 ? trueL() : trueR(t)));
  const r = unswapLegs(track);
  assert.deepEqual(r.swapped, [5, 6, 7]);
  assert.deepEqual(r.merged, [12]);
  for (let t = 0; t < 20; t++) {
    const l = r.track.frames[t].keypoints[15], q = r.track.frames[t].keypoints[16];
    assert.equal(l.valid, t !== 12, `frame ${t}`);
    if (t !== 12) assert.deepEqual([l.x, l.y], [100, 400], `frame ${t}`);
    assert.deepEqual([q.x, q.y], [150 + 20 * t, 400], `frame ${t}`);
  }
  assert.equal(track.frames[5].keypoints[15].x, 250, 'the input track is not modified');
  // Contacts: the planted left foot is one contact at (100, 400) only with the swap undone; raw, the jumps break it up.
  const fixed = detectContacts(track), raw = detectContacts(track, { legSwap: 0 });
  assert.deepEqual(fixed.feet.left.spans.map((s) => [s.start, s.end, s.anchor.x, s.anchor.y]), [[0, 19, 100, 400]]);
  assert.ok(raw.feet.left.spans.length >= 3, `raw spans ${JSON.stringify(raw.feet.left.spans)}`);
  assert.equal(raw.feet.left.contact[5], false);
  assert.equal(raw.feet.left.contact[12], false);
  // The lock undoes the same swaps on the ankles it holds: the planted foot never moved, so no correction at all.
  const shift = (c: typeof fixed) => Math.max(...planFootLock(c, track, { strength: 1 }).full.map((m) => Math.hypot(m[2], m[5])));
  assert.ok(shift(fixed) < 1e-6, `correction ${shift(fixed)} px`);
  // Were the lock to read the model's labels, the swapped frames would pull the layer (the same contacts, swap not undone).
  assert.ok(shift({ ...fixed, params: { ...fixed.params, legSwap: 0 } }) > 5);
});

test('contacts: across a frame without ankles, one foot still beats both feet moving (stance term of the swap undo)', () => {
  // 10 fps, h = box height = 100. The right foot is planted at x = 480 throughout; the left swings past it:
  // 300 (frames 0-2), 400 (3), lost (4: the model gives no ankle at all), 560 (5), 640 (6). On frames 5-6 the
  // model swaps the labels (its left ankle on the planted foot), as MoveNet did behind vtest's sign post (W2).
  const L = [300, 300, 300, 400, 480, 560, 640], R = 480;
  const track = handTrack(7, 10, 100, (t) => (t === 4 ? { x: 0, y: 0, valid: false } : t >= 5 ? { x: R, y: 400 } : { x: L[t], y: 400 }), (t) => (t === 4 ? { x: 0, y: 0, valid: false } : t >= 5 ? { x: L[t], y: 400 } : { x: R, y: 400 }));
  // Frames 3 -> 5 by hand. Labels as given: left 400 -> 480 (80 px), right 480 -> 560 (80 px). Swapped back:
  // left 400 -> 560 (160), right 480 -> 480 (0). Both sum to 1.6 h, so the plain sum keeps the model's labels
  // (undoing costs 2 x swapCost = 0.4). With the stance term the labels as given cost 1.6 + min(0.8, 0.8) = 2.4 h,
  // swapped back 1.6 + 0 + 0.4 = 2.0 h: undone.
  assert.deepEqual(unswapLegs(track, { swapCost: 0.2, stanceWeight: 0 }).swapped, [], 'the plain sum keeps the swap (the old behaviour)');
  const r = unswapLegs(track, { swapCost: 0.2 });
  assert.deepEqual(r.swapped, [5, 6]);
  for (const t of [0, 1, 2, 3, 5, 6]) {
    assert.equal(r.track.frames[t].keypoints[16].x, R, `right ankle, frame ${t}`);
    assert.equal(r.track.frames[t].keypoints[15].x, L[t], `left ankle, frame ${t}`);
  }
  // So the planted right foot is in contact on every frame (frame 4 interpolated), which the old undo lost on 5-6.
  assert.deepEqual(detectContacts(track).feet.right.contact, [true, true, true, true, true, true, true]);
});

test('contacts: F1 >= 0.95 against the generator labels across body sizes and noise levels (subset)', () => {
  const cases = gaitSet({ bodyHeights: [80, 520], noises: [0.005, 0.01], speeds: [0.5, 1.1], frames: 150 });
  const P: (boolean | null)[][] = [], T: boolean[][] = [];
  for (const c of cases) {
    const g = generateGait(c.spec);
    const r = detectContacts(g.track);
    const s = contactScores([r.feet.left.contact, r.feet.right.contact], [g.contacts.left, g.contacts.right]);
    assert.ok(s.f1 >= 0.93, `${c.name}: F1 ${s.f1.toFixed(3)}`);
    P.push(r.feet.left.contact, r.feet.right.contact);
    T.push(g.contacts.left, g.contacts.right);
  }
  const all = contactScores(P, T);
  assert.ok(all.f1 >= 0.95, `pooled F1 ${all.f1.toFixed(4)}`);
});

test('contacts: contacts.json round trip; a wrong file is refused with a clear error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-contacts-'));
  try {
    const c = detectContacts(handTrack(40, 30, 400, swingLeft(), () => ({ x: 200, y: 400 })));
    const p = join(dir, 'c.json');
    await writeContacts(p, c);
    assert.deepEqual(await readContacts(p), JSON.parse(await readFile(p, 'utf8')));
    assert.equal((await readContacts(p)).feet.left.spans.length, 2);
    await assert.rejects(writeContacts(p, c), /already exists/);
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ schema: 'reshoot.poses/1' }));
    await assert.rejects(readContacts(join(dir, 'bad.json')), (e: unknown) => e instanceof ReshootError && /not a reshoot contacts file/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('contacts: bad options are refused', () => {
  assert.throws(() => resolveContactOptions({ speedOn: 0.6, speedOff: 0.5 }), /speedOff/);
  assert.throws(() => resolveContactOptions({ heightOn: -1 }), /heightOn/);
});
