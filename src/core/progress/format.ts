/** What a progress report shows at one moment. */
export interface ProgressSnapshot {
  /** Command or phase name, e.g. 'precompute'. */
  label: string;
  /** Unit of work, e.g. 'rows'. */
  unit: string;
  /** Units done so far. */
  done: number;
  /** Units expected in total, if known. */
  total: number | undefined;
  /** Seconds since the reporter was created. */
  elapsedSec: number;
  /** Average units per second since creation; undefined before any time has passed. */
  rate: number | undefined;
  /** Seconds left at the current rate; undefined without a total or a rate. */
  etaSec: number | undefined;
  /** Extra fields such as loss, shown as key=value. */
  extra: Readonly<Record<string, string | number>>;
  /** True for the final report written by finish(). */
  finished: boolean;
}

/** Integer percentage of total done, clamped to [0, 100]. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.max(0, Math.floor((100 * done) / total)));
}

/** A rate with precision that suits its size: 3120, 45.2, 1.25, 0.031. */
export function formatRate(rate: number): string {
  if (rate >= 100) return rate.toFixed(0);
  if (rate >= 10) return rate.toFixed(1);
  if (rate >= 1) return rate.toFixed(2);
  return rate.toPrecision(2);
}

/** Whole seconds as 42s, 3m07s or 2h05m. */
export function formatDuration(sec: number): string {
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** An extra field value: integers as is, other numbers to 4 significant digits. */
export function formatValue(v: string | number): string {
  if (typeof v === 'string' || Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(1) : String(Number(v.toPrecision(4)));
}

/** The parts after the counts: rate, eta (or total time when finished) and extras. */
function tail(s: ProgressSnapshot): string[] {
  const parts: string[] = [];
  if (s.rate !== undefined) parts.push(`${formatRate(s.rate)} ${s.unit}/s`);
  if (s.finished) parts.push(`done in ${formatDuration(s.elapsedSec)}`);
  else if (s.etaSec !== undefined) parts.push(`eta ${formatDuration(s.etaSec)}`);
  for (const [k, v] of Object.entries(s.extra)) parts.push(`${k}=${formatValue(v)}`);
  return parts;
}

/** A log-friendly line: `precompute: 4096/8000 rows (51%) 3120 rows/s eta 1s loss=0.1234`. */
export function plainLine(s: ProgressSnapshot): string {
  const count = s.total !== undefined ? `${s.done}/${s.total} ${s.unit} (${percent(s.done, s.total)}%)` : `${s.done} ${s.unit}`;
  return [`${s.label}: ${count}`, ...tail(s)].join(' ');
}

const BAR_MAX = 30;
const BAR_MIN = 5;

/** A terminal line of at most `columns - 1` characters (so it never wraps): label, bar, counts, rate, eta, extras. */
export function barLine(s: ProgressSnapshot, columns: number): string {
  const counts = s.total !== undefined
    ? `${String(percent(s.done, s.total)).padStart(3)}% ${s.done}/${s.total} ${s.unit}`
    : `${s.done} ${s.unit}`;
  const rest = [counts, ...tail(s)].join(' ');
  const width = columns - 1;
  let line = `${s.label} ${rest}`;
  if (s.total !== undefined) {
    const barWidth = Math.min(BAR_MAX, width - line.length - 3);
    if (barWidth >= BAR_MIN) {
      const filled = Math.round((barWidth * percent(s.done, s.total)) / 100);
      line = `${s.label} [${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}] ${rest}`;
    }
  }
  return line.length > width ? line.slice(0, Math.max(0, width)) : line;
}

/** One JSON object per report, for machine readers of stderr. */
export function jsonLine(s: ProgressSnapshot): string {
  return JSON.stringify({
    label: s.label, unit: s.unit, done: s.done, total: s.total ?? null,
    percent: s.total !== undefined ? percent(s.done, s.total) : null,
    rate: s.rate ?? null, etaSec: s.etaSec ?? null, elapsedSec: s.elapsedSec, finished: s.finished, extra: s.extra,
  });
}
