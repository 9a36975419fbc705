import type { GraphBuilder } from '../../../core/onnx/index.js';

/**
 * Dropout in a student graph: called at every place the tfjs forward pass calls dropout(), in
 * the same order, so a training graph can take the masks of DropoutStream (seeded by seed, step
 * and call order) as inputs. Returns x masked (or x itself when the rate is 0).
 */
export type DropoutSite = (g: GraphBuilder, x: string, rate: number, shape: MaskShape) => string;

/** Shape of x at a dropout site: sizes, with the batch and sequence axes named (they vary per batch). */
export type MaskShape = readonly (number | 'batch' | 'seq')[];

/** Options of the student graph builders. */
export interface StudentGraphOptions {
  /** Training graphs: applies dropout; absent (export, evaluation): identity. */
  dropout?: DropoutSite;
}
