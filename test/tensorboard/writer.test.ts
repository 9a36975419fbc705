import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SummaryWriter, crc32c, maskedCrc32c } from '../../src/train/tensorboard/index.js';
import { KennisError } from '../../src/core/errors/index.js';
import { crcBitwise, masked, parseMessage, readRecords } from './helpers.js';

interface DecodedEvent { wallTime?: number; step: bigint; fileVersion?: string; values: { tag: string; value: number }[] }

function decodeEvent(b: Uint8Array): DecodedEvent {
  const ev: DecodedEvent = { step: 0n, values: [] };
  for (const f of parseMessage(b)) {
    if (f.field === 1) { assert.equal(f.wire, 1); ev.wallTime = f.f64; }
    else if (f.field === 2) { assert.equal(f.wire, 0); ev.step = BigInt.asIntN(64, f.int!); }
    else if (f.field === 3) { assert.equal(f.wire, 2); ev.fileVersion = new TextDecoder().decode(f.bytes); }
    else if (f.field === 5) {
      for (const v of parseMessage(f.bytes!)) {
        assert.equal(v.field, 1, 'Summary.value is field 1');
        let tag = '';
        let value = NaN;
        for (const g of parseMessage(v.bytes!)) {
          if (g.field === 1) tag = new TextDecoder().decode(g.bytes);
          else if (g.field === 2) { assert.equal(g.wire, 5, 'simple_value is a float'); value = g.f32!; }
        }
        ev.values.push({ tag, value });
      }
    } else if (f.field === 10) { assert.equal(f.wire, 2, 'source_metadata is a message'); }
    else throw new Error(`unexpected Event field ${f.field}`);
  }
  return ev;
}

function readEvents(file: string): DecodedEvent[] {
  return readRecords(fs.readFileSync(file)).map(decodeEvent);
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kennis-tb-'));
}

// ---- tests ----

test('crc32c matches the standard check value and the RFC 3720 test vectors', () => {
  const enc = new TextEncoder();
  assert.equal(crc32c(enc.encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  // continuation, and agreement with the bitwise implementation on arbitrary bytes
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff);
  assert.equal(crc32c(data.subarray(300), crc32c(data.subarray(0, 300))), crc32c(data));
  assert.equal(crc32c(data), crcBitwise(data));
  assert.equal(maskedCrc32c(data), masked(data));
});

test('an event file decodes with an independent reader: file_version first, every CRC, tag, value and step', () => {
  const dir = path.join(tmpdir(), 'run', 'a');
  const w = new SummaryWriter(dir);
  const name = path.basename(w.path);
  assert.match(name, new RegExp(`^events\\.out\\.tfevents\\.\\d+\\.${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.${process.pid}\\.kennis$`));
  assert.equal(path.dirname(w.path), dir);
  const written: { tag: string; value: number; step: number; wallTime: number }[] = [];
  const values = [0, -1.5, 1e-30, 3.141592653589793, 1e38, -0, Infinity, NaN, 123456.789];
  values.forEach((value, i) => {
    const step = [0, 1, 2, 1000, 2 ** 40, -5, 7, 8, 2 ** 53 - 1][i]!;
    const tag = i % 2 ? `loss/kd_${i}` : `指標/${i}`;
    const wallTime = 1_700_000_000.25 + i;
    w.scalar(tag, value, step, wallTime);
    written.push({ tag, value, step, wallTime });
  });
  w.scalars({ 'train/loss': 0.25, 'train/lr': 3e-4 }, 42, 1_700_000_100.5);
  const before = Date.now() / 1000;
  w.scalar('default/time', 1, 43);
  w.close();
  w.close();

  const events = readEvents(w.path);
  assert.equal(events.length, 1 + values.length + 2);
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  assert.ok(Math.abs(events[0]!.wallTime! - Date.now() / 1000) < 600);
  assert.equal(events[0]!.values.length, 0);
  written.forEach((x, i) => {
    const ev = events[i + 1]!;
    assert.equal(ev.wallTime, x.wallTime);
    assert.equal(ev.step, BigInt(x.step));
    assert.equal(ev.values.length, 1);
    assert.equal(ev.values[0]!.tag, x.tag);
    assert.ok(Object.is(ev.values[0]!.value, Math.fround(x.value)), `value ${x.value} read as ${ev.values[0]!.value}`);
  });
  const multi = events[values.length + 1]!;
  assert.equal(multi.step, 42n);
  assert.deepEqual(multi.values, [{ tag: 'train/loss', value: 0.25 }, { tag: 'train/lr', value: Math.fround(3e-4) }]);
  const last = events[values.length + 2]!;
  assert.ok(last.wallTime! >= before - 1 && last.wallTime! <= Date.now() / 1000 + 1, 'default wall time is now');
});

test('records are on disk before close, and writers never share a file', () => {
  const dir = tmpdir();
  const a = new SummaryWriter(dir);
  const b = new SummaryWriter(dir);
  assert.notEqual(a.path, b.path);
  a.scalar('x', 1, 1);
  a.scalar('x', 2, 2);
  // read while still open: everything appended so far decodes, as after a crash
  const live = readEvents(a.path);
  assert.deepEqual(live.slice(1).map((e) => [e.step, e.values[0]!.value]), [[1n, 1], [2n, 2]]);
  a.flush();
  b.scalar('y', 5, 9);
  a.close();
  b.close();
  assert.equal(readEvents(b.path)[1]!.values[0]!.tag, 'y');
  assert.throws(() => a.scalar('x', 3, 3), (e: Error) => e instanceof KennisError && /closed/.test(e.message));
  assert.throws(() => b.flush(), KennisError);
  const c = new SummaryWriter(dir);
  assert.throws(() => c.scalar('x', 1, 1.5), (e: Error) => e instanceof KennisError && /integer summary step, got 1.5/.test(e.message));
  assert.throws(() => c.scalar('', 1, 1), KennisError);
  c.close();
  assert.equal(readEvents(c.path).length, 1);
});

function hasPythonTensorboard(): boolean {
  try {
    execFileSync('python3', ['-c', 'import tensorboard'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('python tensorboard reads the file back', { skip: hasPythonTensorboard() ? false : 'python3 with tensorboard is not installed' }, () => {
  const dir = tmpdir();
  const w = new SummaryWriter(dir);
  w.scalar('loss', 0.5, 3, 1_700_000_000);
  w.close();
  const script = [
    'import sys',
    'from tensorboard.backend.event_processing.event_file_loader import EventFileLoader',
    'for e in EventFileLoader(sys.argv[1]).Load():',
    '    for v in e.summary.value:',
    '        print(e.step, v.tag, v.tensor.float_val[0] if v.HasField("tensor") else v.simple_value)',
  ].join('\n');
  const out = execFileSync('python3', ['-c', script, w.path], { encoding: 'utf8' }).trim();
  assert.equal(out, '3 loss 0.5');
});
