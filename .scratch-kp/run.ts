import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { appendSoftTargetHead } from '../src/onnx/index.js';
const bytes = appendSoftTargetHead(readFileSync('/tmp/kp/mnist1200.onnx'), { kind: 'full', output: 'logits' });
for (const threads of [0, 1, 2]) {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
  const x = new Float32Array(500 * 784).map(() => Math.random());
  await s.run({ image: new ort.Tensor('float32', x, [500, 784]) });
  const t0 = performance.now();
  for (let i = 0; i < 16; i++) await s.run({ image: new ort.Tensor('float32', x, [500, 784]) });
  const dt = performance.now() - t0;
  console.log(threads, dt.toFixed(0), 'ms', (2 * (784 * 1200 + 1200 * 1200 + 12000) * 8000 / dt / 1e6).toFixed(0), 'GFLOP/s');
  // two in flight
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 16 }, () => s.run({ image: new ort.Tensor('float32', x, [500, 784]) })));
  console.log(' all-parallel', (performance.now() - t1).toFixed(0));
  await s.release();
}
