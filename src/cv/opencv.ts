import type * as OpenCVModule from '@techstark/opencv-js';

/** The OpenCV (WebAssembly) namespace: cv.Mat, cv.calcOpticalFlowPyrLK, ... Mats must be .delete()d by hand. */
export type CV = typeof OpenCVModule;

type EmscriptenModule = CV & { onRuntimeInitialized?: () => void; then?: unknown; calledRun?: boolean };

let loading: Promise<{ cv: CV }> | undefined;

/**
 * Loads OpenCV's WebAssembly build once per process (about 0.3 s) and returns
 * its namespace. The Emscripten module has a `then` that hands back the module
 * itself, so awaiting it (or returning it from an async function) loops
 * forever: wait for onRuntimeInitialized by hand, then remove `then`.
 */
export async function loadOpenCV(): Promise<CV> {
  loading ??= (async () => {
    const mod = (await import('@techstark/opencv-js')) as unknown as { default?: unknown };
    const cv = (mod.default ?? mod) as EmscriptenModule;
    if (!cv.calledRun && typeof (cv as { Mat?: unknown }).Mat !== 'function') {
      await new Promise<void>((resolve) => {
        const previous = cv.onRuntimeInitialized;
        cv.onRuntimeInitialized = () => {
          previous?.();
          resolve();
        };
      });
    }
    delete cv.then;
    return { cv };
  })();
  return (await loading).cv;
}
