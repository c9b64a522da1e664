export * from './stabilization.js';
export * from './stabilization-gt.js';
export * from './stabilization-video.js';
export * from './flicker.js';
export * from './feet.js';
export * from './scene.js';
