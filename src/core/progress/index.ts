export { createProgress, type Progress, type ProgressOptions, type ProgressStream } from './progress.js';
export {
  barLine, formatDuration, formatRate, formatValue, jsonLine, percent, plainLine, type ProgressSnapshot,
} from './format.js';
