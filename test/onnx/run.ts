/** Runs a model once in onnxruntime-node and releases the session. */
import * as ort from 'onnxruntime-node';

export interface RunResult {
  /** Output tensors by name. */
  outputs: Record<string, ort.Tensor>;
  /** Graph input names, as the session reports them. */
  inputNames: readonly string[];
  /** Graph output names, as the session reports them. */
  outputNames: readonly string[];
}

export async function runOnce(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<RunResult> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const outputs = await session.run(feeds);
    return { outputs, inputNames: session.inputNames, outputNames: session.outputNames };
  } finally {
    await session.release();
  }
}

/** int64 tensor from numbers. */
export function int64Tensor(values: readonly number[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

/** float32 tensor. */
export function floatTensor(values: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}

export { ort };
