import type { RecordBatch } from 'apache-arrow';
import { labelByteCounter, openDataset, type Dataset, type DatasetSpec } from '../../data/index.js';
import { DatasetError, KennisError, TeacherError } from '../../core/errors/index.js';
import { createProgress } from '../../core/progress/index.js';
import { buildFeeds, Teacher, type InputBinding, type PlainTensor } from '../../core/runtime/index.js';
import { flatValues } from '../../core/util/index.js';
import { evalBindings } from './inputs.js';
import { medianRunMs } from './latency.js';
import { rowStats, type RowStats } from './logits.js';
import { readModelFile } from './model-file.js';
import { Tally, type Reference } from './tally.js';
import type { EvalOptions, EvalReport, ModelEval } from './types.js';

/** Logits one batch may hold per model (16 MB of float32), which sets the default batch size of sequence data. */
const LOGIT_BUDGET = 1 << 22;

/** A loaded model and how it is fed. */
interface Plan {
  path: string;
  parameters: number;
  fileBytes: number;
  teacher: Teacher;
  bindings: InputBinding[];
  output: string;
}

/** Logits of one batch with their layout. */
interface BatchLogits { data: Float32Array; positions: number; classes: number; dims: number[] }

/**
 * Runs every model with onnxruntime over a dataset split, streaming it in batches (all models see
 * each batch before the next is read, so the reference's logits are never stored for the whole
 * split), and reports accuracy or bits per byte, agreement and KL to the FIRST model, parameters,
 * file size and latency. Sessions are released on every path.
 */
export async function evaluateModels(models: readonly string[], opts: EvalOptions): Promise<EvalReport> {
  if (models.length === 0) throw new KennisError('eval needs at least one model; pass .onnx files, the first is the reference');
  const spec = (opts.split ? { ...opts.dataset, split: opts.split } : opts.dataset) as DatasetSpec;
  const dataset = await openDataset(spec);
  if (dataset.numRows === 0) throw new DatasetError(`dataset '${dataset.name}' split '${dataset.split}' has no rows; choose another split or a larger limit`);
  const batchSize = opts.batchSize ?? defaultBatchSize(dataset);
  const repeats = opts.repeats ?? 5;
  for (const [k, v] of [['batchSize', batchSize], ['repeats', repeats], ['latencyBatch', opts.latencyBatch ?? 1]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new KennisError(`eval ${k} expected a positive integer, got ${v}`);
  }
  const plans: Plan[] = [];
  try {
    for (const path of models) plans.push(await loadPlan(path, dataset, opts.threads));
    const progress = opts.progress ? createProgress({ total: dataset.numRows, unit: 'rows', label: 'eval' }) : undefined;
    let tallies: Tally[] | undefined;
    let shape: { task: EvalReport['task']; classes: number } | undefined;
    let rows = 0;
    const nonFinite = plans.map(() => ({ rows: 0, first: -1 }));
    const countBytes = labelByteCounter(dataset.tokenizer);
    for await (const batch of dataset.batches({ batchSize })) {
      const labels = dataset.labelColumn ? flatValues(batch.getChild(dataset.labelColumn)!) : undefined;
      // bits per byte divides by the bytes of text these labels decode to (exact for any limit or stride)
      const labelBytes = labels && countBytes ? countBytes(labels) : 0;
      let ref: Reference | undefined;
      for (const [m, plan] of plans.entries()) {
        const out = await runBatch(plan, batch);
        countNonFinite(out, batch.numRows, rows, nonFinite[m]!);
        if (!shape) shape = { task: out.dims.length === 3 ? 'sequence' : 'classification', classes: out.classes };
        checkShape(plan, out, plans[0]!.path, shape, labels?.length ?? ref?.stats.lse.length);
        tallies ??= plans.map(() => new Tally(shape!.classes, shape!.task === 'classification', labels !== undefined));
        const stats: RowStats = rowStats(out.data, out.classes);
        tallies[m]!.add(out.data, stats, labels, ref);
        tallies[m]!.addBytes(labelBytes);
        if (m === 0) ref = { logits: out.data, stats };
      }
      rows += batch.numRows;
      progress?.update(rows);
    }
    progress?.finish();
    const broken = nonFinite.findIndex((n) => n.rows > 0);
    if (broken >= 0) {
      const { rows: bad, first } = nonFinite[broken]!;
      throw new TeacherError(`model '${plans[broken]!.path}' output '${plans[broken]!.output}' has NaN/Inf in ${bad} of ${rows} rows (first at dataset row ${first}); its metrics would be meaningless: check the model (a diverged training run?) and its inputs`);
    }
    const latencyBatch = Math.min(opts.latencyBatch ?? batchSize, dataset.numRows);
    const latency = await latencies(plans, dataset, latencyBatch, repeats);
    const results: ModelEval[] = plans.map((p, m) => ({
      model: p.path, output: p.output, parameters: p.parameters, fileBytes: p.fileBytes,
      ...tallies![m]!.result(), latencyMsPerSample: latency[m]! / latencyBatch,
    }));
    return {
      dataset: dataset.name, split: dataset.split, rows, positions: tallies![0]!.count, task: shape!.task, classes: shape!.classes,
      reference: models[0]!, batchSize, latencyBatch, repeats, models: results,
    };
  } finally {
    await Promise.all(plans.map((p) => p.teacher.release()));
  }
}

/** 256 rows, or fewer for token windows so one batch's logits stay within LOGIT_BUDGET. */
function defaultBatchSize(dataset: Dataset): number {
  const perRow = (dataset.seqLen ?? 1) * (dataset.numClasses ?? 1);
  return Math.max(1, Math.min(256, Math.floor(LOGIT_BUDGET / perRow)));
}

async function loadPlan(path: string, dataset: Dataset, threads: number | undefined): Promise<Plan> {
  const file = readModelFile(path);
  const teacher = await Teacher.create(file.bytes, path, threads ? { threads } : {});
  try {
    const output = teacher.outputs.find((o) => o.name === 'logits')?.name ?? teacher.outputs[0]!.name;
    return { path, parameters: file.parameters, fileBytes: file.bytes.length, teacher, bindings: evalBindings(path, teacher.inputs, dataset), output };
  } catch (e) {
    await teacher.release();
    throw e;
  }
}

async function runBatch(plan: Plan, batch: RecordBatch): Promise<BatchLogits> {
  const out: PlainTensor = (await plan.teacher.run(buildFeeds(batch, plan.bindings), [plan.output]))[plan.output]!;
  const dims = out.dims;
  if (!(out.data instanceof Float32Array) || (dims.length !== 2 && dims.length !== 3) || dims[0] !== batch.numRows) {
    throw new TeacherError(`model '${plan.path}' output '${plan.output}' is ${out.type} [${dims.join(',')}] for ${batch.numRows} rows; eval expects float32 logits [N, classes] or [N, T, vocab]`);
  }
  const classes = dims.at(-1)!;
  return { data: out.data, positions: out.data.length / classes, classes, dims };
}

/** Counts the rows of a batch with a NaN or +Infinity logit (-Infinity is a legal masked logit), from dataset row `offset`. */
function countNonFinite(out: BatchLogits, rows: number, offset: number, into: { rows: number; first: number }): void {
  const perRow = out.data.length / rows;
  for (let r = 0; r < rows; r++) {
    for (let i = r * perRow; i < (r + 1) * perRow; i++) {
      const v = out.data[i]!;
      if (Number.isNaN(v) || v === Infinity) {
        if (into.first < 0) into.first = offset + r;
        into.rows++;
        break;
      }
    }
  }
}

/** All models must score the same positions over the same classes as the first, and labels must line up. */
function checkShape(plan: Plan, out: BatchLogits, reference: string, shape: { task: string; classes: number }, positions: number | undefined): void {
  if (out.classes !== shape.classes || (out.dims.length === 3) !== (shape.task === 'sequence')) {
    throw new TeacherError(`model '${plan.path}' outputs [${out.dims.join(',')}] but the reference '${reference}' gives ${shape.task} logits over ${shape.classes} classes; evaluate models of the same task and vocabulary together`);
  }
  if (positions !== undefined && positions !== out.positions) {
    throw new TeacherError(`model '${plan.path}' scores ${out.positions} positions in a batch, expected ${positions} (one per label); check its output shape [${out.dims.join(',')}]`);
  }
}

/** Median run time in ms of each model over the split's first `rows` rows. */
async function latencies(plans: readonly Plan[], dataset: Dataset, rows: number, repeats: number): Promise<number[]> {
  let batch: RecordBatch | undefined;
  for await (const b of dataset.batches({ batchSize: rows, end: rows })) batch = b;
  const out: number[] = [];
  for (const p of plans) out.push(await medianRunMs(p.teacher, buildFeeds(batch!, p.bindings), p.output, repeats));
  return out;
}
