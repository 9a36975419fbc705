/** What the scaling runs train and report (shared by scaling.ts and its child processes). */

/** What one scaling child reports. */
export interface ScaleRun {
  stage: 'precompute' | 'train';
  rows: number;
  seconds: number;
  peakRssBytes: number;
}

/** The student and settings the scaling epochs train. */
export const SCALE_STUDENT = { arch: 'mlp', hidden: [800, 800] };
export const SCALE_TRAIN = { backend: 'wasm', batch_size: 128, epochs: 1, log_every: 1000 };
