export { CacheLoader, type LoaderBatch, type LoaderOptions } from './loader.js';
export { ShuffleBuffer } from './shuffle.js';
