export type { MetricPoint, ReportInput, ReportModel, ReportRun, ReportTradeoffs } from './types.js';
export type { ChartSpec } from './chart-base.js';
export { renderReportHtml, reportCharts, writeReport } from './page.js';
