export * from './tf.js';
export * from './select.js';
export { availableCores } from './wasm-threads.js';
