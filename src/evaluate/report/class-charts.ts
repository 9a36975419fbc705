import type { BarSeriesOption, HeatmapSeriesOption } from 'echarts';
import { baseOption, ColorMap, finite, valueAxis, type ChartSpec } from './chart-base.js';
import type { ReportModel } from './types.js';

/** Above this many classes the confusion cells are too small for count labels. */
const MAX_LABELED_CLASSES = 20;

/** Grouped bars: test error per class, one bar per model; undefined when no model has per-class errors. */
export function perClassChart(models: ReportModel[], labels: string[], colors: ColorMap): ChartSpec | undefined {
  const withErrors = models.filter((m) => m.perClassErrors !== undefined);
  if (withErrors.length === 0) return undefined;
  const series: BarSeriesOption[] = withErrors.map((m) => ({
    type: 'bar',
    name: m.name,
    color: colors.get(m.name),
    data: m.perClassErrors!.map((v) => (finite(v) ? v : null)),
  }));
  return {
    id: 'chart-per-class',
    kind: 'per-class',
    title: 'Test error per class',
    wide: true,
    height: 320,
    option: {
      ...baseOption('axis', true),
      xAxis: { type: 'category', data: labels, name: 'class', nameLocation: 'middle', nameGap: 26, axisLabel: { interval: 0 } },
      yAxis: { ...valueAxis('test errors (count)'), scale: false, nameGap: 48 },
      series,
    },
  };
}

/** A class axis without line or ticks (cells are the grid); every label shown while they fit. */
function categoryAxis(labels: string[], name: string) {
  return {
    type: 'category' as const,
    data: labels,
    name,
    nameLocation: 'middle' as const,
    nameMoveOverlap: true,
    axisLine: { show: false },
    axisTick: { show: false },
    axisLabel: { interval: labels.length <= MAX_LABELED_CLASSES ? 0 : ('auto' as const) },
  };
}

/**
 * Confusion heatmap of one model (rows = true class, columns = predicted). Correct cells are
 * a fixed green; error cells are shaded by count against the largest error, so the few
 * mistakes stay visible next to a diagonal that is orders of magnitude larger.
 */
export function confusionChart(model: ReportModel, index: number, labels: string[]): ChartSpec {
  const m = model.confusion!;
  const hits: number[][] = [];
  const misses: number[][] = [];
  let maxMiss = 0;
  m.forEach((row, t) =>
    row.forEach((count, p) => {
      if (!finite(count) || count === 0) return; // zero cells stay blank
      if (t === p) hits.push([p, t, count]);
      else {
        misses.push([p, t, count]);
        maxMiss = Math.max(maxMiss, count);
      }
    }),
  );
  const label = { show: labels.length <= MAX_LABELED_CLASSES, color: '#222', fontSize: 10 };
  const cell = { borderColor: '#fff', borderWidth: 1 };
  const series: HeatmapSeriesOption[] = [
    { type: 'heatmap', name: 'correct', data: hits, label, itemStyle: { ...cell, color: '#a1d99b' } },
    { type: 'heatmap', name: 'errors', data: misses, label, itemStyle: cell },
  ];
  return {
    id: `chart-confusion-${index}`,
    kind: 'confusion',
    title: `Confusion matrix: ${model.name}`,
    wide: false,
    height: 360,
    option: {
      ...baseOption('item', false),
      grid: { left: 12, right: 20, top: 12, bottom: 12, outerBoundsMode: 'same', outerBoundsContain: 'all' },
      xAxis: { ...categoryAxis(labels, 'predicted'), nameGap: 24 },
      yAxis: { ...categoryAxis(labels, 'true'), nameGap: 30, inverse: true },
      visualMap: {
        seriesIndex: 1,
        min: 0,
        max: Math.max(maxMiss, 1),
        show: false,
        inRange: { color: ['#fee5d9', '#fb6a4a'] },
      },
      series,
    },
  };
}
