/**
 * Wan2.2-Animate (replace mode) conventions and folder writer; the `wan-animate:<command>`
 * generator. The whole-video export is src/export/wan-animate.ts (it needs the pipeline).
 */
export * from './conventions.js';
export * from './folder.js';
export * from './generator.js';
