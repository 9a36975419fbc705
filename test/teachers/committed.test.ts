import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mnistTestErrors } from '../fixtures/mnist-errors.js';

const dir = join(import.meta.dirname, '../../data/teachers');
const infos = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];

test('every committed teacher matches its recorded sha256 and says how to rebuild it', () => {
  assert.ok(infos.length >= 1, 'expected at least the MNIST teacher');
  const ignored = readFileSync(join(dir, '../../.gitignore'), 'utf8').split('\n');
  for (const f of infos) {
    const info = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { file: string; sha256: string; command: string };
    assert.match(info.command, /^npx tsx scripts\//);
    const file = join(dir, '..', '..', info.file);
    // a teacher too large to commit is git-ignored and built by its command; checked where it was built
    if (ignored.includes(info.file) && !existsSync(file)) continue;
    const bytes = readFileSync(file);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), info.sha256, `${info.file}: sha256`);
  }
});

test('the MNIST teacher makes the recorded number of test errors under onnxruntime', async () => {
  const info = JSON.parse(readFileSync(join(dir, 'mnist-mlp-1200.json'), 'utf8')) as { file: string; testErrors: number };
  const errors = await mnistTestErrors(join(dir, '..', '..', info.file));
  // recorded from the tfjs model before export: the same count means the export preserved it
  assert.equal(errors, info.testErrors);
});
