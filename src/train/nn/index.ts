export * from './dense.js';
export * from './bmm.js';
export * from './embedding.js';
export * from './layernorm.js';
export * from './gelu.js';
export * from './dropout.js';
export * from './attention.js';
export * from './conv.js';
