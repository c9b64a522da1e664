/**
 * Hand-labelled frames in notebooks. The contact labels keep some frame ranges
 * out (`heldOut` of datasets/labels/*.json) for an independent check after
 * tuning: nobody may look at them, so a notebook refuses to track, draw or
 * play any frame there (bench/label-crops.ts applies the same rule to its crops).
 */
import { ReshootError } from '../util/errors.js';

/** The held-out ranges of vtest.avi's contact labels (datasets/labels/vtest-contacts.json `heldOut`). */
export const VTEST_HELD_OUT: readonly [number, number][] = [
  [231, 274],
  [484, 545],
  [632, 683],
];

/** The held-out range that frames `first`..`last` (inclusive) reach, or null. */
export function heldOutOverlap(first: number, last: number, heldOut: readonly [number, number][] = VTEST_HELD_OUT): [number, number] | null {
  for (const [a, b] of heldOut) if (first <= b && last >= a) return [a, b];
  return null;
}

/** Throws a one-line ReshootError when frames `first`..`last` reach a held-out range. */
export function refuseHeldOut(first: number, last: number, heldOut: readonly [number, number][] = VTEST_HELD_OUT): void {
  if (!(Number.isInteger(first) && Number.isInteger(last) && first <= last)) throw new ReshootError(`refuseHeldOut: bad frame range ${first}-${last}`);
  const hit = heldOutOverlap(first, last, heldOut);
  if (hit) {
    const what = first === last ? `frame ${first} is` : `frames ${first}-${last} reach`;
    throw new ReshootError(`${what} held out (${hit[0]}-${hit[1]}): kept for an independent check, never shown`);
  }
}
