import type * as tf from '@tensorflow/tfjs';
import { TrainError, assert } from '../../core/errors/index.js';

/** The divergence D(teacher, student) between the tempered distributions. */
export type Divergence = 'forward_kl' | 'reverse_kl' | 'symmetric' | 'jsd';

/** Every divergence name, for validation and recipes. */
export const DIVERGENCES: readonly Divergence[] = ['forward_kl', 'reverse_kl', 'symmetric', 'jsd'];

/** How `topk` targets treat the probability mass outside the k stored ids. */
export type TopkTail = 'ghost' | 'renormalize';

/** Every tail mode name. */
export const TOPK_TAILS: readonly TopkTail[] = ['ghost', 'renormalize'];

/** The teacher's full logits. */
export interface FullTargets {
  /** Discriminator. */
  kind: 'full';
  /** Teacher logits [M,V] at T=1; -Infinity marks impossible entries. */
  logits: tf.Tensor;
}

/** The teacher's k largest logits with the exact full-vocabulary logsumexp. */
export interface TopkTargets {
  /** Discriminator. */
  kind: 'topk';
  /** Token/class ids [M,k] (int32, cast if not), distinct within a row. */
  ids: tf.Tensor;
  /** Teacher logits at those ids [M,k], at T=1. */
  logits: tf.Tensor;
  /** Teacher logsumexp over the full vocabulary [M], at T=1. */
  logsumexp: tf.Tensor;
}

/** Ids drawn from the teacher with their counts; the empirical distribution is the target. */
export interface SampledTargets {
  /** Discriminator. */
  kind: 'sampled';
  /** Drawn ids [M,n] (int32, cast if not); padding entries have count 0; duplicates are allowed. */
  ids: tf.Tensor;
  /** How often each id was drawn [M,n]; q = counts / sum(counts) per row. */
  counts: tf.Tensor;
}

/** Teacher soft targets for M rows, in one of the cache's three forms. */
export type TeacherTargets = FullTargets | TopkTargets | SampledTargets;

/** How the student is compared with the teacher. */
export interface DistillOptions {
  /** Softening temperature T > 0 for student and teacher (sampled targets are already at their draw temperature). Default 1. */
  temperature?: number;
  /** Divergence D(teacher, student). Default 'forward_kl'. */
  divergence?: Divergence;
  /** Weight of forward KL in 'symmetric' (1 - beta weighs reverse KL). Default 0.5. */
  beta?: number;
  /** Tail handling for topk targets. Default 'ghost'. */
  tail?: TopkTail;
}

/** The full KD objective: (1 - alpha) * CE(labels) + alpha * T^2 * D. */
export interface KdLossOptions extends DistillOptions {
  /** Weight of the distillation term in [0, 1]; 1 - alpha weighs hard-label CE. Default 1. */
  alpha?: number;
  /** Hard labels [M] (int32, cast if not); required when alpha < 1. */
  labels?: tf.Tensor;
}

/** DistillOptions with defaults applied and values checked. */
export interface ResolvedDistill {
  /** Temperature T. */
  temperature: number;
  /** Divergence. */
  divergence: Divergence;
  /** Forward weight of 'symmetric'. */
  beta: number;
  /** Topk tail mode. */
  tail: TopkTail;
}

/** Applies defaults and checks the distillation options; throws TrainError naming the bad option. */
export function resolveDistill(o: DistillOptions, kind: TeacherTargets['kind']): ResolvedDistill {
  const temperature = o.temperature ?? 1;
  const divergence = o.divergence ?? 'forward_kl';
  const beta = o.beta ?? 0.5;
  const tail = o.tail ?? 'ghost';
  assert(Number.isFinite(temperature) && temperature > 0, () => `expected distillation temperature > 0, got ${temperature}; set train.temperature`, TrainError);
  assert(DIVERGENCES.includes(divergence), () => `expected divergence one of ${DIVERGENCES.join(', ')}, got '${divergence}'`, TrainError);
  assert(Number.isFinite(beta) && beta >= 0 && beta <= 1, () => `expected symmetric beta in [0, 1], got ${beta}`, TrainError);
  assert(TOPK_TAILS.includes(tail), () => `expected topk tail one of ${TOPK_TAILS.join(', ')}, got '${tail}'`, TrainError);
  // reverse KL needs the student's mass outside the drawn ids, where the empirical target is zero
  assert(kind !== 'sampled' || divergence === 'forward_kl',
    () => `sampled targets support divergence 'forward_kl' only, got '${divergence}'; use forward_kl or precompute full/topk targets`, TrainError);
  return { temperature, divergence, beta, tail };
}

/** Checks alpha and that labels exist when the hard-label term has weight. */
export function resolveAlpha(o: KdLossOptions): number {
  const alpha = o.alpha ?? 1;
  assert(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1, () => `expected alpha in [0, 1], got ${alpha}`, TrainError);
  assert(alpha === 1 || o.labels !== undefined, () => `alpha ${alpha} < 1 weighs hard-label CE but no labels were given; pass labels or set alpha to 1`, TrainError);
  return alpha;
}
