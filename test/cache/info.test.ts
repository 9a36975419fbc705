import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import { CacheWriter, cacheInfo, cacheKey, canonicalJson, type Manifest } from '../../src/cache/index.js';
import { fixedSizeListVector, primitiveVector } from '../../src/core/util/arrow.js';
import { toFloat16Bits } from '../../src/core/util/float16.js';
import { Rng } from '../../src/core/util/rng.js';
import { CLASSES, classDraft, classRows, classTable, half64, SEQ, seqTopkDraft, seqTopkRows, seqTopkTable, TOPK, VOCAB } from './helpers.js';
import { tempDir } from './tmp.js';

async function shardBytes(dir: string, m: Manifest): Promise<number> {
  let n = 0;
  for (const s of m.shards) n += (await stat(path.join(dir, s.file))).size;
  return n;
}

test('full logits: accuracy is the argmax hit rate and sizes come from the shard files', async () => {
  const dir = await tempDir('info');
  const w = await CacheWriter.open(dir, classDraft(30, 8));
  for (let i = 0; i < w.shardCount; i++) {
    const { firstRow, rows } = w.shardRange(i);
    await w.writeShard(i, classTable(classRows(firstRow, rows)));
  }
  const m = await w.finish();
  const info = await cacheInfo(dir);
  const src = classRows(0, 30);
  let hits = 0;
  for (let r = 0; r < 30; r++) {
    const row = Array.from(src.logits.subarray(r * CLASSES, (r + 1) * CLASSES));
    if (row.indexOf(Math.max(...row)) === src.label[r]) hits++;
  }
  const bytes = await shardBytes(dir, m);
  assert.equal(info.teacherAccuracy, hits / 30);
  assert.equal(info.labeledPositions, 30);
  assert.equal(info.rows, 30);
  assert.equal(info.shards, 4);
  assert.equal(info.bytes, bytes);
  assert.equal(info.bytesPerSample, bytes / 30);
  assert.equal(info.bytesPerToken, undefined);
  assert.equal(info.fullFloat32BytesPerRow, CLASSES * 4);
  assert.equal(info.topkMassMean, undefined);
  assert.equal(info.targetKind, 'full');
});

test('top-k sequences: per-token accuracy ignores -100 labels and the mass is sum exp(topk - logsumexp)', async () => {
  const dir = await tempDir('info');
  const rows = 9;
  const w = await CacheWriter.open(dir, seqTopkDraft(rows, 4));
  for (let i = 0; i < w.shardCount; i++) {
    const { firstRow, rows: n } = w.shardRange(i);
    await w.writeShard(i, seqTopkTable(seqTopkRows(firstRow, n, toFloat16Bits)));
  }
  const m = await w.finish();
  const info = await cacheInfo(dir);
  const src = seqTopkRows(0, rows, toFloat16Bits);
  let hits = 0;
  let labeled = 0;
  let mass = 0;
  for (let p = 0; p < rows * SEQ; p++) {
    let s = 0;
    for (let j = 0; j < TOPK; j++) s += Math.exp(half64(src.topkLogits[p * TOPK + j]!) - src.logsumexp[p]!);
    mass += s;
    if (src.labels[p]! < 0) continue;
    labeled++;
    // the teacher's prediction from its float64 logits over the whole vocabulary
    const full = Array.from(src.full.subarray(p * VOCAB, (p + 1) * VOCAB));
    if (full.indexOf(Math.max(...full)) === src.labels[p]) hits++;
  }
  assert.equal(info.labeledPositions, labeled);
  assert.equal(labeled, rows * (SEQ - 1));
  assert.equal(info.teacherAccuracy, hits / labeled);
  assert.ok(Math.abs(info.topkMassMean! - mass / (rows * SEQ)) < 1e-12, `${info.topkMassMean} vs ${mass / (rows * SEQ)}`);
  assert.ok(info.topkMassMean! > 0 && info.topkMassMean! < 1);
  const bytes = await shardBytes(dir, m);
  assert.equal(info.bytesPerToken, bytes / (rows * SEQ));
  assert.equal(info.fullFloat32BytesPerRow, VOCAB * 4 * SEQ);
});

test('sampled targets: the prediction is the most frequent sampled id', async () => {
  const dir = await tempDir('info');
  const n = 4;
  const rows = 12;
  const targets = { kind: 'sampled', vocab: CLASSES, valueDtype: 'float32', idDtype: 'uint8', samples: 8, sampleTemperature: 1, seed: 1 } as const;
  const w = await CacheWriter.open(dir, { ...classDraft(rows, 12), targets, key: cacheKey({ teacherSha256: 'c'.repeat(64), datasetFingerprint: 's', targetSpec: targets }) });
  const ids = new Uint8Array(rows * n);
  const counts = new Uint8Array(rows * n);
  const label = new Int32Array(rows);
  const rng = new Rng(2);
  let hits = 0;
  for (let r = 0; r < rows; r++) {
    const tally = new Map<number, number>();
    for (let s = 0; s < 8; s++) { const id = 1 + rng.int(4) * 2; tally.set(id, (tally.get(id) ?? 0) + 1); }
    const unique = [...tally.keys()].sort((a, b) => a - b); // at most n = 4 distinct ids
    unique.forEach((id, j) => { ids[r * n + j] = id; counts[r * n + j] = tally.get(id)!; });
    // most frequent id, lowest id on ties (a padded id 0 has count 0 and cannot win)
    let best = unique[0]!;
    for (const id of unique) if (tally.get(id)! > tally.get(best)!) best = id;
    label[r] = rng.next() < 0.6 ? best : rng.int(10);
    if (best === label[r]) hits++;
  }
  const base = classRows(0, rows);
  await w.writeShard(0, new arrow.Table({
    image: fixedSizeListVector(base.image, [6], 'float32'),
    label: primitiveVector(label, 'int32'),
    row: primitiveVector(base.row, 'int32'),
    sample_ids: fixedSizeListVector(ids, [n], 'uint8'),
    sample_counts: fixedSizeListVector(counts, [n], 'uint8'),
  }));
  await w.finish();
  const info = await cacheInfo(dir);
  assert.ok(hits > 0 && hits < rows, `hits ${hits}`);
  assert.equal(info.teacherAccuracy, hits / rows);
  assert.equal(info.targetKind, 'sampled');
});

test('cacheKey is sha256 of sorted-key JSON and changes with any input', () => {
  const spec = { kind: 'topk', vocab: 256, valueDtype: 'float16', idDtype: 'uint8', k: 8, seqLen: 64 } as const;
  const key = cacheKey({ teacherSha256: 't', datasetFingerprint: 'd', targetSpec: spec });
  const text = '{"datasetFingerprint":"d","targetSpec":{"idDtype":"uint8","k":8,"kind":"topk","seqLen":64,"valueDtype":"float16","vocab":256},"teacherSha256":"t"}';
  assert.equal(key, createHash('sha256').update(text).digest('hex'));
  const reordered = { seqLen: 64, k: 8, idDtype: 'uint8', valueDtype: 'float16', vocab: 256, kind: 'topk', seed: undefined } as const;
  assert.equal(cacheKey({ datasetFingerprint: 'd', targetSpec: reordered, teacherSha256: 't' }), key);
  assert.notEqual(cacheKey({ teacherSha256: 't', datasetFingerprint: 'd', targetSpec: { ...spec, k: 9 } }), key);
  assert.notEqual(cacheKey({ teacherSha256: 'u', datasetFingerprint: 'd', targetSpec: spec }), key);
  const extra = { format: 'parquet', shardRows: 1024 };
  const withExtra = cacheKey({ teacherSha256: 't', datasetFingerprint: 'd', targetSpec: spec, extra });
  const textExtra = text.replace('"d",', '"d","extra":{"format":"parquet","shardRows":1024},');
  assert.equal(withExtra, createHash('sha256').update(textExtra).digest('hex'));
  assert.equal(canonicalJson({ b: [1, { d: 1, c: 'x' }], a: null }), '{"a":null,"b":[1,{"c":"x","d":1}]}');
  assert.throws(() => canonicalJson({ x: NaN }), RangeError);
});
