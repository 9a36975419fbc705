import type { Command } from 'commander';
import { positiveInt } from '../options.js';
import type { EvalReport, Split } from '../../index.js';
import { runCommand, type Api, type CommonFlags } from '../run.js';

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
    .requiredOption('--dataset <name|file>', `built-in (mnist, moby-dick, sotu), a .parquet/.arrow/.jsonl file, or a recipe .yaml (its dataset section)`)
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
      await runCommand(flags, async (api) => {
                const { datasetSpecFor, evaluateModels } = api;
        const dataset = datasetSpecFor(flags.dataset, {
          split: flags.split,
          ...(flags.seqLen ? { seqLen: flags.seqLen } : {}), ...(flags.limit ? { limit: flags.limit } : {}),
          ...(flags.label ? { label: flags.label } : {}), ...(flags.splitColumn ? { splitColumn: flags.splitColumn } : {}),
        });
        return evaluateModels(models, {
        dataset, progress: true,
        ...(flags.batchSize ? { batchSize: flags.batchSize } : {}),
        ...(flags.repeats ? { repeats: flags.repeats } : {}),
        ...(flags.threads ? { threads: flags.threads } : {}),
        });
      }, formatReport);
    });
}


function formatReport(r: EvalReport, api: Api): string {
  const seq = r.task === 'sequence';
  const metric = (m: EvalReport['models'][number]): string => {
    if (m.accuracy === undefined) return '-';
    if (!seq) return `${(100 * m.accuracy).toFixed(2)}%`;
    return m.bitsPerByte !== undefined ? `${m.bitsPerByte.toFixed(4)} bpb` : `${m.bitsPerToken!.toFixed(4)} bits/token`;
  };
  const header = ['model', seq ? 'bits' : 'accuracy', 'errors', 'params', 'size', 'ms/sample', 'agreement', 'KL'];
  const rows = r.models.map((m) => [
    m.model, metric(m), m.errors === undefined ? '-' : String(m.errors), String(m.parameters), api.formatBytes(m.fileBytes),
    m.latencyMsPerSample.toPrecision(3), m.agreement.toFixed(4), m.klToReference.toExponential(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const title = `${r.dataset} ${r.split}: ${r.rows} rows, ${r.positions} positions, ${r.task} over ${r.classes} classes; agreement and KL(reference || model) against ${r.reference}`;
  return [title, line(header), ...rows.map(line)].join('\n');
}
