import type { EChartsOption, LineSeriesOption } from 'echarts';
import { baseOption, ColorMap, finite, valueAxis, type ChartSpec } from './chart-base.js';
import type { MetricPoint, ReportRun } from './types.js';

/** Training metrics drawn first, in this order; any others follow alphabetically. */
const TRAIN_ORDER = ['loss', 'ce_loss', 'kd_loss'];

/** Metric names of points (excluding 'step'), known ones first. */
export function metricNames(points: MetricPoint[], preferred: string[] = []): string[] {
  const seen = new Set<string>();
  for (const p of points) for (const k of Object.keys(p)) if (k !== 'step') seen.add(k);
  const first = preferred.filter((k) => seen.has(k));
  const rest = [...seen].filter((k) => !preferred.includes(k)).sort();
  return [...first, ...rest];
}

/** One line chart per metric of the given part ('train' or 'eval'), one line per run. */
export function curveCharts(runs: ReportRun[], part: 'train' | 'eval', colors: ColorMap): ChartSpec[] {
  const names = metricNames(runs.flatMap((r) => r[part]), part === 'train' ? TRAIN_ORDER : []);
  return names.map((metric, i) => ({
    id: `chart-${part}-${i}`,
    kind: part,
    title: `${part === 'train' ? 'Training' : 'Evaluation'}: ${metric}`,
    wide: false,
    height: 300,
    option: curveOption(runs, part, metric, colors),
  }));
}

function curveOption(runs: ReportRun[], part: 'train' | 'eval', metric: string, colors: ColorMap): EChartsOption {
  // Runs without this metric (e.g. kd_loss of the baseline) get no empty legend entry; colors stay per run.
  const series: LineSeriesOption[] = runs.flatMap((run): LineSeriesOption[] => {
    const data = run[part]
      .filter((p) => finite(p.step) && finite(p[metric]))
      .map((p) => [p.step, p[metric]!])
      .sort((a, b) => a[0]! - b[0]!);
    if (data.length === 0) return [];
    return [{
      type: 'line',
      name: run.name,
      data,
      color: colors.get(run.name),
      // Symbols only help when points are sparse (a few evals); dense curves read better as lines.
      showSymbol: data.length <= 30,
      symbolSize: 5,
      sampling: 'lttb',
      lineStyle: { width: 2 },
      ...(part === 'eval' && run.selectedStep !== undefined
        ? { markLine: { symbol: 'none', label: { formatter: `${run.name}: selected step ${run.selectedStep}` }, lineStyle: { type: 'dashed' }, data: [{ xAxis: run.selectedStep }] } }
        : {}),
    }];
  });
  const values = series.flatMap((s) => (s.data as number[][]).map((d) => d[1]!));
  return {
    ...baseOption('axis', true),
    xAxis: { ...valueAxis('step'), nameGap: 26 },
    yAxis: { ...valueAxis(metric, values, 1000), nameGap: 48 },
    series,
  };
}
