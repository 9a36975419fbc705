import { GraphBuilder } from '../../core/onnx/index.js';
import { validateSpec, type StudentSpec, type WeightMap } from '../../train/students/index.js';
import { VERSION } from '../../core/version.js';
import { checkWeights, cnnGraph, gptGraph, initializerWeights, mlpGraph } from '../../train/students/onnx/index.js';

/** Options of exportStudentToOnnx. */
export interface ExportOptions {
  /** Name of the float input of mlp/cnn students, normally the cache column they read (default 'image'); gpt always takes input_ids and attention_mask. */
  inputName?: string;
}

/** Default-domain opset of exported students: 17 has LayerNormalization and runs on onnxruntime >= 1.14. */
export const EXPORT_OPSET = 17;

/**
 * The student as ONNX model bytes, initializers named by kennis weight name (conv kernels stored
 * OIHW). Dynamic batch. mlp/cnn: `<inputName>` float32 [N, features] -> `logits` [N, classes];
 * gpt: `input_ids`, `attention_mask` int64 [batch, sequence] -> `logits` float32 [batch, sequence, vocab].
 */
export function exportStudentToOnnx(spec: StudentSpec, weights: WeightMap, opts: ExportOptions = {}): Uint8Array {
  validateSpec(spec);
  checkWeights(spec, weights);
  const w = initializerWeights(weights);
  const g = new GraphBuilder({ name: `kennis_${spec.arch}_student`, opset: EXPORT_OPSET });
  if (spec.arch === 'gpt') {
    const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
    const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
    g.output('logits', 'float32', ['batch', 'sequence', spec.vocab], gptGraph(g, spec, w, ids, mask));
  } else {
    const features = spec.arch === 'mlp' ? spec.inputs : spec.inputShape[0] * spec.inputShape[1] * spec.inputShape[2];
    const x = g.input(opts.inputName ?? 'image', 'float32', ['N', features]);
    const logits = spec.arch === 'mlp' ? mlpGraph(g, spec, w, x) : cnnGraph(g, spec, w, x);
    g.output('logits', 'float32', ['N', spec.classes], logits);
  }
  const model = g.toModel();
  model.producerVersion = VERSION;
  // the spec travels with the file, so an exported student can be traced back to its architecture
  model.metadataProps = [{ key: 'kennis.student_spec', value: JSON.stringify(spec) }];
  return g.toBytes();
}
