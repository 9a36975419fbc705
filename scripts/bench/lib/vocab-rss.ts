/**
 * Peak RSS of one precompute in a fresh process (test/precompute/fixtures/rss-precompute.ts) at a
 * given vocabulary and window length, over a token dataset that fits that vocabulary.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../../../src/core/util/rng.js';
import { sequenceModel } from '../../../test/fixtures/teachers.js';

/** One measured precompute. */
export interface VocabRss {
  vocab: number;
  seqLen: number;
  rows: number;
  kind: 'topk' | 'sampled';
  /** What fed the teacher: a tokenizer package or random ids. */
  dataset: string;
  maxRssBytes: number;
  /** What the rows' full float32 logits would take. */
  fullLogitsBytes: number;
  seconds: number;
}

/** A JSONL file of `rows` windows of seqLen + 1 seeded random ids below `vocab` (input_ids, labels). */
export function writeRandomIds(file: string, rows: number, seqLen: number, vocab: number, seed = 3): void {
  const rng = new Rng(seed);
  const stream = Array.from({ length: rows * seqLen + 1 }, () => rng.int(vocab));
  writeFileSync(file, Array.from({ length: rows }, (_, r) => JSON.stringify({
    input_ids: stream.slice(r * seqLen, (r + 1) * seqLen), labels: stream.slice(r * seqLen + 1, (r + 1) * seqLen + 1),
  })).join('\n'));
}

/**
 * Runs top-k (k=8, float16) or sampled (32 draws) precompute at batch size 1 over `rows` windows of
 * `seqLen` tokens with a one-block teacher (width 16 unless `dModel`) of `vocab` outputs. `tokenizer` tokenizes
 * moby-dick with that package (dataset.vocab_size = vocab); without it the rows are random ids.
 */
export function measureVocabRss(root: string, o: { vocab: number; seqLen: number; rows: number; kind: 'topk' | 'sampled'; tokenizer?: string; dModel?: number }): VocabRss {
  const name = `v${o.vocab}-t${o.seqLen}`;
  const teacher = path.join(root, `${name}.onnx`);
  writeFileSync(teacher, sequenceModel({ vocab: o.vocab, dModel: o.dModel ?? 16, seed: 3, maxSeq: o.seqLen, layers: 1, heads: 2 }).bytes);
  const cacheDir = path.join(root, `${name}-cache`);
  rmSync(cacheDir, { recursive: true, force: true });
  let dataset: Record<string, unknown>;
  if (o.tokenizer) {
    dataset = { name: 'moby-dick', split: 'train', seq_len: o.seqLen, limit: o.rows, tokenizer: o.tokenizer, vocab_size: o.vocab };
  } else {
    writeRandomIds(path.join(root, `${name}.jsonl`), o.rows, o.seqLen, o.vocab);
    dataset = { name: 'file', path: `${name}.jsonl`, label: 'labels', dtypes: { input_ids: 'int32', labels: 'int32' } };
  }
  const recipe = path.join(root, `${name}.yaml`);
  writeFileSync(recipe, JSON.stringify({
    teacher: { path: `${name}.onnx`, batch_size: 1 }, dataset,
    targets: o.kind === 'topk' ? { kind: 'topk', k: 8, dtype: 'float16' } : { kind: 'sampled', samples: 32 },
    cache: { dir: `${name}-cache`, shard_rows: 2 },
  }));
  const out = execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), path.resolve('test/precompute/fixtures/rss-precompute.ts'), recipe], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { summary: { seconds: number; rows: number }; maxRssBytes: number };
  rmSync(cacheDir, { recursive: true, force: true });
  return {
    vocab: o.vocab, seqLen: o.seqLen, rows: r.summary.rows, kind: o.kind, dataset: o.tokenizer ?? 'random ids',
    maxRssBytes: r.maxRssBytes, fullLogitsBytes: r.summary.rows * o.seqLen * o.vocab * 4, seconds: r.summary.seconds,
  };
}
