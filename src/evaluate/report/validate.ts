import { assert } from '../../core/errors/index.js';
import type { ReportInput } from './types.js';

/**
 * Checks the parts of a report input that would otherwise draw a silently wrong chart, and
 * returns the class labels (given ones, or '0'..'n-1' from the per-class data).
 */
export function checkReportInput(input: ReportInput): string[] {
  const names = new Set<string>();
  for (const m of input.models) {
    assert(!names.has(m.name), () => `report model names must be unique, got '${m.name}' twice; rename one of the models`);
    names.add(m.name);
  }
  const { metric } = input.headline;
  assert(
    input.models.length === 0 || input.models.some((m) => metric in m.metrics),
    () => `report headline metric '${metric}' is missing from every model (they have ${metricList(input)}); fix headline.metric`,
  );
  const sizes = input.models.flatMap((m) => [m.perClassErrors?.length, m.confusion?.length]).filter((n) => n !== undefined);
  const n = input.classLabels?.length ?? Math.max(0, ...sizes);
  const labels = input.classLabels ?? Array.from({ length: n }, (_, i) => String(i));
  for (const m of input.models) {
    const e = m.perClassErrors;
    assert(e === undefined || e.length === n, () => `report model '${m.name}' perClassErrors: expected ${n} values (one per class), got ${e!.length}`);
    const c = m.confusion;
    if (c === undefined) continue;
    assert(c.length === n, () => `report model '${m.name}' confusion: expected ${n} rows (one per class), got ${c.length}`);
    c.forEach((row, i) =>
      assert(row.length === n, () => `report model '${m.name}' confusion row ${i}: expected ${n} columns (one per class), got ${row.length}`),
    );
  }
  return labels;
}

function metricList(input: ReportInput): string {
  const keys = new Set(input.models.flatMap((m) => Object.keys(m.metrics)));
  return keys.size === 0 ? 'no metrics' : [...keys].map((k) => `'${k}'`).join(', ');
}
