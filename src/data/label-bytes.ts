import type { DatasetTokenizer } from './dataset.js';
import { loadTokenizer } from './tokenizer.js';

/** Sums the UTF-8 bytes of text a batch of next-token labels covers. */
export type LabelByteCounter = (labels: ArrayLike<number | bigint>) => number;

/**
 * The byte counter of a token dataset's vocabulary, the denominator of bits per byte: one byte
 * per label for byte-level text, the tokenizer's bytes per id (TextTokenizer.tokenBytes) for
 * tokenized text; negative labels (IGNORE_LABEL padding) count nothing. Undefined for data that
 * is not text. SentencePiece tokenizers count one more byte per document than its text has
 * (the space they prepend to it), so the bytes of whole documents are 1 per document high.
 */
export function labelByteCounter(tokenizer: DatasetTokenizer | undefined, baseDir?: string): LabelByteCounter | undefined {
  if (tokenizer === undefined) return undefined;
  if (tokenizer.name === 'bytes') {
    return (labels) => {
      let n = 0;
      for (let i = 0; i < labels.length; i++) if (Number(labels[i]!) >= 0) n++;
      return n;
    };
  }
  const table = loadTokenizer(tokenizer.name, baseDir).tokenBytes();
  return (labels) => {
    let n = 0;
    for (let i = 0; i < labels.length; i++) {
      const y = Number(labels[i]!);
      if (y >= 0) n += table[y] ?? 0;
    }
    return n;
  };
}
