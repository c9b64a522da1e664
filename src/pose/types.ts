/**
 * The pose track format: what the pose stage writes (poses.json) and what
 * foot locking, segment planning and the pipeline read. Agreed here first so
 * those stages can be built against it while pose inference lands.
 */
import type { Rational } from '../video/types.js';

/** COCO-17 keypoint names, in the order every keypoint array uses. */
export const COCO17 = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
] as const;

export type Coco17Name = (typeof COCO17)[number];

export const NOSE = 0;
export const LEFT_HIP = 11;
export const RIGHT_HIP = 12;
export const LEFT_KNEE = 13;
export const RIGHT_KNEE = 14;
export const LEFT_ANKLE = 15;
export const RIGHT_ANKLE = 16;

/** Skeleton edges (pairs of COCO-17 indices) for overlays. */
export const COCO17_EDGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1], [0, 2], [1, 3], [2, 4],
  [5, 6], [5, 7], [7, 9], [6, 8], [8, 10],
  [5, 11], [6, 12], [11, 12],
  [11, 13], [13, 15], [12, 14], [14, 16],
];

/**
 * One keypoint in pixels of the ORIGINAL frame (x right, y down).
 * `valid` is false when score < the track's minScore: the position is what
 * the model said (kept for inspection) but consumers must not trust it;
 * nothing is invented for low-confidence points.
 */
export interface Keypoint {
  x: number;
  y: number;
  score: number;
  valid: boolean;
}

/** Axis-aligned box in original-frame pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PoseFrame {
  /** Frame index in the video (0-based). */
  index: number;
  /** False when no person was found in this frame (keypoints then all invalid). */
  found: boolean;
  /** 17 keypoints in COCO-17 order. */
  keypoints: Keypoint[];
  /** Box around the valid keypoints, or null when not found. */
  box: Box | null;
  /** Mean keypoint score. */
  score: number;
}

export interface PoseTrack {
  schema: 'reshoot.poses/1';
  source: { path: string; width: number; height: number; fps: Rational; frameCount: number };
  model: { id: string; inputSize: number; provider: string };
  /** Keypoints with score below this are marked invalid. */
  minScore: number;
  /** Temporal smoothing applied to x/y (null when off); parameters recorded for reproducibility. */
  smoothing: { kind: 'one-euro'; minCutoff: number; beta: number; dCutoff: number } | null;
  /** The subject's frames (one per frame; what contacts, foot lock, masks and the generator use). */
  frames: PoseFrame[];
  /** Every person tracked (`reshoot pose` with a subject rule): id and the frames where they were seen. Absent in single-subject tracks. */
  tracks?: { id: number; frames: PoseFrame[] }[];
  /** Which track `frames` is (id -1: nobody) and the rule that chose it. */
  subject?: { id: number; rule: string };
  /** Notes for the user (e.g. no person found). */
  notes?: string[];
}
