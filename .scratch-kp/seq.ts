import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { precompute } from '../src/precompute/index.js';
import { validateRecipe } from '../src/recipe/index.js';
import { sequenceModel } from '../test/fixtures/teachers.js';
const fmt = process.argv[2] ?? 'parquet';
mkdirSync('/tmp/kp/b', { recursive: true });
writeFileSync('/tmp/kp/b/seq.onnx', sequenceModel({ vocab: 256, dModel: 128, layers: 2, heads: 4, maxSeq: 128, seed: 2 }).bytes);
for (let i = 0; i < 2; i++) {
  rmSync('/tmp/kp/b/c', { recursive: true, force: true });
  const t0 = performance.now();
  const s = await precompute({ baseDir: '/tmp/kp/b', recipe: validateRecipe({ teacher: { path: 'seq.onnx', batch_size: 16, threads: Number(process.env.TH ?? 0) }, dataset: { name: 'moby-dick', seq_len: 128, limit: 512 }, targets: { kind: 'topk', k: 32, dtype: 'float16' }, cache: { dir: 'c', shard_rows: 256, format: fmt, concurrency: Number(process.env.CC ?? 2) } }) });
  console.log((performance.now() - t0).toFixed(0), 'ms', s.seconds);
}
