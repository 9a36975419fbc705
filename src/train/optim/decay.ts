import type { DecayFilter, Params } from './types.js';

const NO_DECAY_SUFFIXES = ['bias', 'gamma', 'beta'];

/**
 * Default weight-decay exclusion: biases and LayerNorm scales/shifts (names ending in
 * 'bias', 'gamma' or 'beta') and any rank-0/1 parameter, as in common transformer recipes;
 * decaying them only hurts because they do not scale the input.
 */
export const defaultExcludeFromDecay: DecayFilter = (name, shape) => {
  if (shape.length <= 1) return true;
  const lower = name.toLowerCase();
  return NO_DECAY_SUFFIXES.some((s) => lower.endsWith(s));
};

/** Names of the params that get weight decay under `exclude`. */
export function decayedNames(params: Params, exclude: DecayFilter): ReadonlySet<string> {
  return new Set(Object.entries(params).filter(([n, p]) => !exclude(n, p.shape)).map(([n]) => n));
}
