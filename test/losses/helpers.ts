import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import type { TeacherTargets } from '../../src/train/losses/index.js';
import type { RefTarget } from './reference.js';

/** tf targets for the reference targets (all rows must share one kind). */
export function toTf(refs: RefTarget[]): TeacherTargets {
  const first = refs[0]!;
  if (first.kind === 'full') return { kind: 'full', logits: tf.tensor2d(refs.map((r) => (r as typeof first).logits)) };
  if (first.kind === 'topk') {
    const rs = refs as (typeof first)[];
    return {
      kind: 'topk',
      ids: tf.tensor2d(rs.map((r) => r.ids), undefined, 'int32'),
      logits: tf.tensor2d(rs.map((r) => r.logits)),
      logsumexp: tf.tensor1d(rs.map((r) => r.lse)),
    };
  }
  const rs = refs as Extract<RefTarget, { kind: 'sampled' }>[];
  return { kind: 'sampled', ids: tf.tensor2d(rs.map((r) => r.ids), undefined, 'int32'), counts: tf.tensor2d(rs.map((r) => r.counts)) };
}

export function disposeTargets(t: TeacherTargets): void {
  tf.dispose(Object.values(t).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
}

/** |actual - expected| <= rtol * |expected| + atol. */
export function close(actual: number, expected: number, rtol: number, atol: number, what: string): void {
  assert.ok(Number.isFinite(actual), `${what}: expected a finite value, got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= rtol * Math.abs(expected) + atol, `${what}: expected ${expected}, got ${actual} (diff ${actual - expected})`);
}

/** Every entry within rtol * max|expected| + atol. */
export function closeMatrix(actual: ArrayLike<number>, expected: number[][], rtol: number, atol: number, what: string): void {
  const flat = expected.flat();
  assert.equal(actual.length, flat.length, `${what}: size`);
  const scale = Math.max(...flat.map(Math.abs));
  for (let i = 0; i < flat.length; i++) {
    assert.ok(Number.isFinite(actual[i]!), `${what}[${i}]: expected finite, got ${actual[i]}`);
    assert.ok(Math.abs(actual[i]! - flat[i]!) <= rtol * scale + atol, `${what}[${i}]: expected ${flat[i]}, got ${actual[i]} (scale ${scale})`);
  }
}
