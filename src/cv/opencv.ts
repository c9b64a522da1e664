import type * as OpenCVModule from '@techstark/opencv-js';

/** The OpenCV (WebAssembly) namespace: cv.Mat, cv.calcOpticalFlowPyrLK, ... Mats must be .delete()d by hand. */
export type CV = typeof OpenCVModule;

let loading: Promise<CV> | undefined;

/**
 * Loads OpenCV's WebAssembly build once per process (about 0.3 s) and returns
 * its namespace. The module object is a thenable-free Emscripten module that
 * becomes usable after onRuntimeInitialized.
 */
export function loadOpenCV(): Promise<CV> {
  loading ??= (async () => {
    const mod = (await import('@techstark/opencv-js')) as unknown as { default?: unknown };
    let cv = (mod.default ?? mod) as CV & { onRuntimeInitialized?: () => void };
    if (cv instanceof Promise) cv = await cv;
    else if (typeof (cv as { Mat?: unknown }).Mat !== 'function') {
      await new Promise<void>((resolve) => {
        cv.onRuntimeInitialized = () => resolve();
      });
    }
    return cv;
  })();
  return loading;
}
