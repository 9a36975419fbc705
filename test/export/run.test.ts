import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { checkExport, exportRun, exportStudentToOnnx } from '../../src/evaluate/export/index.js';
import { KennisError, TrainError } from '../../src/core/errors/index.js';
import { inspectModel } from '../../src/core/onnx/index.js';
import type { GptSpec, MlpSpec } from '../../src/train/students/index.js';
import { saveStudent } from '../../src/train/index.js';
import { assertClose, use } from '../nn/helpers.js';
import { onnxLogits, ort, randomWeights, studentLogits } from './helpers.js';
import { compiledCli } from '../fixtures/compiled.js';

const mlp: MlpSpec = { arch: 'mlp', inputs: 20, hidden: [16], activation: 'gelu', dropout: 0, classes: 6 };
const gpt: GptSpec = { arch: 'gpt', vocab: 13, dModel: 8, layers: 1, heads: 4, seqLen: 9 };
const size = (w: Record<string, { data: Float32Array }>): number => Object.values(w).reduce((n, x) => n + x.data.length, 0);

test('exportRun: writes runDir/student.onnx named after the input column, checked against tfjs', async () => {
  await use('cpu');
  const run = mkdtempSync(join(tmpdir(), 'kennis-export-'));
  const weights = randomWeights(mlp, 3);
  saveStudent(join(run, 'student'), mlp, 'pixels', weights);
  const s = await exportRun(run);
  assert.equal(s.file, join(run, 'student.onnx'));
  assert.equal(s.bytes, statSync(s.file).size);
  assert.equal(s.parameters, size(weights));
  assert.ok(s.maxAbsDiff >= 0 && s.maxAbsDiff < 1e-4, `maxAbsDiff ${s.maxAbsDiff}`);
  const bytes = new Uint8Array(readFileSync(s.file));
  assert.deepEqual(inspectModel(bytes, 'student').inputs.map((i) => i.name), ['pixels']);
  // the file on disk, fed fresh inputs, still equals the student
  const x = Float32Array.from({ length: 7 * 20 }, (_, i) => Math.sin(i));
  const got = await onnxLogits(bytes, { pixels: new ort.Tensor('float32', x, [7, 20]) });
  const xt = tf.tensor2d(x, [7, 20]);
  assertClose(got.data, studentLogits(mlp, weights, xt), 1e-4, 'exported file');
  xt.dispose();
});

test('exportRun: gpt to an explicit --out path in a new directory; a missing run is a TrainError', async () => {
  await use('cpu');
  const run = mkdtempSync(join(tmpdir(), 'kennis-export-'));
  const weights = randomWeights(gpt, 4);
  saveStudent(join(run, 'student'), gpt, 'input_ids', weights);
  const out = join(run, 'nested', 'dir', 'lm.onnx');
  const s = await exportRun(run, out);
  assert.equal(s.file, out);
  assert.ok(existsSync(out) && !existsSync(join(run, 'student.onnx')));
  assert.equal(s.parameters, size(weights));
  assert.ok(s.maxAbsDiff < 1e-4);
  await assert.rejects(exportRun(join(run, 'nope')), (e: unknown) => e instanceof TrainError && /no saved student/.test(e.message));
});

test('checkExport: a model exported from other weights is a KennisError naming the differing logit', async () => {
  await use('cpu');
  const a = randomWeights(mlp, 1);
  const b = randomWeights(mlp, 2);
  const bytesA = exportStudentToOnnx(mlp, a);
  const ok = await checkExport(mlp, a, bytesA);
  assert.equal(ok.compared, 8 * mlp.classes);
  await assert.rejects(checkExport(mlp, b, bytesA), (e: unknown) => e instanceof KennisError && /does not match the student/.test(e.message));
  // gpt probes: two sequence lengths (7 tokens batch 2 and the full 9), every logit compared
  const w = randomWeights(gpt, 9);
  const r = await checkExport(gpt, w, exportStudentToOnnx(gpt, w), { seed: 3 });
  assert.equal(r.compared, (2 * 7 + 9) * gpt.vocab);
});

test('kennis export --json prints the summary as the last stdout line', async () => {
  const run = mkdtempSync(join(tmpdir(), 'kennis-export-cli-'));
  const weights = randomWeights(mlp, 6);
  saveStudent(join(run, 'student'), mlp, 'image', weights);
  const out = join(run, 'cli.onnx');
  const { stdout } = await promisify(execFile)(process.execPath, [compiledCli(), 'export', run, '--out', out, '--json']);
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { file: string; bytes: number; parameters: number; maxAbsDiff: number };
  assert.equal(summary.file, out);
  assert.equal(summary.bytes, statSync(out).size);
  assert.equal(summary.parameters, size(weights));
  assert.ok(summary.maxAbsDiff < 1e-4);
});
