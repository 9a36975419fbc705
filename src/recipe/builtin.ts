import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { RecipeError } from '../core/errors/index.js';
import { writeFileAtomic } from '../core/util/fs.js';

/** A recipe that ships with kennis. */
export interface BuiltinRecipe {
  /** Name to pass to `kennis recipes cp` (the file name without .yaml). */
  name: string;
  /** Absolute path of the file. */
  file: string;
  /** Its first comment line. */
  description: string;
}

/** The package's own directory (holds recipes/ and data/teachers/), from src/ or the compiled dist/src/. */
export function packageRoot(): string {
  for (const up of ['../..', '../../..']) {
    const dir = fileURLToPath(new URL(`${up}/`, import.meta.url));
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'recipes'))) return dir;
  }
  throw new RecipeError('the built-in recipes directory is missing from this kennis installation; reinstall the package');
}

/** The built-in recipes, by name. */
export function listRecipes(): BuiltinRecipe[] {
  const dir = join(packageRoot(), 'recipes');
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => {
    const file = join(dir, f);
    const first = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('#')) ?? '';
    return { name: basename(f, '.yaml'), file, description: first.replace(/^#\s*/, '') };
  });
}

/**
 * Copies built-in recipe `name` to `dest` to edit, with its comments. A relative teacher path that
 * does not exist from the working directory is made absolute into the package (the committed
 * teachers), so the copy runs from anywhere. Refuses to replace an existing file.
 */
export async function copyRecipe(name: string, dest: string): Promise<{ file: string; teacherPath: string }> {
  const recipe = listRecipes().find((r) => r.name === name);
  if (!recipe) throw new RecipeError(`no built-in recipe '${name}'; the built-ins are ${listRecipes().map((r) => r.name).join(', ')} (kennis recipes lists them)`);
  const file = resolve(dest);
  if (existsSync(file)) throw new RecipeError(`${file} exists; choose another file name or delete it first`);
  const doc = parseDocument(readFileSync(recipe.file, 'utf8'));
  let teacherPath = String(doc.getIn(['teacher', 'path']));
  if (!isAbsolute(teacherPath) && !existsSync(resolve(teacherPath))) {
    teacherPath = join(packageRoot(), teacherPath);
    doc.setIn(['teacher', 'path'], teacherPath);
  }
  await writeFileAtomic(file, doc.toString());
  return { file, teacherPath };
}
