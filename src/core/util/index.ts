export * from './arrow.js';
export * from './rng.js';
export * from './float16.js';
export * from './fs.js';
export * from './format.js';
