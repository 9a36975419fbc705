/**
 * One scaling run in its own process: `precompute` writes the MNIST topk cache of the first
 * `--limit` train rows with the fixture teacher; `train` runs one epoch of train() from that
 * cache. Writes {rows, seconds, peakRssBytes} to --out; scaling.ts compares 1x, 4x and 16x.
 * Run: node --import tsx scripts/bench/lib/scale-child.ts precompute|train --limit N --root DIR --teacher FILE --shard-rows N --shuffle N --out FILE
 */
import { rmSync, writeFileSync } from 'node:fs';
import { train } from '../../../src/train/index.js';
import { mnistRecipe, precomputeCache } from './caches.js';
import { peakRssBytes } from './machine.js';
import { SCALE_STUDENT, SCALE_TRAIN, type ScaleRun } from './scale-config.js';

const argv = process.argv.slice(2);
const flag = (name: string): string => {
  const at = argv.indexOf(name);
  if (at < 0 || argv[at + 1] === undefined) throw new RangeError(`expected ${name} <value>, got ${argv.join(' ')}`);
  return argv[at + 1]!;
};
const stage = argv[0];
if (stage !== 'precompute' && stage !== 'train') throw new RangeError(`expected stage precompute or train, got '${stage}'`);
const root = flag('--root');
const loaded = mnistRecipe({
  root, teacher: flag('--teacher'), limit: Number(flag('--limit')), targets: { kind: 'topk', k: 8, dtype: 'float16' }, shardRows: Number(flag('--shard-rows')),
  student: SCALE_STUDENT, train: { ...SCALE_TRAIN, shuffle_buffer: Number(flag('--shuffle')) },
});
let run: ScaleRun;
if (stage === 'precompute') {
  const { summary } = await precomputeCache(loaded);
  if (summary.hit) throw new RangeError(`expected a fresh cache under ${root}, found a complete one; remove it first`);
  run = { stage, rows: summary.rows, seconds: summary.seconds, peakRssBytes: 0 };
} else {
  rmSync(loaded.recipe.output.dir, { recursive: true, force: true });
  const summary = await train(loaded);
  run = { stage, rows: summary.samples, seconds: summary.seconds, peakRssBytes: 0 };
}
run.peakRssBytes = peakRssBytes();
writeFileSync(flag('--out'), JSON.stringify(run) + '\n');
