export * from './errors.js';
export * from './fs.js';
