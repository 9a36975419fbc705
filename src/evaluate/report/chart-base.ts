import type { EChartsOption } from 'echarts';

/** One chart of the page: an HTML card holding an echarts container. */
export interface ChartSpec {
  /** DOM id of the chart container. */
  id: string;
  /** What the chart shows, for tests and the data-kind attribute (e.g. 'train', 'headline'). */
  kind: string;
  /** Card heading (escaped when rendered). */
  title: string;
  /** True for cards spanning both grid columns. */
  wide: boolean;
  /** Container height in CSS pixels. */
  height: number;
  /** echarts option; plain JSON (no functions) because it is inlined into the page. */
  option: EChartsOption;
}

/** Colorblind-friendly palette (Okabe-Ito, then Tableau extras). */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#8C6D31', '#7F7F7F', '#BCBD22', '#17BECF'];

/** Stable color per name so a run and the model it produced look the same in every chart. */
export class ColorMap {
  private readonly colors = new Map<string, string>();
  constructor(names: Iterable<string>) {
    for (const n of names) if (!this.colors.has(n)) this.colors.set(n, PALETTE[this.colors.size % PALETTE.length]!);
  }
  /** Color of a name given at construction (a fresh palette color otherwise). */
  get(name: string): string {
    let c = this.colors.get(name);
    if (c === undefined) {
      c = PALETTE[this.colors.size % PALETTE.length]!;
      this.colors.set(name, c);
    }
    return c;
  }
}

/** Options every chart shares: no animation (deterministic screenshots), a legend on top, a grid that keeps labels inside. */
export function baseOption(tooltip: 'axis' | 'item', legend: boolean): EChartsOption {
  return {
    animation: false,
    textStyle: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' },
    tooltip: { trigger: tooltip, confine: true },
    ...(legend ? { legend: { type: 'scroll', top: 0, left: 'center' } } : {}),
    grid: { left: 12, right: 28, top: legend ? 40 : 20, bottom: 12, outerBoundsMode: 'same', outerBoundsContain: 'all' },
  };
}

/** True when positive values span more than `ratio`x (e.g. params from 10k to 10M), so a log axis reads better. */
export function isLogScale(values: number[], ratio = 30): boolean {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  return pos.length === values.length && pos.length > 1 && Math.max(...pos) / Math.min(...pos) > ratio;
}

/** A numeric axis with its name centered along it; logarithmic when isLogScale(values, logRatio). */
export function valueAxis(name: string, values: number[] = [], logRatio = 30) {
  return {
    type: isLogScale(values, logRatio) ? ('log' as const) : ('value' as const),
    name,
    nameLocation: 'middle' as const,
    nameMoveOverlap: true,
    scale: true,
    splitLine: { lineStyle: { color: '#eee' } },
  };
}

/** Fraction of the data span kept free on each side of a scatter, so points and labels clear the axes. */
const PAD_FRACTION = 0.08;

/**
 * Axis bounds for a scatter: the data range padded on both sides and rounded to nice values;
 * never below 0 for non-negative data (sizes and latencies), whole decades on a log axis.
 */
export function paddedRange(values: number[], log: boolean): { min: number; max: number } | undefined {
  const v = values.filter(Number.isFinite);
  if (v.length === 0) return undefined;
  const lo = Math.min(...v), hi = Math.max(...v);
  if (log) return { min: 10 ** Math.floor(Math.log10(lo) - 0.05), max: 10 ** Math.ceil(Math.log10(hi) + 0.05) };
  const span = hi - lo || Math.abs(hi) || 1;
  const step = niceStep(span / 4);
  let min = Math.floor((lo - PAD_FRACTION * span) / step) * step;
  if (lo >= 0 && min < 0) min = 0;
  const max = Math.ceil((hi + PAD_FRACTION * span) / step) * step;
  // Rounding to step keeps float noise (0.30000000000000004) out of the tick labels.
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  return { min: +min.toFixed(digits), max: +max.toFixed(digits) };
}

/** 1, 2 or 5 times a power of ten, at least x. */
function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= x)!;
}

/** Where a scatter label goes: side of its point and a pixel offset [dx, dy]. */
export interface LabelPlacement {
  /** Side of the point. */
  position: 'left' | 'right';
  /** Offset in pixels, to stack labels of nearby points. */
  offset: [number, number];
}
/** Points closer than this fraction of both axis ranges count as one cluster for labeling. */
const NEAR = 0.08;
/** Vertical distance between stacked labels (12px font). */
const LINE = 14;

/**
 * Label placement per scatter point: labels go right of the point, or left in the right part
 * of the plot (so they are not clipped at the edge); labels of (nearly) coincident points, like
 * two students of the same size, are stacked vertically instead of printed over each other.
 */
export function labelPlacements(points: [number, number][], xLog: boolean, yLog: boolean): LabelPlacement[] {
  const norm = (vals: number[], log: boolean): number[] => {
    const t = vals.map((v) => (log ? Math.log10(v) : v));
    const lo = Math.min(...t), span = Math.max(...t) - lo || 1;
    return t.map((v) => (v - lo) / span);
  };
  const xs = norm(points.map((p) => p[0]), xLog);
  const ys = norm(points.map((p) => p[1]), yLog);
  const cluster: number[] = [];
  points.forEach((_, i) => {
    const j = cluster.findIndex((_, k) => Math.abs(xs[i]! - xs[k]!) < NEAR && Math.abs(ys[i]! - ys[k]!) < NEAR);
    cluster.push(j >= 0 ? cluster[j]! : i);
  });
  return points.map((_, i) => {
    const members = cluster.flatMap((c, k) => (c === cluster[i] ? [k] : []));
    const rank = members.indexOf(i);
    const dy = (rank - (members.length - 1) / 2) * LINE;
    return { position: xs[cluster[i]!]! > 0.6 ? 'left' : 'right', offset: [0, dy] };
  });
}

/** Finite numbers only: JSON turns NaN/Infinity into null, which echarts would draw as 0 in some charts. */
export function finite(v: number | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
