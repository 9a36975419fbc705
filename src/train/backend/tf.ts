/**
 * The one TensorFlow.js namespace kennis uses. Everything imports `tf` from here (or from
 * '@tensorflow/tfjs' directly, which is the same module instance), so that ops, variables and the
 * backend chosen by selectBackend() all live in one engine.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };

/** The type of the tf namespace, for APIs that hand it out. */
export type Tf = typeof tf;
