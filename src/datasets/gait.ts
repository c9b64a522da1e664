/**
 * Seeded synthetic gait: pose tracks of a walker with labelled foot contacts,
 * the ground truth for contact detection and foot locking.
 *
 * Model (side view, image y down): the pelvis moves at a constant speed; each
 * foot alternates stance (ankle fixed in the world, so in the image it moves
 * only with the camera) and swing (a forward arc: horizontal travel of one
 * stride along a cycloid, zero speed at lift-off and touch-down, lifted by
 * `lift` body heights along a half sine). The right foot runs half a cycle
 * behind the left, so a stance fraction above 0.5 gives double support.
 * Everything else (hips, knees, shoulders, arms, head) follows the pelvis so
 * body size h (nose to ankle) and the pose box are realistic.
 *
 * What a real estimator adds is imitated on the observed track: Gaussian
 * keypoint jitter (sigma in body heights), rare outliers, bursts of missed
 * ankles (valid=false, position junk), whole frames without a person, and
 * camera shake (band-limited, moves every point including planted ankles).
 * Labels are exact per foot and frame: true = stance.
 */
import { COCO17_EDGES, LEFT_ANKLE, RIGHT_ANKLE, type Keypoint, type PoseFrame, type PoseTrack } from '../pose/types.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { deriveSeed, gaussian, mulberry32 } from '../util/rng.js';
import { bandLimitedNoise } from './shake.js';

export interface GaitSpec {
  /** Number of frames. Default 150. */
  frames?: number;
  /** Frame rate. Default 30. */
  fps?: number;
  /** Frame size. Default 1280x720. */
  width?: number;
  height?: number;
  /** Nose-to-ankle height of the walker, px. Default 400. */
  bodyHeight?: number;
  /** Walking speed, body heights per second (a 1.7 m adult at 1.36 m/s walks 0.8 h/s). Default 0.8. */
  speed?: number;
  /** Gait cycle (stride) duration, s. Default 1.1. */
  cycle?: number;
  /** Fraction of the cycle a foot is planted. Default 0.62 (typical walking: 60-62 %). */
  stance?: number;
  /** Peak ankle lift during swing, body heights. Default 0.1. */
  lift?: number;
  /** +1 walks right, -1 left. Default 1. */
  direction?: 1 | -1;
  /** Ground-line slope in the image (dy/dx): a walk at an angle to the image plane. Default 0. */
  slope?: number;
  /**
   * Image-y offset between the right and the left foot's ground lines, body
   * heights: an elevated camera sees the feet's lateral separation as a
   * height difference (left foot -spread/2, right +spread/2). Default 0.
   */
  footSpread?: number;
  /** Keypoint jitter sigma, body heights. Default 0.004. */
  noise?: number;
  /** Probability per keypoint and frame of an outlier (valid, but off by ~0.04 h). Default 0.003. */
  outlierRate?: number;
  /** Probability per ankle and frame that a missed-detection burst starts. Default 0.02. */
  missRate?: number;
  /** Longest missed burst, frames (uniform 1..missLength). Default 4. */
  missLength?: number;
  /** Probability per frame that the whole person is missed. Default 0.003. */
  lostRate?: number;
  /** Camera shake: RMS px per axis and -3 dB cut-off Hz. Default 1.5 px, 1.5 Hz. */
  shake?: { rms: number; cutoffHz: number };
  /** Phase of the left foot at frame 0 (cycles). Default random. */
  phase?: number;
  seed?: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface GaitTrack {
  /** The spec with every default filled in. */
  spec: Required<Omit<GaitSpec, 'phase'>> & { phase: number };
  /** The observed track (what a pose estimator would deliver). */
  track: PoseTrack;
  /** Labels per frame: true while the foot is planted (stance). */
  contacts: { left: boolean[]; right: boolean[] };
  /** Noise-free ankle positions in the image (camera included). */
  truth: { left: Point[]; right: Point[] };
  /** Noise-free COCO-17 keypoints per frame in the image (camera included). */
  skeleton: Point[][];
  /** Camera offset per frame: image = world + camera. */
  camera: Point[];
  /** The walker's nose-to-ankle height, px. */
  bodyHeight: number;
}

const DEFAULTS = {
  frames: 150,
  fps: 30,
  width: 1280,
  height: 720,
  bodyHeight: 400,
  speed: 0.8,
  cycle: 1.1,
  stance: 0.62,
  lift: 0.1,
  direction: 1 as 1 | -1,
  slope: 0,
  footSpread: 0,
  noise: 0.004,
  outlierRate: 0.003,
  missRate: 0.02,
  missLength: 4,
  lostRate: 0.003,
  shake: { rms: 1.5, cutoffHz: 1.5 },
  seed: 1,
};

/** Cycloid profile: 0 -> 1 with zero slope at both ends. */
function cycloid(s: number): number {
  return s - Math.sin(2 * Math.PI * s) / (2 * Math.PI);
}

/** Generates one seeded walker. Same spec, same output, on every platform. */
export function generateGait(spec: GaitSpec = {}): GaitTrack {
  const seed = spec.seed ?? DEFAULTS.seed;
  const uni = mulberry32(deriveSeed(seed, 100));
  const s = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)),
    seed,
    phase: spec.phase ?? uni(),
  } as GaitTrack['spec'];
  const { frames: n, fps, bodyHeight: h, direction: dir } = s;
  if (!(n >= 2 && Number.isInteger(n))) throw new RangeError(`frames must be an integer >= 2, got ${n}`);
  if (!(s.stance > 0 && s.stance < 1)) throw new RangeError(`stance must be in (0, 1), got ${s.stance}`);
  const v = s.speed * h; // px/s
  const stride = v * s.cycle; // each foot advances one stride per cycle
  const beta = s.stance;
  // Start so the walker stays inside the frame.
  const travel = v * (n / fps);
  const x0 = dir > 0 ? Math.max(h * 0.3, (s.width - travel) / 2) : Math.min(s.width - h * 0.3, (s.width + travel) / 2);
  const ground0 = s.height * 0.5 + h * 0.5;
  const groundAt = (x: number) => ground0 + s.slope * (x - s.width / 2);

  const cutoff = Math.min(0.5, s.shake.cutoffHz / fps);
  const camX = bandLimitedNoise(n, cutoff, s.shake.rms, seed, 1);
  const camY = bandLimitedNoise(n, cutoff, s.shake.rms, seed, 2);
  const camera = camX.map((x, i) => ({ x, y: camY[i] }));

  // World position of one foot at time t (seconds).
  const footAt = (t: number, offset: number, dy: number): { p: Point; planted: boolean } => {
    const c = t / s.cycle + s.phase + offset;
    const k = Math.floor(c);
    const phi = c - k;
    // Mid-stance (phi = beta/2) lies under the pelvis.
    const base = (k - s.phase - offset + beta / 2) * stride;
    if (phi < beta) {
      const x = x0 + dir * base;
      return { p: { x, y: groundAt(x) + dy }, planted: true };
    }
    const u = (phi - beta) / (1 - beta);
    const x = x0 + dir * (base + stride * cycloid(u));
    return { p: { x, y: groundAt(x) + dy - s.lift * h * Math.sin(Math.PI * u) }, planted: false };
  };

  const normal = gaussian(mulberry32(deriveSeed(seed, 3)));
  const chance = mulberry32(deriveSeed(seed, 4));
  const missLeft = { until: -1 };
  const missRight = { until: -1 };
  const contacts = { left: [] as boolean[], right: [] as boolean[] };
  const truth = { left: [] as Point[], right: [] as Point[] };
  const skeleton: Point[][] = [];
  const framesOut: PoseFrame[] = [];
  const sigma = s.noise * h;

  for (let i = 0; i < n; i++) {
    const t = i / fps;
    const cam = camera[i];
    const L = footAt(t, 0, (-s.footSpread / 2) * h);
    const R = footAt(t, 0.5, (s.footSpread / 2) * h);
    contacts.left.push(L.planted);
    contacts.right.push(R.planted);
    const px = x0 + dir * v * t;
    const g = groundAt(px);
    const bob = 0.012 * h * Math.cos(4 * Math.PI * (t / s.cycle + s.phase));
    const pelvisY = g - 0.52 * h + bob;
    const fwd = (k: number) => px + dir * k * h;
    const armSwing = (offset: number) => 0.08 * h * Math.sin(2 * Math.PI * (t / s.cycle + s.phase + offset));
    const world: Point[] = new Array(17);
    world[0] = { x: fwd(0.03), y: g - h + bob }; // nose: h above the ankle line
    world[1] = { x: fwd(0.02), y: world[0].y - 0.02 * h };
    world[2] = { x: fwd(0.01), y: world[0].y - 0.02 * h };
    world[3] = { x: fwd(-0.02), y: world[0].y - 0.01 * h };
    world[4] = { x: fwd(-0.03), y: world[0].y - 0.01 * h };
    world[5] = { x: fwd(0.01), y: pelvisY - 0.3 * h };
    world[6] = { x: fwd(-0.01), y: pelvisY - 0.3 * h };
    world[7] = { x: fwd(0.01) + dir * armSwing(0.5) * 0.6, y: pelvisY - 0.14 * h };
    world[8] = { x: fwd(-0.01) + dir * armSwing(0) * 0.6, y: pelvisY - 0.14 * h };
    world[9] = { x: fwd(0.01) + dir * armSwing(0.5), y: pelvisY + 0.01 * h };
    world[10] = { x: fwd(-0.01) + dir * armSwing(0), y: pelvisY + 0.01 * h };
    world[11] = { x: fwd(0.01), y: pelvisY };
    world[12] = { x: fwd(-0.01), y: pelvisY };
    const knee = (hip: Point, ankle: Point): Point => ({ x: (hip.x + ankle.x) / 2 + dir * 0.04 * h, y: (hip.y + ankle.y) / 2 });
    world[15] = L.p;
    world[16] = R.p;
    world[13] = knee(world[11], L.p);
    world[14] = knee(world[12], R.p);
    const image = world.map((p) => ({ x: p.x + cam.x, y: p.y + cam.y }));
    skeleton.push(image);
    truth.left.push(image[15]);
    truth.right.push(image[16]);

    const lost = chance() < s.lostRate;
    if (chance() < s.missRate) missLeft.until = i + Math.floor(chance() * s.missLength);
    if (chance() < s.missRate) missRight.until = i + Math.floor(chance() * s.missLength);
    const keypoints: Keypoint[] = image.map((p, k) => {
      const missed = lost || (k === 15 && i <= missLeft.until) || (k === 16 && i <= missRight.until);
      if (missed) {
        // What a model says for a point it cannot see: low score, position off.
        return { x: p.x + 0.15 * h * normal(), y: p.y + 0.15 * h * normal(), score: 0.05 + 0.2 * chance(), valid: false };
      }
      const out = chance() < s.outlierRate ? 0.04 * h : 0;
      return {
        x: p.x + sigma * normal() + out * normal(),
        y: p.y + sigma * normal() + out * normal(),
        score: 0.55 + 0.4 * chance(),
        valid: true,
      };
    });
    const valid = keypoints.filter((k) => k.valid);
    const box = valid.length
      ? (() => {
          const xs = valid.map((k) => k.x);
          const ys = valid.map((k) => k.y);
          const bx = Math.min(...xs), by = Math.min(...ys);
          return { x: bx, y: by, width: Math.max(...xs) - bx, height: Math.max(...ys) - by };
        })()
      : null;
    framesOut.push({
      index: i,
      found: !lost,
      keypoints,
      box: lost ? null : box,
      score: keypoints.reduce((a, k) => a + k.score, 0) / 17,
    });
  }

  const track: PoseTrack = {
    schema: 'reshoot.poses/1',
    source: { path: `synthetic:gait/${seed}`, width: s.width, height: s.height, fps: { num: fps, den: 1 }, frameCount: n },
    model: { id: 'synthetic-gait (stand-in for a pose estimator)', inputSize: 0, provider: 'none' },
    minScore: 0.3,
    smoothing: null,
    frames: framesOut,
  };
  return { spec: s, track, contacts, truth, skeleton, camera, bodyHeight: h };
}

export interface GaitSetCase {
  name: string;
  spec: GaitSpec;
}

/**
 * The evaluation set: every combination of body size (far to near), noise
 * level and walking speed, one seed each (seeds differ per case).
 * Defaults: body heights 80, 160, 320, 520 px; noise 0.002, 0.005, 0.01 h;
 * speeds 0.5, 0.8, 1.1 h/s (cycle shortens with speed, as in people).
 */
export function gaitSet(opts: { bodyHeights?: number[]; noises?: number[]; speeds?: number[]; frames?: number; fps?: number; seed?: number } = {}): GaitSetCase[] {
  const bodyHeights = opts.bodyHeights ?? [80, 160, 320, 520];
  const noises = opts.noises ?? [0.002, 0.005, 0.01];
  const speeds = opts.speeds ?? [0.5, 0.8, 1.1];
  const cases: GaitSetCase[] = [];
  let k = 0;
  for (const bodyHeight of bodyHeights) {
    for (const noise of noises) {
      for (const speed of speeds) {
        k++;
        cases.push({
          name: `h${bodyHeight}-n${noise}-v${speed}`,
          spec: {
            bodyHeight,
            noise,
            speed,
            cycle: 1.25 - 0.25 * speed, // 1.125 s at 0.5 h/s, 0.975 s at 1.1 h/s
            frames: opts.frames ?? 180,
            fps: opts.fps ?? 30,
            direction: k % 2 ? 1 : -1,
            slope: ((k % 3) - 1) * 0.05,
            // Half the cases seen from above: the feet's lateral separation shows as a height difference.
            footSpread: k % 2 ? 0 : 0.05,
            // Shake scales with size: a far walker is also a small image.
            shake: { rms: Math.max(0.3, bodyHeight / 300), cutoffHz: 1.5 },
            seed: (opts.seed ?? 7) * 1000 + k,
          },
        });
      }
    }
  }
  return cases;
}

// ---------------------------------------------------------------- rendering (for end-to-end checks on pixels)

/** Colours of the rendered walker: limbs, and one marker per ankle so ankles can be measured from pixels. */
export const GAIT_COLORS = {
  body: [70, 80, 170] as const,
  left: [235, 20, 20] as const,
  right: [20, 215, 20] as const,
};

export interface RenderedGaitFrame {
  frame: Frame;
  /** Person alpha, 0-255 (anti-aliased). */
  mask: GrayFrame;
}

/**
 * Draws frame t of a synthetic walker over a procedural background (grey-blue
 * waves and a darker ground, no saturated red or green), the body as
 * anti-aliased capsules along the COCO-17 skeleton at the noise-free pose,
 * and a red (left) and green (right) disc on the ankles. `offset` moves the
 * whole person layer (e.g. a stand-in for generator drift). Returns the frame
 * and the person mask. person=false draws the background only (a plate).
 */
export function renderGaitFrame(g: GaitTrack, t: number, offset: Point = { x: 0, y: 0 }, person = true): RenderedGaitFrame {
  const { width: W, height: H } = g.spec;
  const h = g.bodyHeight;
  const cam = g.camera[t];
  const data = new Uint8Array(W * H * 3);
  const alpha = new Float32Array(W * H);
  const groundY = H * 0.5 + h * 0.5;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // Background moves with the camera.
      const u = x - cam.x, v = y - cam.y;
      const wave = 30 * Math.sin(u / 23) * Math.cos(v / 31) + 20 * Math.sin((u + 2 * v) / 57);
      const base = v > groundY - h * 0.02 ? 80 : 130;
      const i = (y * W + x) * 3;
      data[i] = base + wave * 0.6;
      data[i + 1] = base + wave * 0.7 + 5;
      data[i + 2] = base + wave + 20;
    }
  }
  const body = g.skeleton[t];
  const mask = new Uint8Array(W * H);
  if (!person) return { frame: { width: W, height: H, data }, mask: { width: W, height: H, data: mask } };
  const paint = (color: readonly number[], cover: (x: number, y: number) => number, box: [number, number, number, number]) => {
    const [bx0, by0, bx1, by1] = box;
    for (let y = Math.max(0, Math.floor(by0)); y <= Math.min(H - 1, Math.ceil(by1)); y++) {
      for (let x = Math.max(0, Math.floor(bx0)); x <= Math.min(W - 1, Math.ceil(bx1)); x++) {
        const a = cover(x, y);
        if (a <= 0) continue;
        const i = y * W + x;
        for (let c = 0; c < 3; c++) data[i * 3 + c] = data[i * 3 + c] * (1 - a) + color[c] * a;
        alpha[i] = 1 - (1 - alpha[i]) * (1 - a);
      }
    }
  };
  const capsule = (p: Point, q: Point, r: number, color: readonly number[]) => {
    const a = { x: p.x + offset.x, y: p.y + offset.y }, b = { x: q.x + offset.x, y: q.y + offset.y };
    const dx = b.x - a.x, dy = b.y - a.y, L2 = dx * dx + dy * dy;
    paint(
      color,
      (x, y) => {
        const s = L2 > 0 ? Math.max(0, Math.min(1, ((x - a.x) * dx + (y - a.y) * dy) / L2)) : 0;
        const d = Math.hypot(x - a.x - s * dx, y - a.y - s * dy);
        return Math.max(0, Math.min(1, r + 0.5 - d));
      },
      [Math.min(a.x, b.x) - r - 1, Math.min(a.y, b.y) - r - 1, Math.max(a.x, b.x) + r + 1, Math.max(a.y, b.y) + r + 1],
    );
  };
  for (const [i, j] of COCO17_EDGES) capsule(body[i], body[j], 0.03 * h, GAIT_COLORS.body);
  capsule(body[0], body[0], 0.06 * h, GAIT_COLORS.body);
  capsule(body[LEFT_ANKLE], body[LEFT_ANKLE], 0.035 * h, GAIT_COLORS.left);
  capsule(body[RIGHT_ANKLE], body[RIGHT_ANKLE], 0.035 * h, GAIT_COLORS.right);
  for (let i = 0; i < mask.length; i++) mask[i] = Math.round(alpha[i] * 255);
  return { frame: { width: W, height: H, data }, mask: { width: W, height: H, data: mask } };
}

/**
 * Where an ankle marker of a rendered walker is, measured from pixels: the
 * centroid of "markerness" (the marker channel minus the larger other
 * channel, above a threshold) within `radius` px of `near`. NaN when absent.
 */
export function locateMarker(frame: Frame, foot: 'left' | 'right', near: Point, radius: number): Point {
  const ch = foot === 'left' ? 0 : 1;
  const o1 = ch === 0 ? 1 : 0, o2 = 2;
  let sw = 0, sx = 0, sy = 0;
  const { width: W, height: H, data } = frame;
  for (let y = Math.max(0, Math.floor(near.y - radius)); y <= Math.min(H - 1, Math.ceil(near.y + radius)); y++) {
    for (let x = Math.max(0, Math.floor(near.x - radius)); x <= Math.min(W - 1, Math.ceil(near.x + radius)); x++) {
      const i = (y * W + x) * 3;
      const m = data[i + ch] - Math.max(data[i + o1], data[i + o2]) - 40;
      if (m <= 0) continue;
      sw += m;
      sx += m * x;
      sy += m * y;
    }
  }
  return sw > 0 ? { x: sx / sw, y: sy / sw } : { x: NaN, y: NaN };
}
