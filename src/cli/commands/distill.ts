import type { Command } from 'commander';
import type { DistillSummary } from '../../index.js';
import { runCommand, stderrReporter, type CommonFlags } from '../run.js';

export function registerDistill(program: Command): void {
  program
    .command('distill')
    .description('the whole experiment: precompute, train distilled + baseline students, export, evaluate, report.html')
    .argument('<recipe>', 'YAML recipe')
    .argument('[overrides...]', 'key.path=value overrides, values parsed as YAML')
    .option('--overwrite', 'retrain students whose run directory holds a run of other settings')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (file: string, overrides: string[], flags: CommonFlags & { overwrite?: boolean }) => {
      await runCommand(flags, async (api) => api.distillAndCompare(file, overrides, { onLog: stderrReporter.onLog, overwrite: flags.overwrite ?? false }), table);
    });
}

function table(s: DistillSummary): string {
  const classification = s.eval[0]!.errors !== undefined;
  const head = ['model', classification ? 'test errors' : 'bits/byte', classification ? 'accuracy' : '', 'params', 'KiB', 'ms/sample', 'agreement', 'KL(teacher||model)'];
  const rows = s.eval.map((r) => [
    r.name,
    classification ? String(r.errors) : r.bitsPerByte!.toFixed(4),
    classification ? r.accuracy!.toFixed(4) : '',
    r.parameters.toLocaleString('en-US'),
    (r.fileBytes / 1024).toFixed(0),
    r.latencyMsPerSample.toFixed(4),
    r.agreement.toFixed(4),
    r.klToReference.toFixed(4),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    line(head), ...rows.map(line), '',
    `distillation closed ${(100 * s.gapClosed).toFixed(1)}% of the gap between the baseline student and the teacher`,
    `report: ${s.report}`,
    `done in ${s.seconds.toFixed(0)} s`,
  ].join('\n');
}
