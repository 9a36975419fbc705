import { GraphBuilder, type ModelProto } from '../../../core/onnx/index.js';
import { VERSION } from '../../../core/version.js';
import { validateSpec, type StudentSpec, type WeightMap } from '../index.js';
import { cnnGraph, mlpGraph } from './classifiers.js';
import { gptGraph } from './gpt.js';
import { checkWeights, initializerWeights } from './weights.js';

/** Options of studentModel. */
export interface StudentModelOptions {
  /** Name of the float input of mlp/cnn students, normally the cache column they read (default 'image'); gpt always takes input_ids and attention_mask. */
  inputName?: string;
}

/** Default-domain opset of student models: 17 has LayerNormalization and runs on onnxruntime >= 1.14. */
export const STUDENT_OPSET = 17;

/**
 * The student's inference graph as an ONNX model, initializers named by kennis weight name (conv
 * kernels stored OIHW). Dynamic batch. mlp/cnn: `<inputName>` float32 [N, features] -> `logits`
 * [N, classes]; gpt: `input_ids`, `attention_mask` int64 [batch, sequence] -> `logits` float32
 * [batch, sequence, vocab]. Export writes it; TensorBoard draws it.
 */
export function studentModel(spec: StudentSpec, weights: WeightMap, opts: StudentModelOptions = {}): ModelProto {
  validateSpec(spec);
  checkWeights(spec, weights);
  const w = initializerWeights(weights);
  const g = new GraphBuilder({ name: `kennis_${spec.arch}_student`, opset: STUDENT_OPSET });
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
  return model;
}
