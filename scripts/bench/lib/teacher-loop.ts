/** The plain onnxruntime loop the precompute and writer benches measure the teacher with. */
import * as ort from 'onnxruntime-node';
import type { Vector } from 'apache-arrow';
import { HEAD_OUTPUTS } from '../../../src/cache/targets/index.js';
import { bindInputs, buildFeeds, type PlainTensor } from '../../../src/core/runtime/index.js';
import { flatValues } from '../../../src/core/util/arrow.js';
import { appendSoftTargetHead, planPrecompute, uniforms, type BatchOutput } from '../../../src/precompute/index.js';
import type { LoadedRecipe } from '../../../src/recipe/index.js';

/** What one plain loop over the batches saw: the batches and head outputs are kept only when `keep` is set. */
export interface Loop {
  rows: number;
  outputs: { rows: Int32Array; out: Record<string, PlainTensor>; columns: Record<string, Vector> }[];
}

/** A kept batch as precompute's teacherBatch returns it (what the writer is fed). */
export function batchOutput(o: Loop['outputs'][number]): BatchOutput {
  return { columns: o.columns, outputs: o.out };
}

/**
 * A plain session.run loop (the same head, batches and feeds precompute uses), no targets, no
 * writes; with onnxruntime's default session options, or (`noSpin`) with precompute's.
 */
export async function sessionRunLoop(l: LoadedRecipe, keep = false, noSpin = false): Promise<Loop> {
  const { recipe } = l;
  const plan = await planPrecompute(l);
  const head = appendSoftTargetHead(plan.teacherBytes, {
    kind: plan.spec.kind, output: plan.logitsOutput, outputKind: recipe.teacher.output_kind,
    ...(plan.spec.k ? { k: plan.spec.k } : {}), ...(plan.spec.samples ? { samples: plan.spec.samples, temperature: plan.spec.sampleTemperature! } : {}),
  });
  const session = await ort.InferenceSession.create(head, {
    graphOptimizationLevel: 'all', ...(recipe.teacher.threads ? { intraOpNumThreads: recipe.teacher.threads } : {}),
    ...(noSpin ? { extra: { 'session.intra_op.allow_spinning': '0' } } : {}),
  });
  const outputs: Loop['outputs'] = [];
  try {
    const bindings = bindInputs(plan.signature.inputs, plan.dataset.schema, recipe.teacher.inputs, recipe.teacher.attention_mask);
    for await (const batch of plan.dataset.batches({ batchSize: recipe.teacher.batch_size })) {
      const rows = flatValues(batch.getChild('row')!) as Int32Array;
      const plain = buildFeeds(batch, bindings);
      if (plan.spec.kind === 'sampled') plain.uniforms = uniforms(rows, plan.spec);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(plain)) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      const out = await session.run(feeds, [...HEAD_OUTPUTS[plan.spec.kind]]);
      if (keep) {
        const columns = Object.fromEntries(batch.schema.fields.map((f) => [f.name, batch.getChild(f.name)!]));
        outputs.push({ rows, columns, out: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { type: t.type, data: t.data as Float32Array, dims: [...t.dims] }])) });
      }
      for (const t of Object.values(out)) t.dispose();
    }
  } finally {
    await session.release();
  }
  return { rows: plan.dataset.numRows, outputs };
}
