import { TrainError } from '../../core/errors/index.js';
import type { StudentSpec } from './spec.js';

/** Throws TrainError naming the first field of `spec` that cannot build a student. */
export function validateSpec(spec: StudentSpec): void {
  const where = `student ${spec.arch}`;
  const posInt = (v: unknown, field: string): void => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new TrainError(`${where}: ${field} must be a positive integer, got ${String(v)}`);
  };
  const rate = (v: unknown, field: string): void => {
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v < 1)) throw new TrainError(`${where}: ${field} must be in [0, 1), got ${String(v)}`);
  };
  switch (spec.arch) {
    case 'mlp':
      posInt(spec.inputs, 'inputs');
      posInt(spec.classes, 'classes');
      spec.hidden.forEach((h, i) => posInt(h, `hidden[${i}]`));
      if (!['relu', 'gelu', 'tanh'].includes(spec.activation)) throw new TrainError(`${where}: activation must be relu, gelu or tanh, got ${String(spec.activation)}`);
      rate(spec.dropout, 'dropout');
      rate(spec.inputDropout, 'inputDropout');
      (spec.linearHidden ?? []).forEach((l, i) => {
        if (!(Number.isInteger(l) && l >= 0 && l < spec.hidden.length)) throw new TrainError(`${where}: linearHidden[${i}] must index a hidden layer (0..${spec.hidden.length - 1}), got ${String(l)}`);
      });
      return;
    case 'cnn': {
      if (spec.inputShape.length !== 3) throw new TrainError(`${where}: inputShape must be [H, W, C], got [${spec.inputShape}]`);
      spec.inputShape.forEach((d, i) => posInt(d, `inputShape[${i}]`));
      let [h, w] = spec.inputShape;
      spec.conv.forEach((c, i) => {
        posInt(c.filters, `conv[${i}].filters`);
        posInt(c.kernel, `conv[${i}].kernel`);
        if (c.kernel % 2 !== 1) throw new TrainError(`${where}: conv[${i}].kernel must be odd ('same' padding), got ${c.kernel}`);
        if (c.pool !== undefined) posInt(c.pool, `conv[${i}].pool`);
        const p = c.pool ?? 1;
        h = Math.floor(h / p);
        w = Math.floor(w / p);
        if (h < 1 || w < 1) throw new TrainError(`${where}: conv[${i}].pool ${p} shrinks the image below 1x1; use smaller pools`);
      });
      spec.dense.forEach((d, i) => posInt(d, `dense[${i}]`));
      posInt(spec.classes, 'classes');
      rate(spec.dropout, 'dropout');
      return;
    }
    case 'gpt':
      for (const f of ['vocab', 'dModel', 'layers', 'heads', 'seqLen'] as const) posInt(spec[f], f);
      if (spec.dModel % spec.heads !== 0) throw new TrainError(`${where}: dModel ${spec.dModel} is not divisible by heads ${spec.heads}; choose heads that divide dModel`);
      if (spec.mlpRatio !== undefined && !(spec.mlpRatio > 0 && Number.isInteger(spec.mlpRatio * spec.dModel))) {
        throw new TrainError(`${where}: mlpRatio * dModel must be a positive integer, got ${spec.mlpRatio} * ${spec.dModel}`);
      }
      rate(spec.dropout, 'dropout');
      return;
    default:
      throw new TrainError(`student arch must be mlp, cnn or gpt, got ${String((spec as { arch: unknown }).arch)}`);
  }
}
