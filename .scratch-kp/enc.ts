import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { openDataset } from '../src/datasets/index.js';
const ds = await openDataset({ name: 'mnist', split: 'train' });
const batches: arrow.RecordBatch[] = [];
for await (const b of ds.batches({ batchSize: 2000 })) batches.push(b);
const tables = batches.map((b) => new arrow.Table([b]));
function run(label: string, mk: () => pq.WriterProperties) {
  const t0 = performance.now(); let bytes = 0;
  for (const t of tables) {
    const w = pq.Table.fromIPCStream(arrow.tableToIPC(t, 'stream'));
    bytes += pq.writeParquet(w, mk()).length;
  }
  console.log(label.padEnd(30), (performance.now() - t0).toFixed(0), 'ms', bytes);
}
const B = () => new pq.WriterPropertiesBuilder().setMaxRowGroupSize(2000);
run('ipc only', () => { const t0=0; return B().build(); });
run('zstd', () => B().setCompression(pq.Compression.ZSTD).build());
run('zstd nodict', () => B().setCompression(pq.Compression.ZSTD).setDictionaryEnabled(false).build());
run('zstd nodict nostats', () => B().setCompression(pq.Compression.ZSTD).setDictionaryEnabled(false).setStatisticsEnabled(pq.EnabledStatistics.None).build());
run('uncompressed nodict', () => B().setCompression(pq.Compression.UNCOMPRESSED).setDictionaryEnabled(false).build());
run('snappy nodict', () => B().setCompression(pq.Compression.SNAPPY).setDictionaryEnabled(false).build());
run('lz4 nodict', () => B().setCompression(pq.Compression.LZ4_RAW).setDictionaryEnabled(false).build());
let t0 = performance.now(); for (const t of tables) arrow.tableToIPC(t, 'stream'); console.log('tableToIPC', performance.now() - t0);
t0 = performance.now(); for (const t of tables) pq.Table.fromIPCStream(arrow.tableToIPC(t, 'stream')).free(); console.log('fromIPC', performance.now() - t0);
