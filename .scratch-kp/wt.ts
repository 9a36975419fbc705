import { ShardWriterThread } from '../src/precompute/index.js';
const t0 = performance.now();
const w = await ShardWriterThread.open('/tmp/kp/wt-dir-' + Date.now(), {
  key: 'a'.repeat(64), teacher: { file: 't.onnx', sha256: 'a'.repeat(64), inputs: [], outputs: [], outputKind: 'logits' },
  dataset: { name: 'x', fingerprint: 'f', split: 'train', rows: 10, inputColumns: [] },
  targets: { kind: 'full', vocab: 2, valueDtype: 'float32', idDtype: 'uint8' }, shardFormat: 'parquet', shardRows: 10, tool: { name: 'kennis', version: '0' },
} as any, console.log);
const t1 = performance.now();
await w.close();
console.log('open', (t1 - t0).toFixed(0), 'close', (performance.now() - t1).toFixed(0));
