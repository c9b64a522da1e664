/** refuseHeldOut: the notebooks never track or show the contact labels' held-out frames. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { VTEST_HELD_OUT, heldOutOverlap, refuseHeldOut } from '../src/notebook/index.js';
import { ReshootError } from '../src/util/errors.js';

test('the built-in held-out ranges are the labels file\'s', () => {
  const labels = JSON.parse(readFileSync('datasets/labels/vtest-contacts.json', 'utf8')) as { heldOut: [number, number][] };
  assert.deepEqual(VTEST_HELD_OUT, labels.heldOut);
});

test('ranges touching a held-out frame are refused, inclusive at both ends; the frames between pass', () => {
  // Ranges are inclusive: 231-274 held out, so 230 and 275 are free, 231 and 274 are not.
  for (const [a, b] of [[0, 230], [275, 483], [546, 631], [684, 794], [230, 230]]) assert.doesNotThrow(() => refuseHeldOut(a, b), `${a}-${b}`);
  for (const [a, b] of [[230, 231], [274, 280], [200, 300], [545, 545], [600, 632], [683, 700]]) {
    assert.throws(() => refuseHeldOut(a, b), (e: unknown) => e instanceof ReshootError && /held out/.test((e as Error).message) && !(e as Error).message.includes('\n'), `${a}-${b}`);
  }
  assert.deepEqual(heldOutOverlap(500, 510), [484, 545]);
  assert.equal(heldOutOverlap(0, 230), null);
  // Other labels files bring their own ranges.
  assert.doesNotThrow(() => refuseHeldOut(240, 250, [[0, 10]]));
  assert.throws(() => refuseHeldOut(5, 4), ReshootError);
});
