/**
 * Background plate: the scene without the person, from the (stabilized) frames
 * and person masks. See README.md for the method, defaults and measurements.
 */
export { MaskedMedian } from './median.js';
export {
  computePlate,
  slidingPlates,
  sourceFromArrays,
  cleanMask,
  inpaintHoles,
  evenSamples,
  windowOf,
  averagePlates,
  blendPlates,
  type PlateSource,
  type PlateOptions,
  type SlidingPlateOptions,
  type Plate,
  type FramePlate,
  type InpaintMethod,
} from './plate.js';
export { openPlateSource, sourceFromStores, type VideoPlateSource } from './video.js';
export { psnr, ssim, PLATE_PSNR_CAP } from './quality.js';
export { makePlateScene, silhouetteCovers, type PlateScene, type PlateSceneOptions } from './scene.js';
