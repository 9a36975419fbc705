import { RecipeError } from '../core/errors/index.js';

/** One axis of a sweep: a recipe key and the override values it takes (as written, YAML). */
export interface GridAxis {
  key: string;
  values: string[];
}

/** One cell of a sweep: its name and the overrides that make it. */
export interface GridCell {
  name: string;
  overrides: string[];
  /** The cell's seed, when the sweep has seeds. */
  seed?: number;
}

/** Splits at commas outside brackets and quotes, so `[800,800],[400,400]` is two values. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0, quote = '', start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) { if (c === quote) quote = ''; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) { parts.push(text.slice(start, i)); start = i + 1; }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

/**
 * Reads sweep arguments: `key=v1,v2,...` is an axis, `key=v` a plain override for every cell.
 * A value list with an empty member (`alpha=0.5,`) is refused.
 */
export function parseGrid(args: readonly string[]): { axes: GridAxis[]; fixed: string[] } {
  const axes: GridAxis[] = [];
  const fixed: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new RecipeError(`sweep argument '${arg}' is not key.path=v1,v2,...; write e.g. distill.temperature=1,2,4`);
    const key = arg.slice(0, eq);
    const values = splitTopLevel(arg.slice(eq + 1));
    if (values.some((v) => v === '')) throw new RecipeError(`sweep argument '${arg}' has an empty value; write e.g. ${key}=1,2,4`);
    if (axes.some((a) => a.key === key)) throw new RecipeError(`sweep key '${key}' is given twice; put all its values in one argument, e.g. ${key}=1,2,4`);
    if (values.length === 1) fixed.push(arg);
    else axes.push({ key, values });
  }
  return { axes, fixed };
}

/** Every combination of the axes (the first axis varies slowest), times the seeds (when given). */
export function gridCells(axes: readonly GridAxis[], seeds: readonly number[] | undefined): GridCell[] {
  let cells: GridCell[] = [{ name: '', overrides: [] }];
  for (const axis of axes) {
    const short = axis.key.split('.').at(-1)!;
    cells = cells.flatMap((c) => axis.values.map((v) => ({
      name: `${c.name}${c.name ? ',' : ''}${short}=${v}`,
      overrides: [...c.overrides, `${axis.key}=${v}`],
    })));
  }
  if (seeds) {
    cells = cells.flatMap((c) => seeds.map((s) => ({
      name: `${c.name}${c.name ? ',' : ''}seed=${s}`,
      overrides: [...c.overrides, `student.seed=${s}`, `train.seed=${s}`],
      seed: s,
    })));
  }
  // names become directory names: keep them portable
  return cells.map((c) => ({ ...c, name: (c.name || 'recipe').replace(/[^\w.,=+-]/g, '_') }));
}
