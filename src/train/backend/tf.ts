/**
 * The one TensorFlow.js namespace kennis uses. Everything imports `tf` from here (or from
 * '@tensorflow/tfjs' directly, which is the same module instance), so that ops, variables and the
 * backend chosen by selectBackend() all live in one engine.
 */
import * as tf from '@tensorflow/tfjs';

// tfjs's console chatter (the cpu backend's "Hi, looks like you are running TensorFlow.js in
// Node.js" banner on its first tensor) would land in kennis's command output; in tfjs 4 the PROD
// flag gates only tfjs's own warn/log calls (tf.enableProdMode()), so nothing else changes.
tf.env().set('PROD', true);

export { tf };

/** The type of the tf namespace, for APIs that hand it out. */
export type Tf = typeof tf;
