import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createProgress } from '../../src/core/progress/index.js';

/** A real Writable that records every chunk. */
class Capture extends Writable {
  chunks: string[] = [];
  constructor(readonly isTTY = false, readonly columns = 80) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString());
    cb();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

function clock() {
  let t = 0;
  return { now: () => t, at: (ms: number) => { t = ms; } };
}

const PLAIN = /^(\w+): (\d+)\/(\d+) (\w+) \((\d+)%\) ([\d.]+) (\w+)\/s (?:eta (\d+)s|done in (\d+)s)(.*)$/;

/** Parses a plain line and checks it against numbers computed here from done, total and the clock. */
function checkPlain(line: string, want: { label: string; unit: string; done: number; total: number; ms: number; finished: boolean }) {
  const m = PLAIN.exec(line);
  assert.ok(m, `unexpected line format: ${line}`);
  const [, label, done, total, unit, pct, rate, unit2, eta, took] = m;
  assert.equal(label, want.label);
  assert.equal(unit, want.unit);
  assert.equal(unit2, want.unit);
  assert.equal(Number(done), want.done);
  assert.equal(Number(total), want.total);
  assert.equal(Number(pct), Math.floor((100 * want.done) / want.total));
  const expectedRate = want.done / (want.ms / 1000);
  assert.ok(Math.abs(Number(rate) - expectedRate) <= 0.5 + 0.001 * expectedRate, `rate ${rate} vs ${expectedRate}`);
  if (want.finished) {
    assert.equal(Number(took), Math.round(want.ms / 1000));
  } else {
    assert.equal(Number(eta), Math.round((want.total - want.done) / expectedRate));
  }
  return m[10]!;
}

test('non-TTY: a plain line at most every 5 s with done, percent, rate and eta, plus a final line', () => {
  const out = new Capture();
  const c = clock();
  const p = createProgress({ total: 40000, unit: 'rows', label: 'precompute', stream: out, now: c.now });
  const updates: [number, number][] = [[1000, 2000], [4900, 15000], [5000, 15600], [7000, 22000], [9999, 30000], [10000, 31000], [11000, 36000]];
  for (const [ms, done] of updates) { c.at(ms); p.update(done, ms === 10000 ? { loss: 2.5, lr: 0.001 } : undefined); }
  c.at(12000);
  p.update(40000);
  p.finish();
  p.finish(); // idempotent
  p.update(1); // ignored after finish
  const lines = out.text.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 3);
  assert.equal(checkPlain(lines[0]!, { label: 'precompute', unit: 'rows', done: 15600, total: 40000, ms: 5000, finished: false }), '');
  assert.equal(checkPlain(lines[1]!, { label: 'precompute', unit: 'rows', done: 31000, total: 40000, ms: 10000, finished: false }), ' loss=2.5 lr=0.001');
  // extras stick until overwritten
  assert.equal(checkPlain(lines[2]!, { label: 'precompute', unit: 'rows', done: 40000, total: 40000, ms: 12000, finished: true }), ' loss=2.5 lr=0.001');
});

test('non-TTY: intervalSec is configurable and an unknown total drops percent and eta', () => {
  const out = new Capture();
  const c = clock();
  const p = createProgress({ unit: 'steps', label: 'train', stream: out, now: c.now, intervalSec: 1 });
  for (let ms = 250; ms <= 3000; ms += 250) { c.at(ms); p.update(ms / 50, { loss: 1 / ms }); }
  p.finish();
  const lines = out.text.trimEnd().split('\n');
  assert.equal(lines.length, 4); // at 1 s, 2 s, 3 s, and the final line
  for (const [i, line] of lines.entries()) {
    const m = /^train: (\d+) steps ([\d.]+) steps\/s (eta|done)?.*loss=([\d.e-]+)$/.exec(line);
    assert.ok(m, line);
    const ms = Math.min(3000, (i + 1) * 1000);
    assert.equal(Number(m[1]), ms / 50);
    assert.equal(Number(m[2]), ms / 50 / (ms / 1000));
    assert.equal(m[3], i === 3 ? 'done' : undefined);
    assert.ok(Math.abs(Number(m[4]) - 1 / ms) <= 1e-3 / ms);
  }
});

test('TTY: one line redrawn with carriage returns, at most 10 redraws/s, newline only at the end', () => {
  const out = new Capture(true, 80);
  const c = clock();
  const p = createProgress({ total: 1000, unit: 'steps', label: 'train', stream: out, now: c.now });
  for (let ms = 20; ms <= 1000; ms += 20) { c.at(ms); p.update(ms, { loss: 1000 / ms }); }
  const redraws = out.chunks.length;
  // updates every 20 ms with a 100 ms cap: draws at 20, 120, ..., 920
  assert.equal(redraws, 10);
  c.at(1000);
  p.finish();
  assert.equal(out.chunks.length, redraws + 1);
  for (const [i, chunk] of out.chunks.entries()) {
    assert.ok(chunk.startsWith('\r'), JSON.stringify(chunk));
    const last = i === out.chunks.length - 1;
    assert.equal(chunk.endsWith('\n'), last);
    const visible = chunk.replace('\r', '').replace('\x1b[K', '').replace('\n', '');
    assert.ok(visible.length <= 79, `line of ${visible.length} chars does not fit 80 columns`);
    assert.ok(!visible.includes('\n'));
    assert.match(visible, /^train \[[█░]+\] +\d+% \d+\/1000 steps [\d.]+ steps\/s (eta|done in) \d+s loss=[\d.]+$/);
  }
  const first = out.chunks[0]!;
  assert.match(first, / 2% 20\/1000 steps 1000 steps\/s eta 1s loss=50\b/);
  assert.match(out.chunks.at(-1)!, /\[█+\] 100% 1000\/1000 steps 1000 steps\/s done in 1s loss=1\b/);
});

test('TTY: narrow terminals drop the bar and truncate; log() keeps the bar intact', () => {
  const out = new Capture(true, 30);
  const c = clock();
  const p = createProgress({ total: 100, unit: 'rows', label: 'precompute', stream: out, now: c.now });
  c.at(1000);
  p.update(50, { loss: 0.5 });
  p.log('checkpoint saved');
  p.finish();
  const [bar, logged, redraw, final] = out.chunks;
  assert.equal(out.chunks.length, 4);
  for (const chunk of [bar!, redraw!, final!]) {
    const visible = chunk.replace(/\r|\x1b\[K|\n/g, '');
    assert.ok(visible.length <= 29 && !visible.includes('['), visible);
    assert.ok(visible.startsWith('precompute '));
  }
  assert.equal(logged, '\r\x1b[Kcheckpoint saved\n');
  assert.ok(final!.endsWith('\n'));
});

test('json: machine-readable lines at the plain cadence, never a bar', () => {
  const out = new Capture(true, 80);
  const c = clock();
  const p = createProgress({ total: 200, unit: 'rows', label: 'precompute', stream: out, now: c.now, json: true, intervalSec: 2 });
  c.at(1000); p.update(50);
  c.at(2000); p.update(100, { shard: 'part-0' });
  p.log('hello');
  c.at(4000); p.finish();
  const objs = out.text.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(objs.length, 3);
  assert.deepEqual(objs[0], {
    label: 'precompute', unit: 'rows', done: 100, total: 200, percent: 50, rate: 100 / 2, etaSec: 100 / 50,
    elapsedSec: 2, finished: false, extra: { shard: 'part-0' },
  });
  assert.deepEqual(objs[1], { label: 'precompute', message: 'hello' });
  assert.equal(objs[2].finished, true);
  assert.equal(objs[2].rate, 100 / 4);
});

test('writes to process.stderr by default, not stdout', () => {
  const seen: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string) => { seen.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const p = createProgress({ total: 10, unit: 'rows', label: 'x', tty: false, now: () => 1000 });
    p.finish();
  } finally {
    process.stderr.write = original;
  }
  assert.equal(seen.length, 1);
  assert.match(seen[0]!, /^x: 0\/10 rows \(0%\)/);
});
