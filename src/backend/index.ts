export * from './tf.js';
export * from './select.js';
