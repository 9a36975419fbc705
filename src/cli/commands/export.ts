import { Option, type Command } from 'commander';
import { runCommand, stderrReporter, type CommonFlags } from '../run.js';
import type { Api } from '../run.js';

type ExportSummary = Awaited<ReturnType<Api['exportRun']>>;

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("export a trained student to ONNX, checked against the tfjs student's logits")
    .argument('<run>', 'run directory written by kennis train (holds student/)')
    .option('--out <file>', 'ONNX file to write (default <run>/student.onnx; with --quantize <run>/student-<mode>.onnx)')
    .addOption(new Option('--quantize <mode>', 'also write the student with int8 or float16 weights, compared with the fp32 student on the test split').choices(['int8', 'float16']))
    .option('--last', "export the last step's weights even when the run kept its best evaluation's (train.select_best)")
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (run: string, flags: CommonFlags & { out?: string; quantize?: 'int8' | 'float16'; last?: boolean }) => {
      await runCommand(flags, async (api) => api.exportRun(run, flags.out, { ...(flags.quantize ? { quantize: flags.quantize } : {}), last: flags.last ?? false, onWarning: stderrReporter.onWarning }), (s, api) => describe(s, api));
    });
}

function describe(s: ExportSummary, api: Api): string {
  const lines = [`exported the ${s.weights === 'best' ? 'best evaluation\'s' : 'last step\'s'} ${s.parameters} parameters to ${s.file} (${api.formatBytes(s.bytes)}); onnxruntime matches tfjs within ${s.maxAbsDiff.toExponential(1)}`];
  const q = s.quantized;
  if (q) {
    const accuracy = q.accuracy !== undefined && q.fp32Accuracy !== undefined ? `, accuracy ${pct(q.accuracy)} (fp32 ${pct(q.fp32Accuracy)})` : '';
    lines.push(`${q.mode} student ${q.file} (${api.formatBytes(q.bytes)}, ${q.sizeRatio.toFixed(2)}x smaller, ${q.weights} weight tensors): ` +
      `top-1 agrees with fp32 on ${pct(q.agreement)} of ${q.rows} ${q.dataset} ${q.split} rows, max logit difference ${q.maxAbsLogitDiff.toPrecision(2)}, KL ${q.klToFp32.toExponential(1)}${accuracy}`);
  }
  return lines.join('\n');
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
