import { attr } from '../../core/onnx/attributes.js';
import type { GraphBuilder } from '../../core/onnx/builder.js';
import { cast, reduce, slice, unsqueeze } from '../../core/onnx/ops.js';
import { tensorValueInfo } from '../../core/onnx/tensor.js';

/**
 * Appends inverse-CDF sampling: for logits x [..., V] and uniforms [..., n], returns int32
 * [..., n] ids with id = #{v : cdf[v] < u}, clamped to V-1, where cdf is the CDF of
 * softmax(x / temperature). Nothing about V or the leading dims needs to be static.
 *
 * The search is two-level to stay fast and exact at V = 50257: the (unnormalised) probabilities
 * are cut into ~sqrt(V) blocks, a float32 CumSum runs inside each block and a float64 CumSum
 * over block totals. Each draw then compares against the block ends (a [P, sqrt V] Less) and
 * within the chosen block (a [P, sqrt V] Less), instead of one [P, V] pass per draw; and no
 * float32 running sum spans more than one block, which keeps the CDF accurate to ~1e-7 (a
 * plain float32 CumSum over 50257 terms drifts enough to move ~8% of draws). Draws run in a
 * Scan, so memory is O(positions x V) for any n.
 */
export function inverseCdfSample(g: GraphBuilder, x: string, uniforms: string, n: number, temperature: number): string {
  const one = g.int64s([1], 'one');
  const concat = (parts: string[]): string => g.op('Concat', parts, { axis: 0 });
  const shape = g.op('Shape', [x]);
  const vocab = slice(g, shape, 0, -1); // [1]
  const x2 = g.op('Reshape', [x, concat([g.int64s([-1], 'minus_one'), vocab])]); // [P, V]
  const u2 = g.op('Reshape', [uniforms, g.int64s([-1, n], 'uniforms_2d')]); // [P, n]

  // block size ceil(sqrt V), block count ceil(V / bs); the tail is zero-padded
  const bs = cast(g, g.op('Ceil', [g.op('Sqrt', [cast(g, vocab, 'float32')])]), 'int64');
  const nb = g.op('Div', [g.op('Sub', [g.op('Add', [vocab, bs]), one]), bs]);
  const padLen = g.op('Sub', [g.op('Mul', [nb, bs]), vocab]);

  let z = g.op('Sub', [x2, reduce(g, 'ReduceMax', x2, [1], true)]);
  if (temperature !== 1) z = g.op('Div', [z, g.scalar(temperature)]);
  const padded = g.op('Pad', [g.op('Exp', [z]), concat([g.int64s([0, 0, 0], 'pad_begin'), padLen])]);
  const blocks = g.op('Reshape', [padded, concat([g.int64s([-1], 'minus_one'), nb, bs])]); // [P, nb, bs]
  const within = g.op('CumSum', [blocks, g.scalar(2, 'int64', 'block_axis')], {}, { name: 'cdf_within' });
  // block masses are the last within-block sums, so both levels agree exactly
  const mass = cast(g, g.op('Reshape', [slice(g, within, 2, -1), g.int64s([0, -1], 'rows')]), 'float64'); // [P, nb]
  const blockEnd = g.op('CumSum', [mass, g.scalar(1, 'int64', 'row_axis')], {}, { name: 'cdf_blocks' });
  const blockStart = g.op('Sub', [blockEnd, mass]);
  const thresholds = g.op('Mul', [cast(g, u2, 'float64'), slice(g, blockEnd, 1, -1)]); // u * total, [P, n]

  const withinRows = g.op('Reshape', [within, concat([g.int64s([-1], 'minus_one'), bs])]); // [P*nb, bs]
  const positions = g.op('Gather', [g.op('Shape', [x2]), g.scalar(0, 'int64', 'zero')], { axis: 0 });
  const rowBase = g.op('Mul', [g.op('Range', [g.scalar(0, 'int64', 'zero'), positions, g.scalar(1, 'int64', 'one')]), nb]); // [P]
  const lastBlock = cast(g, g.op('Sub', [nb, one]), 'float32');
  const bsF = cast(g, bs, 'float32');

  const body = g.subgraph('sample_body');
  const tau = body.uniqueName('threshold'); // [P] float64
  const tau1 = unsqueeze(body, tau, [-1]);
  const countBelow = (cdf: string, limit: string): string => reduce(body, 'ReduceSum', cast(body, body.op('Less', [cdf, limit]), 'float32'), [-1], false);
  const blockF = body.op('Min', [countBelow(blockEnd, tau1), lastBlock]); // [P]
  const block = cast(body, blockF, 'int64');
  const start = body.op('GatherElements', [blockStart, unsqueeze(body, block, [-1])], { axis: 1 }); // [P, 1]
  const row = cast(body, body.op('Gather', [withinRows, body.op('Add', [rowBase, block])], { axis: 0 }), 'float64'); // [P, bs]
  const id = body.op('Add', [body.op('Mul', [blockF, bsF]), countBelow(row, body.op('Sub', [tau1, start]))]);
  // Scan needs ranked body outputs when shape inference cannot see through the body (opset 11)
  body.graph.input = [tensorValueInfo(tau, 'float64', ['kennis_positions'])];
  body.graph.output = [tensorValueInfo(id, 'float32', ['kennis_positions'])];
  const counts = g.op('Scan', [thresholds], {
    body: attr.graph(body.graph), num_scan_inputs: 1, scan_input_axes: [1], scan_output_axes: [1],
  }, { name: 'sample_scan' }); // [P, n]

  const lastId = cast(g, g.op('Sub', [vocab, one]), 'float32');
  const ids = cast(g, g.op('Min', [counts, lastId]), 'int32');
  return g.op('Reshape', [ids, concat([slice(g, shape, 0, 0, -1), g.int64s([n], 'samples')])]);
}
