import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { KennisError, withFileErrorsSync } from '../../core/errors/index.js';
import { ColorMap, type ChartSpec } from './chart-base.js';
import { confusionChart, perClassChart } from './class-charts.js';
import { curveCharts } from './curves.js';
import { escapeHtml, jsonForScript } from './format.js';
import { headlineChart, sizeFrontierChart, sizeLatencyChart, tradeoffsChart } from './model-charts.js';
import { headerHtml, summaryTableHtml } from './table.js';
import type { ReportInput } from './types.js';
import { checkReportInput } from './validate.js';

let echartsSource: string | undefined;

/** The minified echarts bundle, read once; inlined so the report opens without network. */
function echartsBundle(): string {
  if (echartsSource === undefined) {
    // 'echarts' resolves (CommonJS condition) to dist/echarts.js; the minified bundle sits next to it.
    const main = createRequire(import.meta.url).resolve('echarts');
    const source = readFileSync(path.join(path.dirname(main), 'echarts.min.js'), 'utf8');
    // Would end the inline <script> early; absent from echarts 6, checked so an upgrade cannot break pages silently.
    if (/<\/script|<!--/i.test(source)) throw new KennisError(`expected echarts.min.js without '</script' or '<!--', got one in ${main}; pin echarts to a version without it`);
    echartsSource = source;
  }
  return echartsSource;
}

/** Every chart of the report, in page order; sections without data are left out. */
export function reportCharts(input: ReportInput): ChartSpec[] {
  const labels = checkReportInput(input);
  const colors = new ColorMap([...input.runs.map((r) => r.name), ...input.models.map((m) => m.name)]);
  const charts: (ChartSpec | undefined)[] = [
    headlineChart(input, colors),
    sizeFrontierChart(input, colors),
    sizeLatencyChart(input.models, colors),
    tradeoffsChart(input.tradeoffs),
    ...curveCharts(input.runs, 'train', colors),
    ...curveCharts(input.runs, 'eval', colors),
    perClassChart(input.models, labels, colors),
    ...input.models.filter((m) => m.confusion !== undefined).map((m, i) => confusionChart(m, i, labels)),
  ];
  return charts.filter((c): c is ChartSpec => c !== undefined);
}

const STYLE = `
  body { margin: 0; padding: 24px 32px; background: #fff; color: #222; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header h1 { margin: 0 0 4px; font-size: 24px; }
  .subtitle { margin: 0 0 8px; color: #555; }
  .notes { margin: 8px 0 0; padding-left: 20px; }
  h2 { font-size: 15px; margin: 0 0 8px; font-weight: 600; }
  .summary { margin: 20px 0; }
  table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { padding: 4px 12px; border-bottom: 1px solid #e3e3e3; text-align: left; }
  th { background: #f5f5f5; font-weight: 600; }
  td.num { text-align: right; }
  td.best { font-weight: 700; color: #006d2c; }
  .grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
  .card { border: 1px solid #e3e3e3; border-radius: 6px; padding: 12px 14px; min-width: 0; }
  .card.wide { grid-column: 1 / -1; }
  .chart-error { color: #b00; }
`;

/**
 * Creates every chart from the inlined options; a chart that throws shows its error instead of
 * blanking the page. Adds the one thing JSON cannot carry: a compact tick formatter (25M, 1.2k)
 * for numeric axes, whose default comma numbers (25,000,000) crowd each other.
 */
const BOOT = `
(function () {
  function compact(v) {
    // [from, divisor, suffix]; 1000-9999 stay plain, like 1200 steps
    var a = Math.abs(v), units = [[1e12, 1e12, 'T'], [1e9, 1e9, 'G'], [1e6, 1e6, 'M'], [1e4, 1e3, 'k']];
    for (var i = 0; i < units.length; i++) if (a >= units[i][0]) return +(v / units[i][1]).toPrecision(3) + units[i][2];
    return String(+v.toPrecision(6));
  }
  function withCompactTicks(axes) {
    [].concat(axes || []).forEach(function (ax) {
      if ((ax.type === 'value' || ax.type === 'log') && !(ax.axisLabel && ax.axisLabel.formatter)) {
        ax.axisLabel = Object.assign({}, ax.axisLabel, { formatter: compact });
      }
    });
  }
  var specs = JSON.parse(document.getElementById('kennis-charts').textContent);
  var charts = [];
  specs.forEach(function (s) {
    var el = document.getElementById(s.id);
    try {
      withCompactTicks(s.option.xAxis);
      withCompactTicks(s.option.yAxis);
      var chart = echarts.init(el, null, { renderer: 'svg' });
      chart.setOption(s.option);
      charts.push(chart);
    } catch (err) {
      el.className += ' chart-error';
      el.textContent = 'chart failed: ' + err;
    }
  });
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute('data-charts-rendered', String(charts.length));
})();
`;

function cardHtml(c: ChartSpec): string {
  return `  <section class="card${c.wide ? ' wide' : ''}" data-kind="${escapeHtml(c.kind)}">
    <h2>${escapeHtml(c.title)}</h2>
    <div class="chart" id="${escapeHtml(c.id)}" style="height:${c.height}px"></div>
  </section>`;
}

/**
 * The report as one self-contained HTML page: header, summary table and echarts SVG charts,
 * with the echarts bundle, the input (#kennis-data) and the chart options (#kennis-charts) inlined.
 */
export function renderReportHtml(input: ReportInput): string {
  const charts = reportCharts(input);
  const options = charts.map((c) => ({ id: c.id, option: c.option }));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${headerHtml(input)}
${input.models.length > 0 ? summaryTableHtml(input) : ''}
<main class="grid">
${charts.map(cardHtml).join('\n')}
</main>
<script type="application/json" id="kennis-data">${jsonForScript(input)}</script>
<script type="application/json" id="kennis-charts">${jsonForScript(options)}</script>
<script>${echartsBundle()}</script>
<script>${BOOT}</script>
</body>
</html>
`;
}

/** Writes the report HTML (see renderReportHtml) to `file`, creating its directory if needed. */
export function writeReport(file: string, input: ReportInput): void {
  const html = renderReportHtml(input);
  withFileErrorsSync({ action: 'writing report', path: file }, () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, html);
  });
}
