export * from './stabilization.js';
export * from './stabilization-gt.js';
export * from './stabilization-video.js';
