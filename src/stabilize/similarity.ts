/** The 2x3 matrix maths lives in src/geometry (one home for Mat2x3); re-exported here for stabilize's callers. */
export * from '../geometry/index.js';
