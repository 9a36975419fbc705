import { barLine, jsonLine, plainLine, type ProgressSnapshot } from './format.js';

/** The part of a writable stream the reporter uses (process.stderr fits). */
export interface ProgressStream {
  /** Writes text. */
  write(chunk: string): unknown;
  /** True for an interactive terminal. */
  isTTY?: boolean;
  /** Terminal width in characters. */
  columns?: number;
}

/** Options of createProgress. */
export interface ProgressOptions {
  /** Units expected in total; omit when unknown (no percentage, bar or eta). */
  total?: number;
  /** Unit of work shown after counts and in the rate, e.g. 'rows' or 'steps'. */
  unit: string;
  /** Name printed first, e.g. 'precompute'. */
  label: string;
  /** Where to write; stderr by default so stdout stays clean for --json. */
  stream?: ProgressStream;
  /** Write one JSON object per report (at the plain-line cadence) instead of text. */
  json?: boolean;
  /** Force (true) or forbid (false) the in-place bar; default: stream.isTTY. */
  tty?: boolean;
  /** Minimum seconds between plain/JSON lines (the final line is always written). */
  intervalSec?: number;
  /** Maximum in-place redraws per second on a terminal. */
  redrawsPerSec?: number;
  /** Clock in milliseconds; injectable so tests are deterministic. */
  now?: () => number;
}

/** A progress reporter for one long-running loop. */
export interface Progress {
  /** Reports `done` units so far; extra fields (e.g. loss) are merged into the ones already shown. */
  update(done: number, extra?: Record<string, string | number>): void;
  /** Prints a message line without garbling the bar (redrawn after it); in JSON mode as {label, message}. */
  log(message: string): void;
  /** Writes the final report (always, ending with a newline); later calls are ignored. */
  finish(extra?: Record<string, string | number>): void;
}

const CLEAR_LINE = '\x1b[K';

/**
 * Creates a progress reporter: on a terminal a single line redrawn in place with `\r` (capped
 * at redrawsPerSec), elsewhere a plain line at most every intervalSec, e.g.
 * `precompute: 4096/8000 rows (51%) 3120 rows/s eta 1s`.
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const json = options.json ?? false;
  const tty = !json && (options.tty ?? stream.isTTY === true);
  const intervalMs = (options.intervalSec ?? 5) * 1000;
  const redrawMs = 1000 / (options.redrawsPerSec ?? 10);
  const start = now();
  let lastWrite = tty ? -Infinity : start;
  let done = 0;
  let extra: Record<string, string | number> = {};
  let finished = false;
  let drawn = false;

  const snapshot = (t: number): ProgressSnapshot => {
    const elapsedSec = (t - start) / 1000;
    const rate = elapsedSec > 0 ? done / elapsedSec : undefined;
    const total = options.total;
    const etaSec = total !== undefined && rate !== undefined && rate > 0 ? Math.max(0, total - done) / rate : undefined;
    return { label: options.label, unit: options.unit, done, total, elapsedSec, rate, etaSec, extra, finished };
  };

  const draw = (t: number): void => {
    const s = snapshot(t);
    if (tty) {
      stream.write(`\r${barLine(s, stream.columns ?? 80)}${CLEAR_LINE}${finished ? '\n' : ''}`);
      drawn = !finished;
    } else {
      stream.write(`${json ? jsonLine(s) : plainLine(s)}\n`);
    }
    lastWrite = t;
  };

  return {
    update(value, more) {
      if (finished) return;
      done = value;
      if (more) extra = { ...extra, ...more };
      const t = now();
      if (t - lastWrite >= (tty ? redrawMs : intervalMs)) draw(t);
    },
    log(message) {
      if (tty && drawn) {
        stream.write(`\r${CLEAR_LINE}${message}\n`);
        if (!finished) draw(now());
      } else {
        stream.write(`${json ? JSON.stringify({ label: options.label, message }) : message}\n`);
      }
    },
    finish(more) {
      if (finished) return;
      if (more) extra = { ...extra, ...more };
      finished = true;
      draw(now());
    },
  };
}
