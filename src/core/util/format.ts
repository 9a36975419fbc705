/** Numbers as people read them in tables, reports and CLI lines. */

/** A metric value with 4 significant digits, '—' when absent or not finite. */
export function formatMetric(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  return trimZeros(v.toPrecision(4));
}

/** A count with k / M / G suffix, e.g. 101770 -> '101.8k'. */
export function formatCount(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return withSuffix(v, 1000, ['', 'k', 'M', 'G', 'T']);
}

/** A byte size in binary units, e.g. 407080 -> '397.5 KiB'. */
export function formatBytes(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return withSuffix(v, 1024, [' B', ' KiB', ' MiB', ' GiB', ' TiB']);
}

/** A latency in milliseconds with 3 significant digits. */
export function formatMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  return `${trimZeros(v.toPrecision(3))} ms`;
}

function withSuffix(v: number, base: number, suffixes: string[]): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < suffixes.length - 1) {
    x /= base;
    i++;
  }
  const digits = i === 0 ? String(Math.round(x)) : trimZeros(x.toPrecision(4));
  return digits + suffixes[i];
}

/** '1.500' -> '1.5'; exponent forms ('1.235e+7') are left alone. */
function trimZeros(s: string): string {
  if (s.includes('e')) return s;
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
