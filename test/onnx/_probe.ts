import { appendSoftTargetHead } from '../../src/onnx/index.js';
import { Rng } from '../../src/util/rng.js';
import { gpt2VocabModel } from '../fixtures/teachers.js';
import { inverseCdf, softmax } from './reference.js';
import { floatTensor, int64Tensor, runOnce } from './run.js';
const V = 50257, T = 512, n = Number(process.argv[2]), temp = Number(process.argv[3] ?? 1);
const teacher = gpt2VocabModel({ seed: 17 });
const rng = new Rng(1);
const ids = Array.from({ length: T }, () => rng.int(V));
const feeds = () => ({ input_ids: int64Tensor(ids, [1, T]), attention_mask: int64Tensor(ids.map(() => 1), [1, T]) });
const u = new Float32Array(T * n);
for (let t = 0; t < T; t++) { const r = Rng.derive(7, t); for (let j = 0; j < n; j++) u[t * n + j] = r.next(); }
const head = appendSoftTargetHead(teacher.bytes, { kind: 'sampled', samples: n, temperature: temp });
const before = process.resourceUsage().maxRSS;
const t0 = Date.now();
const got = (await runOnce(head, { ...feeds(), uniforms: floatTensor(u, [1, T, n]) })).outputs.sample_ids!.data as Int32Array;
const ms = Date.now() - t0;
const rss = (process.resourceUsage().maxRSS - before) / 1024 | 0;
const data = (await runOnce(teacher.bytes, feeds())).outputs.logits!.data as Float32Array;
let mism = 0, maxoff = 0;
for (let t = 0; t < T; t++) {
  const p = softmax(data.subarray(t * V, (t + 1) * V), temp);
  for (let j = 0; j < n; j++) { const w = inverseCdf(p, u[t * n + j]!); if (w !== got[t * n + j]) { mism++; maxoff = Math.max(maxoff, Math.abs(w - got[t * n + j]!)); } }
}
console.log({ n, temp, ms, rssGrowthMB: rss, mism, total: T * n, maxoff, distinct: new Set(got).size });
