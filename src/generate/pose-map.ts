import { loadOpenCV, type CV } from '../cv/opencv.js';
import { COCO17_EDGES, type PoseFrame } from '../pose/types.js';
import type { Frame } from '../video/types.js';

/**
 * Limb colours (RGB), one per COCO17_EDGES entry, spread around the hue
 * circle like OpenPose-style conditioning images so every limb is distinct.
 */
export const POSE_MAP_COLORS: ReadonlyArray<readonly [number, number, number]> = COCO17_EDGES.map((_, i) => {
  const h = (i / COCO17_EDGES.length) * 6;
  const x = Math.round(255 * (1 - Math.abs((h % 2) - 1)));
  const k = Math.floor(h) % 6;
  const rgb: [number, number, number][] = [
    [255, x, 0], [x, 255, 0], [0, 255, x], [0, x, 255], [x, 0, 255], [255, 0, x],
  ];
  return rgb[k];
});

/**
 * A pose conditioning image: black background, each skeleton edge whose two
 * keypoints are valid drawn as a coloured line, valid keypoints as white dots
 * (no anti-aliasing, so every drawn pixel has exactly its limb's colour).
 * Line width and dot radius scale with the frame (about 0.6% of its diagonal).
 */
export function renderPoseMapSync(cv: CV, pose: PoseFrame | undefined, width: number, height: number): Frame {
  const mat = cv.Mat.zeros(height, width, cv.CV_8UC3);
  try {
    if (pose?.found) {
      const thick = Math.max(1, Math.round(Math.hypot(width, height) * 0.006));
      const kp = pose.keypoints;
      COCO17_EDGES.forEach(([a, b], i) => {
        if (!kp[a]?.valid || !kp[b]?.valid) return;
        const c = POSE_MAP_COLORS[i];
        cv.line(mat, new cv.Point(Math.round(kp[a].x), Math.round(kp[a].y)), new cv.Point(Math.round(kp[b].x), Math.round(kp[b].y)),
          new cv.Scalar(c[0], c[1], c[2], 255), thick, cv.LINE_8);
      });
      for (const k of kp) {
        if (!k.valid) continue;
        cv.circle(mat, new cv.Point(Math.round(k.x), Math.round(k.y)), thick + 1, new cv.Scalar(255, 255, 255, 255), -1, cv.LINE_8);
      }
    }
    return { width, height, data: new Uint8Array(mat.data as Uint8Array) };
  } finally {
    mat.delete();
  }
}

export async function renderPoseMap(pose: PoseFrame | undefined, width: number, height: number): Promise<Frame> {
  return renderPoseMapSync(await loadOpenCV(), pose, width, height);
}
