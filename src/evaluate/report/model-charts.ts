import type { BarSeriesOption, ScatterSeriesOption } from 'echarts';
import { baseOption, ColorMap, finite, isLogScale, labelPlacements, paddedRange, valueAxis, type ChartSpec } from './chart-base.js';
import { formatMetric } from './format.js';
import type { ReportInput, ReportModel, ReportTradeoffs } from './types.js';

/** Bar per model of the headline test metric (teacher included); undefined when no model has it. */
export function headlineChart(input: ReportInput, colors: ColorMap): ChartSpec | undefined {
  const { metric, label, lowerIsBetter } = input.headline;
  const models = input.models.filter((m) => finite(m.metrics[metric]));
  if (models.length === 0) return undefined;
  const data = models.map((m) => ({
    value: m.metrics[metric]!,
    itemStyle: { color: colors.get(m.name) },
    // A static string per bar: a template like '{c}' would print all float digits.
    label: { formatter: formatMetric(m.metrics[metric]) },
  }));
  const series: BarSeriesOption = { type: 'bar', name: label, data, barMaxWidth: 64, label: { show: true, position: 'top' } };
  return {
    id: 'chart-headline',
    kind: 'headline',
    title: `${label} per model (${lowerIsBetter ? 'lower' : 'higher'} is better)`,
    wide: false,
    height: 320,
    option: {
      ...baseOption('item', false),
      xAxis: { type: 'category', data: models.map((m) => m.name), axisLabel: { interval: 0, rotate: models.length > 5 ? 30 : 0 } },
      yAxis: { ...valueAxis(label), scale: false, nameGap: 48 },
      series: [series],
    },
  };
}

/** Size vs latency: params (or file bytes when params are missing) against latency, one labeled point per model. */
export function sizeLatencyChart(models: ReportModel[], colors: ColorMap): ChartSpec | undefined {
  const timed = models.filter((m) => finite(m.latencyMs));
  const useParams = timed.length > 0 && timed.every((m) => finite(m.params));
  const xName = useParams ? 'parameters' : 'file bytes';
  return modelScatter(timed, colors, {
    id: 'chart-size-latency', kind: 'size-latency', title: `Size vs latency (${xName} vs ms per sample)`,
    xName, yName: 'latency per sample (ms)', x: (m) => (useParams ? m.params : m.bytes), y: (m) => m.latencyMs,
  });
}

/**
 * The size frontier: the headline metric against bytes on disk, one labeled point per model with a
 * file size (teacher, fp32, float16 and int8 students), so the smallest model at a given quality stands out.
 */
export function sizeFrontierChart(input: ReportInput, colors: ColorMap): ChartSpec | undefined {
  const { metric, label, lowerIsBetter } = input.headline;
  return modelScatter(input.models, colors, {
    id: 'chart-size-frontier', kind: 'size-frontier', title: `${label} vs bytes on disk (${lowerIsBetter ? 'lower' : 'higher'} is better)`,
    xName: 'file bytes', yName: label, x: (m) => m.bytes, y: (m) => m.metrics[metric],
  });
}

interface ScatterAxes {
  id: string;
  kind: string;
  title: string;
  xName: string;
  yName: string;
  x: (m: ReportModel) => number | undefined;
  y: (m: ReportModel) => number | undefined;
}

/** One labeled point per model that has both coordinates; undefined when none has. */
function modelScatter(models: ReportModel[], colors: ColorMap, axes: ScatterAxes): ChartSpec | undefined {
  const placed = models.filter((m) => finite(axes.x(m)) && finite(axes.y(m)));
  if (placed.length === 0) return undefined;
  const points = placed.map((m): [number, number] => [axes.x(m)!, axes.y(m)!]);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const places = labelPlacements(points, isLogScale(xs), isLogScale(ys));
  const series: ScatterSeriesOption[] = placed.map((m, i) => ({
    type: 'scatter',
    name: m.name,
    color: colors.get(m.name),
    symbolSize: 14,
    data: [points[i]!],
    label: { show: true, formatter: '{a}', ...places[i]!, color: '#333' },
  }));
  return {
    id: axes.id,
    kind: axes.kind,
    title: axes.title,
    wide: false,
    height: 320,
    option: {
      ...baseOption('item', true),
      xAxis: { ...scatterAxis(axes.xName, xs), nameGap: 26 },
      yAxis: { ...scatterAxis(axes.yName, ys), nameGap: 48 },
      series,
    },
  };
}

/** The optional extra labeled scatter (e.g. bytes per token vs bits per byte of each target kind). */
export function tradeoffsChart(t: ReportTradeoffs | undefined): ChartSpec | undefined {
  const points = (t?.points ?? []).filter((p) => finite(p.x) && finite(p.y));
  if (t === undefined || points.length === 0) return undefined;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const places = labelPlacements(points.map((p) => [p.x, p.y]), isLogScale(xs), isLogScale(ys));
  const series: ScatterSeriesOption = {
    type: 'scatter',
    name: t.title,
    colorBy: 'data',
    symbolSize: 12,
    data: points.map((p, i) => ({ name: p.label, value: [p.x, p.y], label: places[i]! })),
    label: { show: true, formatter: '{b}', color: '#333' },
  };
  return {
    id: 'chart-tradeoffs',
    kind: 'tradeoffs',
    title: t.title,
    wide: false,
    height: 320,
    option: {
      ...baseOption('item', false),
      xAxis: { ...scatterAxis(t.xName, xs), nameGap: 26 },
      yAxis: { ...scatterAxis(t.yName, ys), nameGap: 48 },
      series: [series],
    },
  };
}

/** A scatter value axis whose bounds leave room around the extreme points and their labels. */
function scatterAxis(name: string, values: number[]) {
  const axis = valueAxis(name, values);
  return { ...axis, ...paddedRange(values, axis.type === 'log') };
}
