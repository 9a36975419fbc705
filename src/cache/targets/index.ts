export * from './spec.js';
export { HEAD_OUTPUTS, countDraws, targetColumns, type HeadOutputs } from './columns.js';
