import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { mlpClassifier } from '/work/main/test/fixtures/teachers.ts';
import { openDataset } from '/work/main/src/datasets/index.ts';
import { appendSoftTargetHead } from '/work/main/src/onnx/index.ts';
import { encodeShard } from '/work/main/src/cache/index.ts';
import { targetColumns } from '/work/main/src/targets/index.ts';
import { flatValues } from '/work/main/src/util/arrow.ts';
import { Table } from 'apache-arrow';
const t = mlpClassifier({ seed: 3, hidden: [1200, 1200] });
writeFileSync('/tmp/kp/mnist1200.onnx', t.bytes);
const kind = (process.argv[2] ?? 'full') as 'full'|'topk';
const head = appendSoftTargetHead(t.bytes, { kind, output: 'logits', ...(kind==='topk'?{k:4}:{}) });
const s = await ort.InferenceSession.create(head, { graphOptimizationLevel: 'all' });
const ds = await openDataset({ name: 'mnist', split: 'train' });
const bs = 500;
let tRead = 0, tRun = 0, tCols = 0, tEnc = 0;
const parts: any[] = [];
let t0 = performance.now();
for await (const b of ds.batches({ batchSize: bs })) {
  let a = performance.now(); tRead += a - t0;
  const x = flatValues(b.getChild('image')!) as Float32Array;
  const out = await s.run({ image: new ort.Tensor('float32', x, [b.numRows, 784]) });
  let c = performance.now(); tRun += c - a;
  const plain: any = {}; for (const [k, v] of Object.entries(out)) plain[k] = { type: v.type, data: v.data, dims: v.dims };
  const cols = targetColumns({ kind, vocab: 10, valueDtype: 'float32', idDtype: 'uint8', ...(kind==='topk'?{k:4}:{}) }, plain, flatValues(b.getChild('row')!) as Int32Array);
  parts.push({ image: b.getChild('image'), label: b.getChild('label'), row: b.getChild('row'), ...cols });
  t0 = performance.now(); tCols += t0 - c;
}
let a = performance.now();
for (let i = 0; i < parts.length; i += 4) {
  const chunk = parts.slice(i, i + 4);
  const m: any = {}; for (const n of Object.keys(chunk[0])) m[n] = chunk.slice(1).reduce((acc: any, p: any) => acc.concat(p[n]), chunk[0][n]);
  const bytes = encodeShard(new Table(m), (process.argv[3] ?? 'parquet') as any);
}
tEnc = performance.now() - a;
console.log({ tRead, tRun, tCols, tEnc });
