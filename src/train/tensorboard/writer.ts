import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KennisError, assert } from '../../core/errors/index.js';
import type { GraphDef } from './graph.js';
import { experimentValue, sessionEndValue, sessionStartValue, type HParamValue, type HParamsMetric, type SessionStatus } from './hparams.js';
import { DEFAULT_BUCKETS, histogramOf } from './histogram.js';
import { encodeEvent, encodeFileVersionEvent, encodeMessage, encodeScalarsEvent } from './proto.js';
import { frameRecord } from './record.js';

/** Options of SummaryWriter.hparams. */
export interface HParamsOptions {
  /** Metric columns of the HParams view (scalar tags this run logs); written with the experiment description. */
  metrics?: readonly HParamsMetric[];
  /** Sessions with the same group name are repeats (e.g. seeds) of one configuration. */
  groupName?: string;
  /** Where the trained model is, shown as is. */
  modelUri?: string;
  /** Seconds since the epoch; default now. */
  startTime?: number;
}

/** The version string TensorBoard expects in the first record. */
export const FILE_VERSION = 'brain.Event:2';

/**
 * Writes TensorBoard summaries (scalars, histograms, the model graph, HParams sessions) to `<logdir>/events.out.tfevents.<secs>.<host>.<pid>.kennis`
 * without TensorFlow. Every record is appended with a synchronous write, so a crash of the
 * process loses nothing already written and a torn write affects at most the last record.
 */
export class SummaryWriter {
  /** Path of the event file. */
  readonly path: string;
  private fd: number | undefined;

  constructor(logdir: string) {
    fs.mkdirSync(logdir, { recursive: true });
    const now = Date.now() / 1000;
    const base = `events.out.tfevents.${Math.floor(now)}.${os.hostname()}.${process.pid}.kennis`;
    // a second writer in the same second and process must not append to the first one's file
    let name = base;
    for (let i = 1; ; i++) {
      try {
        this.fd = fs.openSync(path.join(logdir, name), 'wx');
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        name = `${base}-${i}`;
      }
    }
    this.path = path.join(logdir, name);
    this.append(encodeFileVersionEvent(now, FILE_VERSION));
  }

  /** Logs one scalar at `step`; wallTime in seconds since the epoch, default now. */
  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.scalars({ [tag]: value }, step, wallTime);
  }

  /** Logs several scalars at `step` in one event. */
  scalars(values: Readonly<Record<string, number>>, step: number, wallTime: number = Date.now() / 1000): void {
    const entries = Object.entries(values);
    checkStep(step, wallTime);
    for (const [tag, v] of entries) {
      checkTag(tag);
      assert(typeof v === 'number', () => `expected a number for summary '${tag}', got ${typeof v}`);
    }
    this.append(encodeScalarsEvent(wallTime, step, entries));
  }

  /** Logs the histogram of `values` (e.g. a weight tensor's) at `step`, in `buckets` equal-width buckets. */
  histogram(tag: string, values: ArrayLike<number>, step: number, buckets = DEFAULT_BUCKETS, wallTime: number = Date.now() / 1000): void {
    this.histograms({ [tag]: values }, step, buckets, wallTime);
  }

  /** Logs several histograms at `step` in one event, e.g. every weight of a model under 'weights/'. */
  histograms(values: Readonly<Record<string, ArrayLike<number>>>, step: number, buckets = DEFAULT_BUCKETS, wallTime: number = Date.now() / 1000): void {
    checkStep(step, wallTime);
    const summary = Object.entries(values).map(([tag, v]) => {
      checkTag(tag);
      return { tag, histo: histogramOf(v, buckets) };
    });
    this.append(encodeEvent({ wallTime, step, summary: { value: summary } }));
  }

  /** Writes the model's graph for TensorBoard's Graphs tab (see graphDefFromOnnx). */
  graph(graphDef: GraphDef, wallTime: number = Date.now() / 1000): void {
    checkStep(0, wallTime);
    this.append(encodeEvent({ wallTime, graphDef: encodeMessage('tensorboard.GraphDef', graphDef as unknown as Record<string, unknown>) }));
  }

  /**
   * Starts this run as an HParams session with its hyperparameters (flattenHParams turns a recipe
   * into them). With `metrics`, also describes the experiment (its columns: these hyperparameters
   * and metrics), as a single run's own directory needs; a sweep writes one experiment() at its
   * root instead. End the session with hparamsEnd().
   */
  hparams(values: Readonly<Record<string, HParamValue>>, options: HParamsOptions = {}): void {
    const wallTime = options.startTime ?? Date.now() / 1000;
    checkStep(0, wallTime);
    const summary = [sessionStartValue(values, wallTime, options.groupName, options.modelUri)];
    if (options.metrics) {
      for (const m of options.metrics) checkTag(m.tag);
      const domains = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]]));
      summary.unshift(experimentValue(domains, options.metrics, wallTime));
    }
    this.append(encodeEvent({ wallTime, summary: { value: summary } }));
  }

  /**
   * Describes an experiment of several sessions (a sweep), written once in the directory above its
   * runs: each hyperparameter with the values it takes, and the metric columns.
   */
  experiment(domains: Readonly<Record<string, readonly HParamValue[]>>, metrics: readonly HParamsMetric[], wallTime: number = Date.now() / 1000): void {
    checkStep(0, wallTime);
    for (const m of metrics) checkTag(m.tag);
    this.append(encodeEvent({ wallTime, summary: { value: [experimentValue(domains, metrics, wallTime)] } }));
  }

  /** Ends the HParams session started by hparams(). */
  hparamsEnd(status: SessionStatus = 'success', wallTime: number = Date.now() / 1000): void {
    checkStep(0, wallTime);
    this.append(encodeEvent({ wallTime, summary: { value: [sessionEndValue(status, wallTime)] } }));
  }

  /** Forces written records to stable storage (they are already in the file). */
  flush(): void {
    fs.fsyncSync(this.open());
  }

  /** Flushes and closes; later writes throw. Closing twice is a no-op. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private open(): number {
    if (this.fd === undefined) throw new KennisError(`summary writer for '${this.path}' is closed; create a new SummaryWriter`);
    return this.fd;
  }

  private append(event: Uint8Array): void {
    const record = frameRecord(event);
    const fd = this.open();
    let at = 0;
    while (at < record.length) at += fs.writeSync(fd, record, at, record.length - at);
  }
}

function checkStep(step: number, wallTime: number): void {
  assert(Number.isSafeInteger(step), () => `expected an integer summary step, got ${step}`);
  assert(Number.isFinite(wallTime), () => `expected a finite summary wall time in seconds, got ${wallTime}`);
}

function checkTag(tag: string): void {
  assert(tag.length > 0, () => `expected a non-empty summary tag, got ''`);
}
