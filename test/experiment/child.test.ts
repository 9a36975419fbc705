import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStage } from '../../src/experiment/index.js';

test('runStage hands the child stage its stderr lines through onLine, labelled, and writes none to this process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-child-'));
  const lines: string[] = [];
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    written.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    const summary = await runStage('tiny precompute', { stage: 'precompute', recipe: 'recipes/mnist.yaml', overrides: ['dataset.limit=48', `cache.root=${dir}`] }, (l) => lines.push(l));
    assert.equal(summary.rows, 48);
    assert.ok(lines.length > 0, 'the child logged its progress');
    assert.ok(lines.every((l) => l.startsWith('[tiny precompute] ')), lines.join('\n'));
    assert.deepEqual(written.filter((w) => w.includes('[tiny precompute]')), []);
  } finally {
    process.stderr.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});
