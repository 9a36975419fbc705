import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Progress } from '../core/progress/index.js';
import { SummaryWriter } from './tensorboard/index.js';

/**
 * The one place a training run's metrics go: each record is a line of metrics.jsonl and scalars
 * in TensorBoard; messages go to the progress display (or the log callback).
 */
export class MetricsSink {
  readonly board: SummaryWriter;
  private readonly file: string;

  constructor(outDir: string, private readonly progress: Progress | undefined, private readonly onLog: (message: string) => void) {
    this.file = join(outDir, 'metrics.jsonl');
    this.board = new SummaryWriter(join(outDir, 'tensorboard'));
  }

  /** Records scalars at `step`; `prefix` (e.g. 'eval/') prefixes their names, `context` goes to metrics.jsonl only. */
  record(step: number, values: Readonly<Record<string, number>>, prefix = '', context: Record<string, string> = {}): void {
    const named: Record<string, number> = {};
    for (const [k, v] of Object.entries(values)) named[`${prefix}${k}`] = v;
    this.board.scalars(named, step);
    appendFileSync(this.file, JSON.stringify({ step, ...context, ...named }) + '\n');
  }

  /** Shows a one-line message without garbling the progress bar. */
  log(message: string): void {
    if (this.progress) this.progress.log(message);
    else this.onLog(message);
  }

  /** Updates the progress display. */
  progressAt(step: number, extra: Record<string, string | number>): void {
    this.progress?.update(step, extra);
  }

  close(): void {
    this.progress?.finish();
    this.board.close();
  }
}
