import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KennisError, assert } from '../../core/errors/index.js';
import { encodeFileVersionEvent, encodeScalarsEvent } from './proto.js';
import { frameRecord } from './record.js';

/** The version string TensorBoard expects in the first record. */
export const FILE_VERSION = 'brain.Event:2';

/**
 * Writes TensorBoard scalar summaries to `<logdir>/events.out.tfevents.<secs>.<host>.<pid>.kennis`
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
    assert(Number.isSafeInteger(step), () => `expected an integer summary step, got ${step}`);
    assert(Number.isFinite(wallTime), () => `expected a finite summary wall time in seconds, got ${wallTime}`);
    for (const [tag, v] of entries) {
      assert(tag.length > 0, () => `expected a non-empty summary tag, got ''`);
      assert(typeof v === 'number', () => `expected a number for summary '${tag}', got ${typeof v}`);
    }
    this.append(encodeScalarsEvent(wallTime, step, entries));
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
