export * from './stabilization.js';
