import type { TensorSignature } from '../../core/onnx/types.js';
import type { Dataset } from '../../data/index.js';
import { TeacherError } from '../../core/errors/index.js';
import { bindInputs, type InputBinding, type InputMapping } from '../../core/runtime/index.js';

/**
 * How eval feeds a model from a dataset: inputs named after a column take it, `attention_mask`
 * without a column is all ones, and `image` or the model's only float input takes the dataset's
 * first input column (not the label or `row`), e.g. mnist `image` into a student's `pixels`.
 */
export function evalBindings(label: string, inputs: readonly TensorSignature[], dataset: Dataset): InputBinding[] {
  const names = dataset.schema.fields.map((f) => f.name);
  const columns = names.filter((n) => n !== 'row' && n !== dataset.labelColumn);
  const floats = inputs.filter((i) => i.type === 'float32');
  const mapping: InputMapping = {};
  for (const input of inputs) {
    if (names.includes(input.name) || input.name === 'attention_mask') continue;
    const first = columns[0];
    if (first !== undefined && (input.name === 'image' || (input.type === 'float32' && floats.length === 1))) {
      mapping[input.name] = { column: first };
      continue;
    }
    throw new TeacherError(`model '${label}' input '${input.name}' (${input.type}) has no dataset column; eval feeds inputs named after columns (${columns.join(', ')}), attention_mask as ones, and a single float input from '${first}'`);
  }
  return bindInputs(inputs, dataset.schema, mapping, true);
}
