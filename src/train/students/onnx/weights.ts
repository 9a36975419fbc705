import { TrainError } from '../../../core/errors/index.js';
import { hwioToOihw, transpose, type GraphBuilder } from '../../../core/onnx/index.js';
import { paramDefs } from '../student.js';
import type { StudentSpec } from '../spec.js';
import type { WeightMap } from '../params.js';

/** Layout a graph builder wants a weight in: kennis's own, or a conv kernel as ONNX OIHW. */
export type WeightLayout = 'kennis' | 'oihw';

/**
 * Where a student graph reads its weights: initializers holding fixed values (export, inference)
 * or graph inputs fed at every run (training, so the same graph serves every step).
 */
export interface WeightSource {
  /** The value holding weight `name` in `layout` (default kennis). */
  weight(g: GraphBuilder, name: string, layout?: WeightLayout): string;
}

/**
 * Checks that `weights` holds exactly the parameters `spec` defines, with their shapes, so the
 * graph builders can index them without further checks.
 */
export function checkWeights(spec: StudentSpec, weights: WeightMap): void {
  const defs = paramDefs(spec);
  const known = new Set(defs.map((d) => d.name));
  const extra = Object.keys(weights).find((k) => !known.has(k));
  if (extra !== undefined) throw new TrainError(`weights have parameter '${extra}', which a ${spec.arch} student of this spec does not define; export weights saved with the same spec`);
  for (const d of defs) {
    const w = weights[d.name];
    if (w === undefined) throw new TrainError(`weights lack parameter '${d.name}' of the ${spec.arch} student; export weights saved with the same spec`);
    const size = d.shape.reduce((a, b) => a * b, 1);
    if (w.shape.length !== d.shape.length || w.shape.some((n, i) => n !== d.shape[i]) || w.data.length !== size) {
      throw new TrainError(`weight '${d.name}' expected shape [${d.shape}], got [${w.shape}] with ${w.data.length} values; export weights saved with the same spec`);
    }
  }
}

/** Weights as initializers under their kennis names (conv kernels converted to OIHW on the host). */
export function initializerWeights(weights: WeightMap): WeightSource {
  return {
    weight(g, name, layout = 'kennis') {
      const w = weights[name]!;
      if (layout === 'kennis') return g.initializer(name, w.data, w.shape);
      const o = hwioToOihw({ data: w.data, dims: w.shape });
      return g.initializer(name, o.data, o.dims);
    },
  };
}

/**
 * Weights as float32 graph inputs under their kennis names, declared on first use (in kennis
 * layout, so the fed buffers are the checkpoint's; an OIHW kernel is a Transpose in the graph).
 */
export function inputWeights(shapes: Readonly<Record<string, readonly number[]>>): WeightSource {
  const oihw = new Map<string, string>();
  return {
    weight(g, name, layout = 'kennis') {
      if (!g.has(name)) g.input(name, 'float32', [...shapes[name]!]);
      if (layout === 'kennis') return name;
      let t = oihw.get(name);
      if (t === undefined) oihw.set(name, (t = transpose(g, name, [3, 2, 0, 1])));
      return t;
    },
  };
}
