import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EvalReport } from '../../src/evaluate/eval/index.js';
import { mlpClassifier } from '../fixtures/teachers.js';
import { allRows, logSoftmax, metrics, near, ort, run, writeModel } from './reference.js';

test('kennis eval --json: the last stdout line is the report, matching a direct onnxruntime computation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-eval-cli-'));
  const A = mlpClassifier({ seed: 1 });
  const B = mlpClassifier({ seed: 5, hidden: [8] });
  const a = writeModel(dir, 'a.onnx', A.bytes);
  const b = writeModel(dir, 'b.onnx', B.bytes);
  const { stdout } = await promisify(execFile)('node', ['bin/kennis.js', 'eval', a, b, '--dataset', 'mnist', '--split', 'validation', '--limit', '200', '--batch-size', '64', '--repeats', '1', '--json'], { cwd: process.cwd() });
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as EvalReport;
  assert.deepEqual([report.split, report.rows, report.batchSize, report.repeats, report.models.map((m) => m.model)], ['validation', 200, 64, 1, [a, b]]);

  const { rows, columns } = await allRows({ name: 'mnist', split: 'validation', limit: 200 });
  const feeds = { image: new ort.Tensor('float32', Float32Array.from(columns.image!), [rows, 784]) };
  const la = logSoftmax(await run(A.bytes, feeds), 10);
  const ref = metrics(logSoftmax(await run(B.bytes, feeds), 10), la, columns.label!);
  const m = report.models[1]!;
  assert.equal(m.errors, ref.errors);
  assert.ok(near(m.agreement, ref.agreement) && near(m.klToReference, ref.kl), `agreement ${m.agreement} KL ${m.klToReference}`);
  assert.equal(report.models[0]!.errors, metrics(la, la, columns.label!).errors);
});
