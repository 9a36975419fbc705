import { InvalidArgumentError, type Command } from 'commander';
import { BUILTIN_DATASETS } from '../../data/builtin.js';
import type { DatasetSpec, Split } from '../../data/index.js';
import { DatasetError } from '../../core/errors/index.js';
import type { EvalReport } from '../../evaluate/eval/index.js';
import { runCommand, type CommonFlags } from '../run.js';
import { formatBytes } from './precompute.js';

interface EvalFlags extends CommonFlags {
  dataset: string;
  split: Split;
  seqLen?: number;
  limit?: number;
  label?: string;
  splitColumn?: string;
  batchSize?: number;
  repeats?: number;
  threads?: number;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('score ONNX models on a dataset split: accuracy or bits per byte, agreement and KL to the first model, size, latency')
    .argument('<models...>', '.onnx files; the first is the reference (usually the teacher)')
    .requiredOption('--dataset <name|file>', `built-in (${BUILTIN_DATASETS.join(', ')}), a .parquet/.arrow/.jsonl file, or a recipe .yaml (its dataset section)`)
    .option('--split <split>', 'train, validation, test or all', 'test')
    .option('--seq-len <n>', 'tokens per window (text datasets)', positiveInt)
    .option('--limit <n>', 'only the first n rows of the split', positiveInt)
    .option('--label <column>', 'label column of a file dataset')
    .option('--split-column <column>', 'column naming each row\'s split in a file dataset')
    .option('--batch-size <n>', 'rows per onnxruntime run', positiveInt)
    .option('--repeats <n>', 'timed runs for the latency median', positiveInt)
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt)
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (models: string[], flags: EvalFlags) => {
      await runCommand(flags, async () => (await import('../../evaluate/eval/index.js')).evaluateModels(models, {
        // loaded on demand, like every command's implementation, so the CLI starts fast
        dataset: await datasetFromFlags(flags), progress: true,
        ...(flags.batchSize ? { batchSize: flags.batchSize } : {}),
        ...(flags.repeats ? { repeats: flags.repeats } : {}),
        ...(flags.threads ? { threads: flags.threads } : {}),
      }), formatReport);
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** --dataset as a built-in name, a recipe's dataset section, or a data file. */
async function datasetFromFlags(f: EvalFlags): Promise<DatasetSpec> {
  const limit = f.limit ? { limit: f.limit } : {};
  if (f.dataset === 'mnist') return { name: 'mnist', split: f.split, ...limit };
  if (f.dataset === 'moby-dick' || f.dataset === 'sotu') {
    if (!f.seqLen) throw new DatasetError(`dataset '${f.dataset}' needs --seq-len (tokens per window), e.g. --seq-len 128`);
    return { name: f.dataset, split: f.split, seqLen: f.seqLen, ...limit };
  }
  if (/\.ya?ml$/i.test(f.dataset)) {
    const overrides = [...(f.limit ? [`dataset.limit=${f.limit}`] : []), ...(f.seqLen ? [`dataset.seq_len=${f.seqLen}`] : [])];
    const { datasetSpecOf, loadRecipe } = await import('../../recipe/index.js');
    return datasetSpecOf(loadRecipe(f.dataset, overrides), f.split);
  }
  return {
    name: 'file', path: f.dataset, split: f.split, ...limit,
    ...(f.label ? { label: f.label } : {}), ...(f.splitColumn ? { splitColumn: f.splitColumn } : {}), ...(f.seqLen ? { seqLen: f.seqLen } : {}),
  };
}

function formatReport(r: EvalReport): string {
  const seq = r.task === 'sequence';
  const metric = (m: EvalReport['models'][number]): string => {
    if (m.accuracy === undefined) return '-';
    if (!seq) return `${(100 * m.accuracy).toFixed(2)}%`;
    return m.bitsPerByte !== undefined ? `${m.bitsPerByte.toFixed(4)} bpb` : `${m.bitsPerToken!.toFixed(4)} bits/token`;
  };
  const header = ['model', seq ? 'bits' : 'accuracy', 'errors', 'params', 'size', 'ms/sample', 'agreement', 'KL'];
  const rows = r.models.map((m) => [
    m.model, metric(m), m.errors === undefined ? '-' : String(m.errors), String(m.parameters), formatBytes(m.fileBytes),
    m.latencyMsPerSample.toPrecision(3), m.agreement.toFixed(4), m.klToReference.toExponential(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const title = `${r.dataset} ${r.split}: ${r.rows} rows, ${r.positions} positions, ${r.task} over ${r.classes} classes; agreement and KL(reference || model) against ${r.reference}`;
  return [title, line(header), ...rows.map(line)].join('\n');
}
