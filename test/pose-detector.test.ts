/**
 * PersonDetector (NanoDet, person class) on real frames against hand labels: every labelled walker's ankle
 * (datasets/labels/vtest-contacts.json, labelled by eye, never from a detector) lies inside a detected
 * person box of about the walker's height; a scene without people (building.jpg) gives no box.
 * Plus the decoder and NMS on hand-built head outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { PersonDetector, decodePersons, nonMaxSuppression, DETECTOR_INPUT } from '../src/pose/detector.js';
import { decodeFrames } from '../src/video/index.js';
import { mediaFile } from './helpers.js';

interface Walker { name: string; frames: [number, number]; heightPx: [number, number]; feet: Record<string, { ankles?: Record<string, [number, number]> }> }
const labels = JSON.parse(readFileSync('datasets/labels/vtest-contacts.json', 'utf8')) as { walkers: Walker[] };

test('decodePersons: a cell\'s box is its centre minus/plus the expected bin times the stride; NMS keeps the better of two overlapping boxes', () => {
  // One confident person cell on the stride-16 grid at column 3, row 5: centre (3.5 * 16, 5.5 * 16) = (56, 88).
  const outs: Record<string, { data: Float32Array }> = {};
  for (const s of [8, 16, 32]) {
    const g = DETECTOR_INPUT / s;
    outs[`cls${s}`] = { data: new Float32Array(g * g * 80) };
    outs[`reg${s}`] = { data: new Float32Array(g * g * 44) };
  }
  const k = 5 * 26 + 3;
  outs.cls16.data[k * 80] = 0.9;
  outs.cls16.data[k * 80 + 1] = 0.99; // another class: ignored
  // Sides: left all mass on bin 2 (32 px), top split evenly between bins 1 and 3 (mean 2 -> 32 px),
  // right on bin 1 (16 px), bottom on bin 4 (64 px). A large logit gap makes the softmax one-hot.
  const set = (side: number, bins: number[]) => { for (let b = 0; b < 11; b++) outs.reg16.data[k * 44 + side * 11 + b] = bins.includes(b) ? 50 : 0; };
  set(0, [2]); set(1, [1, 3]); set(2, [1]); set(3, [4]);
  const boxes = decodePersons(outs, 0.5);
  assert.equal(boxes.length, 1);
  const b = boxes[0];
  for (const [got, want] of [[b.x, 56 - 32], [b.y, 88 - 32], [b.width, 32 + 16], [b.height, 32 + 64], [b.score, 0.9]] as const) assert.ok(Math.abs(got - want) < 1e-3, `${got} vs ${want}`);
  const kept = nonMaxSuppression([{ ...b, score: 0.5 }, b, { ...b, x: b.x + 200, score: 0.4 }], 0.6);
  assert.deepEqual(kept.map((p) => Math.round(p.score * 100) / 100), [0.9, 0.4]);
});

test('every hand-labelled walker\'s ankles fall inside a detected person box of about their height (vtest.avi, 10 walkers)', async () => {
  // One labelled frame per walker: the first with an ankle on both feet, else on one.
  const wanted = new Map<number, { walker: Walker; ankles: [number, number][] }[]>();
  for (const w of labels.walkers) {
    const byFrame = new Map<number, [number, number][]>();
    for (const foot of Object.values(w.feet)) for (const [f, p] of Object.entries(foot.ankles ?? {})) byFrame.set(Number(f), [...(byFrame.get(Number(f)) ?? []), p]);
    const frames = [...byFrame.keys()].sort((a, b) => a - b);
    const t = frames.find((f) => byFrame.get(f)!.length === 2) ?? frames[0];
    wanted.set(t, [...(wanted.get(t) ?? []), { walker: w, ankles: byFrame.get(t)! }]);
  }
  const last = Math.max(...wanted.keys());
  const det = await PersonDetector.create({ threads: 2 });
  const misses: string[] = [];
  let t = 0;
  for await (const frame of decodeFrames(mediaFile('vtest.avi'), { count: last + 1 })) {
    for (const { walker, ankles } of wanted.get(t) ?? []) {
      const boxes = await det.detect(frame);
      const height = walker.heightPx[0];
      const hit = boxes.find((b) => b.height >= 0.6 * height && b.height <= 1.6 * height && ankles.every(([x, y]) => x >= b.x - 4 && x <= b.x + b.width + 4 && y >= b.y - 4 && y <= b.y + b.height + 4));
      if (!hit) misses.push(`${walker.name.slice(0, 3)} @${t}: ankles ${JSON.stringify(ankles)} not in ${boxes.map((b) => `[${b.x.toFixed(0)},${b.y.toFixed(0)} ${b.width.toFixed(0)}x${b.height.toFixed(0)}]`).join(' ')}`);
    }
    t++;
  }
  await det.release();
  assert.equal(misses.length, 0, misses.join('\n'));
});

test('a scene without people gives no person box (building.jpg)', async () => {
  const { data, info } = await sharp(mediaFile('building.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const det = await PersonDetector.create({ threads: 2 });
  const boxes = await det.detect({ width: info.width, height: info.height, data: new Uint8Array(data) });
  await det.release();
  assert.deepEqual(boxes.map((b) => b.score.toFixed(2)), []);
});
