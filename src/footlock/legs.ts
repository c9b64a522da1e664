/**
 * Left/right ankle swaps. On small people (60-145 px) MoveNet often puts its
 * left ankle on the right foot for a few frames, or both ankles on one foot.
 * A swapped frame makes both feet look fast, so a planted foot loses its
 * contact (and the lock would pin the wrong shoe). The feet are followed by
 * continuity instead: a two-state Viterbi pass (per frame: keep or swap the
 * model's ankle labels) minimising how far the two feet move from frame to
 * frame, plus `swapCost` body heights for every frame that is swapped, so the
 * model's labels win every tie (the frame where the swing foot passes the
 * planted one costs the same either way). The step cost also adds
 * `stanceWeight` x the smaller of the two feet's moves: in walking one foot
 * is planted at almost every moment, so "one foot still, the other far" is
 * likelier than "both moved halfway". The plain sum cannot tell these apart
 * across a frame where the model lost both ankles (the swing foot's move is
 * as long either way: vtest W2 at the sign post). Then an ankle that sits on
 * the other foot (closer than `mergeDist` box heights) while it arrived from
 * elsewhere is marked invalid: a gap, interpolated by the contact detector.
 */
import { LEFT_ANKLE, RIGHT_ANKLE, type Keypoint, type PoseTrack } from '../pose/types.js';

export interface LegSwapReport {
  /** The track with ankles swapped back (and merged ankles invalidated); other keypoints untouched. */
  track: PoseTrack;
  /** Frames (positions in track.frames) whose ankles were swapped. */
  swapped: number[];
  /** Frames where one ankle sat on the other foot and was invalidated. */
  merged: number[];
}

export interface LegSwapOptions {
  /** Cost of swapping one frame, body (box) heights of foot motion. */
  swapCost?: number;
  /** Ankles closer than this, box heights, are on the same foot. */
  mergeDist?: number;
  /** Weight of the smaller foot move in the step cost (one foot planted is likelier than both moving); 0 = plain sum. */
  stanceWeight?: number;
}

/** Default stanceWeight (src/footlock/README.md: measured on the vtest labels and the synthetic sets). */
export const DEFAULT_STANCE_WEIGHT = 1;

interface P {
  x: number;
  y: number;
}
const dist = (a: P, b: P) => Math.hypot(a.x - b.x, a.y - b.y);
const ok = (k: Keypoint | undefined): k is Keypoint => !!k && k.valid && Number.isFinite(k.x) && Number.isFinite(k.y);

export function unswapLegs(track: PoseTrack, opts: LegSwapOptions = {}): LegSwapReport {
  const swapCost = opts.swapCost ?? 0.15, mergeDist = opts.mergeDist ?? 0.09, stance = opts.stanceWeight ?? DEFAULT_STANCE_WEIGHT;
  const frames = track.frames.map((f) => ({ ...f, keypoints: f.keypoints.slice() }));
  // Frames with both ankles known and a body size: the Viterbi chain.
  const idx = frames.map((f, i) => i).filter((i) => frames[i].found && ok(frames[i].keypoints[LEFT_ANKLE]) && ok(frames[i].keypoints[RIGHT_ANKLE]) && (frames[i].box?.height ?? 0) > 0);
  const swapped: number[] = [], merged: number[] = [];
  if (idx.length >= 2) {
    const pos = (i: number, s: number): [P, P] => {
      const l = frames[i].keypoints[LEFT_ANKLE], r = frames[i].keypoints[RIGHT_ANKLE];
      return s ? [r, l] : [l, r];
    };
    const n = idx.length;
    const cost: number[][] = [[0, swapCost]];
    const back: number[][] = [[0, 0]];
    for (let j = 1; j < n; j++) {
      const a = idx[j - 1], b = idx[j];
      const h = frames[b].box!.height;
      cost.push([0, 0]);
      back.push([0, 0]);
      for (let s = 0; s < 2; s++) {
        const [pb, qb] = pos(b, s);
        let best = Infinity, arg = 0;
        for (let t = 0; t < 2; t++) {
          const [pa, qa] = pos(a, t);
          const dp = dist(pa, pb), dq = dist(qa, qb);
          const c = cost[j - 1][t] + (dp + dq + stance * Math.min(dp, dq)) / h;
          if (c < best) [best, arg] = [c, t];
        }
        cost[j][s] = best + s * swapCost;
        back[j][s] = arg;
      }
    }
    const state = new Array<number>(n);
    state[n - 1] = cost[n - 1][1] < cost[n - 1][0] ? 1 : 0;
    for (let j = n - 1; j > 0; j--) state[j - 1] = back[j][state[j]];
    idx.forEach((i, j) => {
      if (!state[j]) return;
      const k = frames[i].keypoints;
      [k[LEFT_ANKLE], k[RIGHT_ANKLE]] = [k[RIGHT_ANKLE], k[LEFT_ANKLE]];
      swapped.push(i);
    });
    // Both ankles on one foot: the one that came from farther away (from its own previous position) is wrong.
    for (let j = 1; j < n; j++) {
      const i = idx[j], p = idx[j - 1];
      const k = frames[i].keypoints, q = frames[p].keypoints, h = frames[i].box!.height;
      if (dist(k[LEFT_ANKLE], k[RIGHT_ANKLE]) >= mergeDist * h || dist(q[LEFT_ANKLE], q[RIGHT_ANKLE]) < 2 * mergeDist * h) continue;
      const bad = dist(k[LEFT_ANKLE], q[LEFT_ANKLE]) > dist(k[RIGHT_ANKLE], q[RIGHT_ANKLE]) ? LEFT_ANKLE : RIGHT_ANKLE;
      k[bad] = { ...k[bad], valid: false };
      merged.push(i);
    }
  }
  return { track: { ...track, frames }, swapped, merged };
}
