import { TrainError } from '../../core/errors/index.js';
import type { GraphBuilder } from '../../core/onnx/index.js';
import { paramDefs, type StudentSpec, type WeightEntry, type WeightMap } from '../../train/students/index.js';

/**
 * Checks that `weights` holds exactly the parameters `spec` defines, with their shapes, so the
 * graph builders below can index them without further checks.
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

/** Adds weights[name] as an initializer under its kennis name (optionally transformed, e.g. HWIO -> OIHW). */
export function addWeight(g: GraphBuilder, weights: WeightMap, name: string, transform?: (w: WeightEntry) => WeightEntry): string {
  const w = transform ? transform(weights[name]!) : weights[name]!;
  return g.initializer(name, w.data, w.shape);
}
