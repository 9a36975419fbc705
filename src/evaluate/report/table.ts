import { escapeHtml, formatBytes, formatCount, formatMetric, formatMs } from './format.js';
import type { ReportInput } from './types.js';

/** The header block: title, optional subtitle and free-text note lines. */
export function headerHtml(input: ReportInput): string {
  const subtitle = input.subtitle ? `\n  <p class="subtitle">${escapeHtml(input.subtitle)}</p>` : '';
  const notes = (input.notes ?? []).map((n) => `\n    <li>${escapeHtml(n)}</li>`).join('');
  return `<header>
  <h1>${escapeHtml(input.title)}</h1>${subtitle}${notes ? `\n  <ul class="notes">${notes}\n  </ul>` : ''}
</header>`;
}

/** Summary table: one row per model with every metric (headline first), params, bytes and latency; the best headline value is bold. */
export function summaryTableHtml(input: ReportInput): string {
  const { metric, lowerIsBetter } = input.headline;
  const keys = [...new Set(input.models.flatMap((m) => Object.keys(m.metrics)))];
  const metrics = [...keys.filter((k) => k === metric), ...keys.filter((k) => k !== metric).sort()];
  const headlineValues = input.models.map((m) => m.metrics[metric]).filter((v): v is number => Number.isFinite(v));
  const best = headlineValues.length === 0 ? undefined : (lowerIsBetter ? Math.min : Math.max)(...headlineValues);
  const head = ['model', ...metrics, 'params', 'bytes', 'latency / sample'].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const rows = input.models.map((m) => {
    const cells = metrics.map((k) => {
      const v = m.metrics[k];
      const cls = k === metric && v === best ? ' class="num best"' : ' class="num"';
      return `<td${cls}>${escapeHtml(formatMetric(v))}</td>`;
    });
    const extra = [formatCount(m.params), formatBytes(m.bytes), formatMs(m.latencyMs)].map((s) => `<td class="num">${escapeHtml(s)}</td>`);
    return `      <tr><td>${escapeHtml(m.name)}</td>${[...cells, ...extra].join('')}</tr>`;
  });
  return `<section class="summary">
  <h2>Models</h2>
  <table>
    <thead><tr>${head}</tr></thead>
    <tbody>
${rows.join('\n')}
    </tbody>
  </table>
</section>`;
}
