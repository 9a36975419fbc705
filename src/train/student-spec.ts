import { CacheError, RecipeError } from '../core/errors/index.js';
import type { Manifest } from '../cache/index.js';
import type { StudentSection } from '../recipe/index.js';
import { lowRankSpec, paramDefs, sizeOf, type MlpSpec, type StudentSpec } from './students/index.js';

/** Column of the cache a student reads, and how many values a row holds. */
export interface StudentInput {
  /** Cache column the student reads. */
  column: string;
  /** Values per row of that column. */
  valuesPerRow: number;
}

/**
 * The student spec a recipe's `student` section describes, sized from the cache: inputs from
 * the stored input column, classes/vocabulary and sequence length from the target spec.
 */
export function studentSpecFor(section: StudentSection | undefined, manifest: Manifest, cacheDir: string): { spec: StudentSpec; input: StudentInput } {
  const sized = specFor(section, manifest, cacheDir);
  const parameters = paramDefs(sized.spec).reduce((n, d) => n + sizeOf(d.shape), 0);
  if (parameters > MAX_STUDENT_PARAMETERS) {
    throw new RecipeError(`the student section describes ${parameters.toLocaleString('en-US')} parameters, more than the ${MAX_STUDENT_PARAMETERS.toLocaleString('en-US')} kennis trains (weights, gradients and optimizer state take 16 bytes each); make the student smaller`);
  }
  return sized;
}

/** Most student parameters a run may allocate (16 bytes each with gradients and AdamW's two slots: 4 GB). */
export const MAX_STUDENT_PARAMETERS = 250_000_000;

/** The cache column a student reads (the first stored input column) and its values per row. */
export function studentInputOf(manifest: Manifest, cacheDir: string): StudentInput {
  const column = manifest.dataset.inputColumns[0];
  if (!column) throw new CacheError(`cache ${cacheDir} stores no student input column; rerun precompute with a dataset that has one`);
  const field = manifest.schema.find((f) => f.name === column)!;
  return { column, valuesPerRow: sizeOfType(field.type) };
}

function specFor(section: StudentSection | undefined, manifest: Manifest, cacheDir: string): { spec: StudentSpec; input: StudentInput } {
  if (!section) throw new RecipeError(`the recipe has no student section; add e.g. student: { arch: mlp, hidden: [800, 800] }`);
  const input = studentInputOf(manifest, cacheDir);
  const { column, valuesPerRow } = input;
  const { vocab, seqLen } = manifest.targets;
  if (section.arch !== 'mlp' && (section.rank !== undefined || section.init !== 'random')) {
    throw new RecipeError(`student.rank and student.init teacher_svd apply to mlp students, this one is ${section.arch}; remove them or use student.arch=mlp`);
  }
  switch (section.arch) {
    case 'mlp': {
      if (seqLen) throw new CacheError(`cache ${cacheDir} holds per-token targets (seq_len ${seqLen}); an mlp student needs classification targets, use student.arch=gpt`);
      const spec: MlpSpec = { arch: 'mlp', inputs: valuesPerRow, hidden: section.hidden, activation: section.activation, dropout: section.dropout, inputDropout: section.input_dropout, classes: vocab };
      if (section.init === 'teacher_svd' && section.rank === undefined) {
        throw new RecipeError(`student.init teacher_svd needs student.rank, the rank each teacher layer is truncated to; e.g. student.rank=64`);
      }
      return { spec: section.rank !== undefined ? lowRankSpec(spec, section.rank) : spec, input };
    }
    case 'cnn': {
      if (seqLen) throw new CacheError(`cache ${cacheDir} holds per-token targets; a cnn student needs classification targets`);
      const shape = section.input_shape ?? squareImage(valuesPerRow, column);
      if (shape[0]! * shape[1]! * shape[2]! !== valuesPerRow) {
        throw new RecipeError(`student.input_shape [${shape.join(',')}] holds ${shape[0]! * shape[1]! * shape[2]!} values, but cache column '${column}' has ${valuesPerRow} per row`);
      }
      return { spec: { arch: 'cnn', inputShape: shape as [number, number, number], conv: section.conv, dense: section.hidden, dropout: section.dropout, classes: vocab }, input };
    }
    case 'gpt':
      if (!seqLen) throw new CacheError(`cache ${cacheDir} holds classification targets; a gpt student needs per-token targets from a token-window dataset`);
      if (valuesPerRow !== seqLen) throw new CacheError(`cache column '${column}' has ${valuesPerRow} tokens per row, expected seq_len ${seqLen}`);
      return { spec: { arch: 'gpt', vocab, dModel: section.d_model, layers: section.layers, heads: section.heads, seqLen, dropout: section.dropout }, input };
    case 'onnx':
      throw new RecipeError(`student.arch onnx is a model file, not a kennis student spec; it trains through train() with student.path`);
  }
}

function squareImage(n: number, column: string): number[] {
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) throw new RecipeError(`column '${column}' has ${n} values per row, not a square image; set student.input_shape=[H,W,C]`);
  return [side, side, 1];
}

/** Values per row of a manifest type string such as `FixedSizeList[784]<Float32>`. */
export function sizeOfType(type: string): number {
  let n = 1;
  for (const m of type.matchAll(/FixedSizeList\[(\d+)\]/g)) n *= Number(m[1]);
  return n;
}
