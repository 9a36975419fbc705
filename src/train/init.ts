import { readFileSync } from 'node:fs';
import { TeacherError } from '../core/errors/index.js';
import { resolveFrom, type LoadedRecipe } from '../recipe/index.js';
import { fullRankSpec, teacherDenseLayers, teacherSvdWeights, type StudentSpec, type WeightMap } from './students/index.js';

/**
 * The weights a run starts from when the recipe asks for more than a seeded random init:
 * `student.init: teacher_svd` reads the teacher's dense layers from its ONNX file (initializers
 * only; the teacher is not run) and returns the truncated-SVD weights of `spec`, the student
 * studentSpecFor built. Undefined for `init: random`.
 */
export function initialStudentWeights(loaded: LoadedRecipe, spec: StudentSpec): WeightMap | undefined {
  const section = loaded.recipe.student;
  if (section?.init !== 'teacher_svd' || spec.arch !== 'mlp' || section.rank === undefined) return undefined;
  const path = resolveFrom(loaded, loaded.recipe.teacher.path);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new TeacherError(`teacher '${path}' cannot be read for student.init teacher_svd (${(e as NodeJS.ErrnoException).code ?? String(e)}); set teacher.path to the .onnx file`);
  }
  return teacherSvdWeights(fullRankSpec(spec), section.rank, teacherDenseLayers(bytes, path), path).weights;
}
