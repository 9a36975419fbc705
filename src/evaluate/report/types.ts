/** One logged point of a run: the step plus any number of named scalar metrics. */
export interface MetricPoint {
  /** Optimizer step (x axis of every curve). */
  step: number;
  /** Metric name (e.g. 'loss', 'eval/accuracy') to its value at this step. */
  [metric: string]: number;
}

/** The logged history of one training run (e.g. 'baseline' or 'distilled'). */
export interface ReportRun {
  /** Run name, used as the line name in every curve chart. */
  name: string;
  /** Training scalars (loss, ce_loss, kd_loss, ...) by step. */
  train: MetricPoint[];
  /** Evaluation scalars (eval/accuracy, eval/bits_per_byte, ...) by step. */
  eval: MetricPoint[];
  /** The step whose weights the run kept (train.select_best), marked on its evaluation curves. */
  selectedStep?: number;
}

/** One finished model (teacher or student) as measured on the test set. */
export interface ReportModel {
  /** Model name shown in charts and the summary table. */
  name: string;
  /** Final test metrics by name; must hold `headline.metric` to appear in the headline bar chart. */
  metrics: Record<string, number>;
  /** Number of trainable parameters. */
  params?: number;
  /** Size of the exported model file in bytes. */
  bytes?: number;
  /** Inference latency per sample in milliseconds. */
  latencyMs?: number;
  /** Test errors per class (counts), indexed like `ReportInput.classLabels`. */
  perClassErrors?: number[];
  /** Confusion counts, confusion[trueClass][predictedClass]. */
  confusion?: number[][];
}

/** An extra labeled scatter, e.g. bytes per token vs bits per byte of each target kind. */
export interface ReportTradeoffs {
  /** Card title of the scatter. */
  title: string;
  /** Name of the x axis. */
  xName: string;
  /** Name of the y axis. */
  yName: string;
  /** One labeled point per item. */
  points: { x: number; y: number; label: string }[];
}

/** Everything a report shows; all text is escaped, so names may contain any characters. */
export interface ReportInput {
  /** Page title (also the HTML <title>). */
  title: string;
  /** One line under the title. */
  subtitle?: string;
  /** Free text lines shown under the header, e.g. "distillation closed 62% of the gap". */
  notes?: string[];
  /** The test metric that decides which model is best, shown as a bar chart. */
  headline: {
    /** Key into `ReportModel.metrics`. */
    metric: string;
    /** Human name of the metric (chart title and axis name). */
    label: string;
    /** True for errors and bits per byte, false for accuracies. */
    lowerIsBetter: boolean;
  };
  /** Training runs whose curves are drawn, one line per run. */
  runs: ReportRun[];
  /** Finished models (teacher included) for the bar chart, trade-off scatter and table. */
  models: ReportModel[];
  /** Class names for per-class errors and the confusion matrix; defaults to '0', '1', .... */
  classLabels?: string[];
  /** Optional extra labeled scatter. */
  tradeoffs?: ReportTradeoffs;
}
