import { resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { z } from 'zod';
import { RecipeError } from '../core/errors/index.js';
import { readRegularFileSync } from '../core/util/fs.js';
import { checkKeyPath } from './keys.js';
import { recipeSchema, type Recipe } from './schema.js';

/** A validated recipe with where it came from. */
export interface LoadedRecipe {
  /** The validated recipe with defaults filled in. */
  recipe: Recipe;
  /** Directory relative paths in the recipe resolve against (the working directory, as for overrides typed at the shell). */
  baseDir: string;
  /** The recipe file, or undefined for recipes built in code. */
  file?: string;
}

type Plain = Record<string, unknown>;

/** Applies torchtune-style `a.b.c=value` overrides; values are parsed as YAML. */
export function applyOverrides(raw: Plain, overrides: readonly string[]): Plain {
  const out = structuredClone(raw);
  for (const item of overrides) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new RecipeError(`override '${item}' is not key.path=value; write e.g. targets.k=16`);
    const path = item.slice(0, eq).split('.');
    if (path.some((p) => p === '')) throw new RecipeError(`override '${item}' has an empty key segment; write e.g. targets.k=16`);
    const bad = checkKeyPath(recipeSchema, path);
    if (bad) throw unknownKey([...(bad.at ? bad.at.split('.') : []), bad.bad].join('.'), bad.at, bad.valid);
    let value: unknown;
    try {
      value = parseYaml(item.slice(eq + 1));
    } catch (e) {
      throw new RecipeError(`override '${item}': value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
    let node: Plain = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined || next === null) node[key] = {};
      else if (typeof next !== 'object') throw new RecipeError(`override '${item}': '${key}' holds a value, not a section`);
      node = node[key] as Plain;
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

function unknownKey(key: string, at: string, valid: string[]): RecipeError {
  const where = at ? `under '${at}'` : 'at the top level';
  return new RecipeError(`unknown recipe key '${key}'; valid keys ${where}: ${valid.join(', ') || '(none)'}`);
}

/** Validates a plain object as a recipe, turning the first schema issue into one clear line. */
export function validateRecipe(raw: unknown): Recipe {
  const result = recipeSchema.safeParse(raw);
  if (result.success) return result.data;
  throw issueToError(result.error.issues[0]!, raw);
}

function issueToError(issue: z.core.$ZodIssue, raw: unknown): RecipeError {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const at = issue.path.map(String);
    const bad = checkKeyPath(recipeSchema, [...at, issue.keys[0]!]);
    return unknownKey([...at, issue.keys[0]].join('.'), at.join('.'), bad?.valid ?? []);
  }
  let got: unknown = raw;
  for (const p of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
  if (got === undefined) return new RecipeError(`recipe key '${key}' is missing; ${issue.message.replace(/^Invalid input: /, '')}`);
  return new RecipeError(`recipe key '${key}': ${issue.message.replace(/^Invalid input: /, '')}, got ${JSON.stringify(got)}`);
}

/** Reads a YAML recipe file, applies overrides and validates it. */
export function loadRecipe(file: string, overrides: readonly string[] = []): LoadedRecipe {
  const text = readRegularFileSync(file, (why) => new RecipeError(`recipe '${file}' ${why}; pass the path of a YAML recipe such as recipes/mnist.yaml`)).toString('utf8');
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new RecipeError(`recipe '${file}' is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RecipeError(`recipe '${file}' must be a YAML mapping with keys teacher, dataset, ...; got ${Array.isArray(raw) ? 'a list' : typeof raw}`);
  }
  const recipe = validateRecipe(applyOverrides(raw as Plain, overrides));
  return { recipe, baseDir: process.cwd(), file: resolve(file) };
}

/** The recipe as YAML, for saving next to caches and runs. */
export function recipeToYaml(recipe: Recipe): string {
  return stringifyYaml(recipe);
}

/** Resolves a path from the recipe against its directory. */
export function resolveFrom(loaded: LoadedRecipe, path: string): string {
  return resolve(loaded.baseDir, path);
}
