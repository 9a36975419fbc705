// Shared helpers for the export tests (not a test file itself).
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { buildStudent, paramDefs, type StudentSpec, type WeightMap } from '../../src/train/students/index.js';
import { Rng } from '../../src/core/util/index.js';

/**
 * Seeded random weights for every parameter of `spec`: kernels N(0, 1/fanIn), tables N(0, 0.5²),
 * biases and LayerNorm betas N(0, 0.1²), gammas 1 + N(0, 0.1²), so no parameter sits at its
 * trivial initial value (zeros/ones would hide a wrong bias or scale wiring).
 */
export function randomWeights(spec: StudentSpec, seed: number): WeightMap {
  const rng = new Rng(seed);
  const out: WeightMap = {};
  for (const d of paramDefs(spec)) {
    const n = d.shape.reduce((a, b) => a * b, 1);
    const fanIn = d.shape.length > 1 ? d.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 0;
    const std = d.name.endsWith('/table') ? 0.5 : fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0.1;
    const offset = d.name.endsWith('/gamma') ? 1 : 0;
    out[d.name] = { shape: [...d.shape], data: Float32Array.from({ length: n }, () => offset + rng.normal() * std) };
  }
  return out;
}

/** The tfjs student's eval-mode logits for `x` with `weights` (current backend). */
export function studentLogits(spec: StudentSpec, weights: WeightMap, x: tf.Tensor): Float32Array {
  const st = buildStudent(spec);
  try {
    st.setWeights(weights);
    return tf.tidy(() => Float32Array.from(st.forward(st.params, x, { training: false }).dataSync()));
  } finally {
    st.dispose();
  }
}

/** One onnxruntime run of model bytes; returns the `logits` output. */
export async function onnxLogits(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<{ data: Float32Array; dims: readonly number[]; inputNames: readonly string[] }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = (await session.run(feeds)).logits!;
    return { data: out.data as Float32Array, dims: out.dims, inputNames: session.inputNames };
  } finally {
    await session.release();
  }
}

export { ort };
