import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invertFrame } from '../src/invert/index.js';

test('invertFrame: 255 - v for every byte', () => {
  const out = invertFrame({ width: 2, height: 1, data: Uint8Array.of(0, 10, 255, 1, 2, 3) });
  assert.deepEqual([...out.data], [255, 245, 0, 254, 253, 252]);
});
