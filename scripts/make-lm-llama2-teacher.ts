/**
 * Makes the teacher of the 32k-token LM demo with kennis's own stages: a gpt trained on hard labels
 * (distill.alpha=0) of moby-dick tokenized with the Llama 2 tokenizer (recipes/lm-llama2-teacher.yaml),
 * exported to ONNX (input_ids, attention_mask int64 [batch, sequence] -> logits [batch, sequence, 32000])
 * and scored with `kennis eval` on the validation and test splits in bits per byte.
 *
 * kennis trains from a cache, and a cache needs a teacher: a tiny random gpt (d_model 8) fills it
 * with top-1 targets that the alpha = 0 loss never reads, so only the token windows matter.
 *
 *   npx tsx scripts/make-lm-llama2-teacher.ts [--recipe recipes/lm-llama2-teacher.yaml] [--out data/teachers/lm-llama2-teacher.onnx] [--set key=value ...]
 *   npx tsx scripts/make-lm-llama2-teacher.ts --from-run runs/lm-llama2/teacher   # export + eval a finished training run
 *
 * Writes the model and, beside it, a .json with its sha256, bits per byte, parameters, seconds and this command.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../src/data/index.js';
import { exportStudentToOnnx } from '../src/evaluate/export/index.js';
import { runStage } from '../src/experiment/index.js';
import { datasetSpecOf, loadRecipe } from '../src/recipe/index.js';
import { buildStudent, type GptSpec } from '../src/train/students/index.js';
import type { TrainSummary } from '../src/train/index.js';

const { values: args } = parseArgs({
  options: {
    recipe: { type: 'string', default: 'recipes/lm-llama2-teacher.yaml' },
    out: { type: 'string', default: 'data/teachers/lm-llama2-teacher.onnx' },
    /** Overrides of the teacher recipe, e.g. --set train.max_steps=20. */
    set: { type: 'string', multiple: true, default: [] },
    /** Skip steps 1-3: export and score this finished run of the recipe (`kennis train --json` summary beside it as train-summary.json, if any). */
    'from-run': { type: 'string' },
  },
});
const log = (m: string) => process.stderr.write(`make-lm-llama2-teacher: ${m}\n`);
const started = performance.now();
const loaded = loadRecipe(args.recipe!, args.set!);
const { recipe } = loaded;
const overrides = args.set!;

/** 1-3: bootstrap model, cache of the token windows, training; returns the run's summary. */
async function trainTeacher(): Promise<TrainSummary> {
  // 1. the bootstrap model that fills the cache (its targets are ignored at alpha 0)
  const vocab = recipe.dataset.vocab_size ?? loadTokenizer(recipe.dataset.tokenizer!).vocabSize;
  const bootstrap = resolve(loaded.baseDir, recipe.teacher.path);
  const spec: GptSpec = { arch: 'gpt', vocab, dModel: 8, layers: 1, heads: 1, seqLen: recipe.dataset.seq_len!, dropout: 0 };
  const tiny = buildStudent(spec, { seed: 0 });
  mkdirSync(dirname(bootstrap), { recursive: true });
  writeFileSync(bootstrap, exportStudentToOnnx(spec, tiny.getWeights()));
  tiny.dispose();
  if (recipe.distill.alpha !== 0) throw new Error(`${args.recipe} must train on hard labels only (distill.alpha=0), not ${recipe.distill.alpha}`);

  // 2. the token windows of the train and validation splits, 3. training, 4. export
  for (const split of ['train', 'validation']) await runStage(`precompute ${split}`, { stage: 'precompute', recipe: args.recipe!, overrides: [...overrides, `dataset.split=${split}`] });
  const summary = await runStage('train teacher', { stage: 'train', recipe: args.recipe!, overrides, overwrite: true });
  writeFileSync(join(summary.outputDir, 'train-summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

const trained: Partial<TrainSummary> & { outputDir: string } = args['from-run']
  ? { outputDir: resolve(args['from-run']), ...(existsSync(join(args['from-run'], 'train-summary.json')) ? JSON.parse(readFileSync(join(args['from-run'], 'train-summary.json'), 'utf8')) as TrainSummary : {}) }
  : await trainTeacher();
const exported = await runStage('export teacher', { stage: 'export', run: trained.outputDir });
const out = resolve(args.out!);
mkdirSync(dirname(out), { recursive: true });
copyFileSync(exported.file, out);

// 5. held-out bits per byte (eval counts the decoded bytes of the scored tokens)
const ds = recipe.dataset;
const scores: Record<string, { bitsPerByte: number; bitsPerToken: number; positions: number }> = {};
for (const split of ['validation', 'test'] as const) {
  const report = await runStage(`eval ${split}`, {
    stage: 'eval', models: [out],
    options: { dataset: datasetSpecOf(loaded, split), repeats: 1 },
  });
  const m = report.models[0]!;
  scores[split] = { bitsPerByte: m.bitsPerByte!, bitsPerToken: m.bitsPerToken!, positions: report.positions };
  log(`${split}: ${m.bitsPerByte!.toFixed(4)} bits/byte, ${m.bitsPerToken!.toFixed(4)} bits/token over ${report.positions} tokens`);
}

const bytes = readFileSync(out);
const info = {
  file: args.out, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, parameters: exported.parameters,
  recipe: args.recipe, overrides, dataset: { name: ds.name, tokenizer: ds.tokenizer, seqLen: ds.seq_len },
  student: recipe.student, training: { steps: trained.steps, tokens: trained.tokens, backend: trained.backend, seconds: trained.seconds && Math.round(trained.seconds), validation: trained.finalEval },
  validationBitsPerByte: scores.validation!.bitsPerByte, testBitsPerByte: scores.test!.bitsPerByte, scores,
  seconds: Math.round((performance.now() - started) / 1000),
  command: `npx tsx scripts/make-lm-llama2-teacher.ts --recipe ${args.recipe} --out ${args.out}${overrides.map((s) => ` --set ${s}`).join('')}${args['from-run'] ? ` --from-run ${args['from-run']}` : ''}`,
  run: trained.outputDir,
};
writeFileSync(out.replace(/\.onnx$/, '.json'), JSON.stringify(info, null, 2) + '\n');
console.log(JSON.stringify(info));
