import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as OpenCVModule from '@techstark/opencv-js';
import { packageRoot } from '../util/paths.js';

/** The OpenCV (WebAssembly) namespace: cv.Mat, cv.calcOpticalFlowPyrLK, ... Mats must be .delete()d by hand. */
export type CV = typeof OpenCVModule;

type EmscriptenModule = CV & { onRuntimeInitialized?: () => void; then?: unknown; calledRun?: boolean };

let loading: Promise<{ cv: CV }> | undefined;

/**
 * Loads OpenCV's WebAssembly build once per process (about 0.3 s) and returns
 * its namespace. The Emscripten module has a `then` that hands back the module
 * itself, so a promise that adopts it never settles: that rules out
 * `await import(...)` (tslab compiles it to `Promise.resolve().then(() =>
 * require(...))`) and returning the module from an async function. So it is
 * loaded with a synchronous require, `then` is removed once the runtime is up,
 * and the promise resolves to a wrapper object.
 */
export async function loadOpenCV(): Promise<CV> {
  loading ??= new Promise<{ cv: CV }>((resolve, reject) => {
    try {
      const loaded = createRequire(join(packageRoot(), 'package.json'))('@techstark/opencv-js') as { default?: unknown; Mat?: unknown };
      const cv = (loaded.Mat || !loaded.default ? loaded : loaded.default) as EmscriptenModule;
      const done = () => {
        delete cv.then;
        resolve({ cv });
      };
      if (cv.calledRun || typeof (cv as { Mat?: unknown }).Mat === 'function') done();
      else {
        const previous = cv.onRuntimeInitialized;
        cv.onRuntimeInitialized = () => {
          previous?.();
          done();
        };
      }
    } catch (err) {
      reject(err);
    }
  });
  return (await loading).cv;
}
