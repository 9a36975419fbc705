import { readFileSync } from 'node:fs';
import { Table } from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { encodeShard } from '../src/cache/index.js';
import { openDataset } from '../src/datasets/index.js';
import { appendSoftTargetHead } from '../src/onnx/index.js';
import { targetColumns } from '../src/targets/index.js';
import { flatValues } from '../src/util/arrow.js';
import { sha256Bytes } from '../src/util/fs.js';
const head = appendSoftTargetHead(readFileSync('/tmp/kp/b/seq.onnx'), { kind: 'topk', output: 'logits', k: 32 });
const ds = await openDataset({ name: 'moby-dick', split: 'train', seqLen: 128, limit: 256 });
for (const th of [1, 2]) {
const s = await ort.InferenceSession.create(head, { graphOptimizationLevel: 'all', intraOpNumThreads: th });
const spec = { kind: 'topk', vocab: 256, seqLen: 128, valueDtype: 'float16', idDtype: 'uint8', k: 32 } as const;
for (let rep = 0; rep < 3; rep++) {
  let run = 0, cols = 0; const parts: any[] = [];
  for await (const b of ds.batches({ batchSize: 16 })) {
    const ids = flatValues(b.getChild('input_ids')!) as Int32Array;
    const big = new BigInt64Array(ids.length); for (let i = 0; i < ids.length; i++) big[i] = BigInt(ids[i]!);
    const t0 = performance.now();
    const out = await s.run({ input_ids: new ort.Tensor('int64', big, [b.numRows, 128]), attention_mask: new ort.Tensor('int64', new BigInt64Array(big.length).fill(1n), [b.numRows, 128]) });
    const t1 = performance.now(); run += t1 - t0;
    const plain: any = {}; for (const [k, v] of Object.entries(out)) plain[k] = { type: v.type, data: v.data, dims: v.dims };
    parts.push({ input_ids: b.getChild('input_ids'), labels: b.getChild('labels'), row: b.getChild('row'), ...targetColumns(spec, plain, flatValues(b.getChild('row')!) as Int32Array) });
    cols += performance.now() - t1;
  }
  const t2 = performance.now();
  const m: any = {}; for (const n of Object.keys(parts[0])) m[n] = parts.slice(1).reduce((acc: any, p: any) => acc.concat(p[n]), parts[0][n]);
  const table = new Table(m);
  const t3 = performance.now();
  const pq = encodeShard(table, 'parquet'); const t4 = performance.now();
  const ar = encodeShard(table, 'arrow'); const t5 = performance.now();
  sha256Bytes(pq); const t6 = performance.now();
  console.log(`threads ${th} run ${run.toFixed(0)} cols ${cols.toFixed(0)} concat ${(t3 - t2).toFixed(0)} parquet ${(t4 - t3).toFixed(0)} arrow ${(t5 - t4).toFixed(0)} sha ${(t6 - t5).toFixed(0)} (${pq.length}, ${ar.length})`);
}
await s.release();
}
