export * from './errors.js';
export * from './protocol.js';
export * from './pool.js';
export * from './serve.js';
export * from './priority.js';
