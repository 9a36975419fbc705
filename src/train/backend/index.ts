export * from './tf.js';
export * from './select.js';
export { availableCores, coresPerProcess } from './wasm-threads.js';
