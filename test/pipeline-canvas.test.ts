/** Re-shaking the change (pipeline/canvas.ts): untouched pixels stay the input's exactly; a change lands where it was made. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadOpenCV } from '../src/cv/opencv.js';
import { fromCanvas, reshakeChange, toCanvas, type CanvasGeometry } from '../src/pipeline/canvas.js';
import type { Frame } from '../src/video/types.js';

function textured(w: number, h: number): Frame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = (x * 37 + y * 91 + c * 50) % 200;
  return { width: w, height: h, data };
}

// No stabilization: the canvas is the frame moved by the margins (translation by 5, 3).
const g: CanvasGeometry = { mode: 'canvas', width: 50, height: 36, offsetX: 5, offsetY: 3 };

test('an unchanged result gives back the input byte for byte, also under a sub-pixel camera move', async () => {
  const cv = await loadOpenCV();
  const input = textured(40, 30);
  for (const geo of [g, { ...g, offsetX: 5.5, offsetY: 3.25 }]) {
    const onCanvas = toCanvas(cv, input, null, 0, geo);
    assert.deepEqual(reshakeChange(cv, input, onCanvas, null, 0, geo).data, input.data);
    if (geo.offsetX % 1) {
      // Why: warping the image there and back blurs it (interior pixels compared; borders replicate).
      const twice = fromCanvas(cv, onCanvas, null, 0, geo, 40, 30);
      let differ = 0;
      for (let y = 2; y < 28; y++) for (let x = 2; x < 38; x++) if (twice.data[(y * 40 + x) * 3] !== input.data[(y * 40 + x) * 3]) differ++;
      assert.ok(differ > 500, `${differ} interior pixels changed by the round trip`);
    }
  }
});

test('a change made on the canvas lands at the same scene point, the rest untouched', async () => {
  const cv = await loadOpenCV();
  const input = textured(40, 30);
  const result = toCanvas(cv, input, null, 0, g);
  // +50 on canvas pixel (25, 13) = input pixel (20, 10).
  for (let c = 0; c < 3; c++) result.data[(13 * 50 + 25) * 3 + c] += 50;
  const out = reshakeChange(cv, input, result, null, 0, g);
  for (let y = 0; y < 30; y++) {
    for (let x = 0; x < 40; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * 40 + x) * 3 + c;
        assert.equal(out.data[i], input.data[i] + (x === 20 && y === 10 ? 50 : 0), `pixel ${x},${y}`);
      }
    }
  }
});
