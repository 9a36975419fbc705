import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openDataset } from '../../src/datasets/index.js';
import { flatValues } from '../../src/util/arrow.js';

const dir = join(import.meta.dirname, '../../data/teachers');
const infos = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];

test('every committed teacher matches its recorded sha256 and says how to rebuild it', () => {
  assert.ok(infos.length >= 1, 'expected at least the MNIST teacher');
  for (const f of infos) {
    const info = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { file: string; sha256: string; command: string };
    const bytes = readFileSync(join(dir, '..', '..', info.file));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), info.sha256, `${info.file}: sha256`);
    assert.match(info.command, /^npx tsx scripts\//);
  }
});

test('the MNIST teacher makes the recorded number of test errors under onnxruntime', async () => {
  const info = JSON.parse(readFileSync(join(dir, 'mnist-mlp-1200.json'), 'utf8')) as { file: string; testErrors: number };
  const session = await ort.InferenceSession.create(join(dir, '..', '..', info.file));
  let errors = 0;
  try {
    const ds = await openDataset({ name: 'mnist', split: 'test' });
    for await (const b of ds.batches({ batchSize: 250 })) {
      const x = flatValues(b.getChild('image')!) as Float32Array;
      const y = flatValues(b.getChild('label')!) as Int32Array;
      const logits = (await session.run({ image: new ort.Tensor('float32', x, [b.numRows, 784]) })).logits!.data as Float32Array;
      for (let i = 0; i < b.numRows; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (logits[i * 10 + c]! > logits[i * 10 + best]!) best = c;
        if (best !== y[i]) errors++;
      }
    }
  } finally {
    await session.release();
  }
  // recorded from the tfjs model before export: the same count means the export preserved it
  assert.equal(errors, info.testErrors);
});
