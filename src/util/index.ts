export * from './arrow.js';
export * from './rng.js';
