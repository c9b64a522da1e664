/** Is a detection plausible as a NEW person? (see PlausibilityRule; used by PeopleTracker and PoseTracker on acquisition). */
import type { PoseFrame } from './types.js';

const LEFT_SHOULDER = 5;
const RIGHT_SHOULDER = 6;
const LEFT_HIP = 11;
const RIGHT_HIP = 12;

/**
 * The plausibility rule for a NEW person (acquisition only; a person already
 * followed may shrink or be half-hidden). MoveNet calls window frames and
 * plants in building.jpg people with 6-15 valid keypoints, mean score 0.25-0.36
 * and 28-44 px boxes on 768x576, and vtest.avi's camera tripod one with a
 * 20-35 px box scoring 0.22-0.46; real vtest.avi walkers (62-145 px tall,
 * valid-keypoint boxes from about 50 px) score higher and have a torso.
 */
export interface PlausibilityRule {
  /** Box (around valid keypoints) at least this tall, px. */
  minBoxPx: number;
  /** ...and at least this fraction of the frame height. */
  minBoxFraction: number;
  /** At least this many valid keypoints. */
  minValid: number;
  /** Mean keypoint score at least this. */
  minScore: number;
  /** A shoulder and a hip must be valid (a torso). */
  needTorso: boolean;
}

export const DEFAULT_PLAUSIBILITY: PlausibilityRule = { minBoxPx: 24, minBoxFraction: 0.07, minValid: 8, minScore: 0.4, needTorso: true };

/** Why a pose is not plausible as a new person, or null when it is. */
export function implausibleReason(p: PoseFrame, frameHeight: number, rule: PlausibilityRule = DEFAULT_PLAUSIBILITY): string | null {
  if (!p.found || !p.box) return 'not found';
  const k = p.keypoints;
  const valid = k.filter((q) => q.valid).length;
  if (valid < rule.minValid) return `${valid} valid keypoints < ${rule.minValid}`;
  const minH = Math.max(rule.minBoxPx, rule.minBoxFraction * frameHeight);
  if (p.box.height < minH) return `box ${p.box.height.toFixed(0)} px tall < ${minH.toFixed(0)} px`;
  if (p.score < rule.minScore) return `mean score ${p.score.toFixed(2)} < ${rule.minScore}`;
  if (rule.needTorso && !((k[LEFT_SHOULDER].valid || k[RIGHT_SHOULDER].valid) && (k[LEFT_HIP].valid || k[RIGHT_HIP].valid))) return 'no torso';
  return null;
}

