import { RecipeError } from '../core/errors/index.js';
import type { DatasetSpec, Split } from '../data/index.js';
import type { LoadedRecipe } from './load.js';
import { resolveFrom } from './load.js';

/** The dataset spec a recipe's `dataset` section describes, optionally for another split. */
export function datasetSpecOf(loaded: LoadedRecipe, split?: Split): DatasetSpec {
  const d = loaded.recipe.dataset;
  const s = split ?? d.split;
  const limit = d.limit !== undefined ? { limit: d.limit } : {};
  if (d.name === 'mnist') return { name: 'mnist', split: s, ...limit };
  if (d.name === 'moby-dick' || d.name === 'sotu') {
    if (d.seq_len === undefined) throw new RecipeError(`dataset '${d.name}' needs dataset.seq_len (tokens per window), e.g. dataset.seq_len=128`);
    return { name: d.name, split: s, seqLen: d.seq_len, ...(d.stride ? { stride: d.stride } : {}), ...limit };
  }
  if (d.name === 'file') {
    if (!d.path) throw new RecipeError(`dataset 'file' needs dataset.path (a .parquet, .arrow or .jsonl file)`);
    return {
      name: 'file', path: resolveFrom(loaded, d.path), split: s,
      ...(d.format ? { format: d.format } : {}),
      ...(d.columns ? { columns: d.columns } : {}),
      ...(d.label ? { label: d.label } : {}),
      ...(d.split_column ? { splitColumn: d.split_column } : {}),
      ...(d.dtypes ? { dtypes: d.dtypes } : {}),
      ...(d.num_classes ? { numClasses: d.num_classes } : {}),
      ...(d.seq_len ? { seqLen: d.seq_len } : {}),
      ...limit,
    };
  }
  throw new RecipeError(`dataset.name '${d.name}' is not a built-in; use mnist, moby-dick, sotu, or file with dataset.path`);
}
