import type { Command } from 'commander';
import { runCommand, type CommonFlags } from '../run.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("export a trained student to ONNX, checked against the tfjs student's logits")
    .argument('<run>', 'run directory written by kennis train (holds student/)')
    .option('--out <file>', 'ONNX file to write (default <run>/student.onnx)')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (run: string, flags: CommonFlags & { out?: string }) => {
      await runCommand(flags, async (api) => api.exportRun(run, flags.out), (s, api) =>
        `exported ${s.parameters} parameters to ${s.file} (${api.formatBytes(s.bytes)}); onnxruntime matches tfjs within ${s.maxAbsDiff.toExponential(1)}`);
    });
}
