import { TrainError } from '../../errors/index.js';
import { GraphBuilder } from '../builder.js';
import { DataType, type GraphProto, type NodeProto } from '../types.js';
import { filledTensor } from '../ops.js';
import { GradContext, Namer, type GradientRule } from './context.js';
import { blocksGradient, GraphFacts, isFloatType } from './facts.js';
import { MATH_RULES } from './rules-math.js';
import { NN_RULES } from './rules-nn.js';
import { SHAPE_RULES } from './rules-shape.js';

export interface GradientOptions {
  /** Name of the scalar (shape [] or [1]) float value to differentiate. */
  loss: string;
  /** Graph inputs or initializers to differentiate with respect to. */
  wrt: readonly string[];
  /** Name prefix of the gradient outputs (default 'grad.'): the gradient of x is the graph output `${prefix}${x}`. */
  prefix?: string;
  /** Seed the backward pass with this graph input (same shape as loss) instead of the constant 1. */
  seedInput?: string;
  /**
   * Default-domain opset of the model the graph belongs to (default 17; 13 at least). The
   * backward nodes are written in its forms; Gather and MaxPool gradients need 16 or later.
   */
  opset?: number;
}

/** Every op kennis can differentiate, by op type (default ONNX domain). */
export const GRADIENT_RULES: Readonly<Record<string, GradientRule>> = { ...MATH_RULES, ...SHAPE_RULES, ...NN_RULES };

/**
 * Appends the backward pass to `graph` (mutates it), adding one graph output per `wrt` name
 * (its gradient, same shape and type).
 *
 * Only nodes on a path from a `wrt` value to `loss` are differentiated; gradient contributions
 * of a value read by several nodes are summed. Comparisons, shapes, indices and casts to
 * non-float types carry no gradient, so masks and int inputs get none. An op on the path with
 * no rule is a TrainError naming the op and the node. A `wrt` value that does not reach the loss
 * gets a zero gradient.
 *
 * Shape information: none is required. Broadcasting ops sum their gradients back to each
 * input's shape. Where dims are known (declared on graph inputs, initializers, value_info, and
 * inferred from those through common ops, symbolic dims like 'batch' included) the summed axes
 * are constants or the sum is skipped; elsewhere they are computed in the graph from Shape(), so
 * dynamic dims work either way and declared shapes only make the backward graph smaller.
 * MatMul of inputs of unknown rank transposes with Einsum; LayerNormalization with a
 * non-negative axis needs its input's rank; Conv/MaxPool/AveragePool need kernel_shape (or
 * static weight dims). Dropout is expected as Mul(x, mask) with the mask fed as a graph input
 * (plain Mul rule); Dropout nodes are differentiated in inference mode only.
 */
export function appendGradients(graph: GraphProto, opts: GradientOptions): { gradients: Record<string, string> } {
  const opset = opts.opset ?? 17;
  if (opset < 13) throw new TrainError(`gradients need a model at opset 13 or later, got opset ${opset}; re-export the student at opset 17`);
  const prefix = opts.prefix ?? 'grad.';
  const facts = new GraphFacts(graph);
  const nodes: NodeProto[] = [...(graph.node ?? [])];
  const sources = new Set([...(graph.input ?? []).map((v) => v.name!), ...(graph.initializer ?? []).map((t) => t.name!)]);
  if (!facts.producer(opts.loss) && !sources.has(opts.loss)) {
    throw new TrainError(`loss '${opts.loss}' is not a value of graph '${graph.name ?? ''}'; pass the name of the node output that holds the loss`);
  }
  const wrt = [...new Set(opts.wrt)];
  let floatType: number | undefined;
  for (const x of wrt) {
    if (!sources.has(x)) throw new TrainError(`wrt '${x}' is not a graph input or initializer of graph '${graph.name ?? ''}'; differentiate with respect to weights or inputs`);
    const type = facts.elemType(x);
    if (type !== undefined && !isFloatType(type)) throw new TrainError(`wrt '${x}' has a non-float element type (ONNX type ${type}); only float values have gradients`);
    floatType ??= type;
  }
  floatType ??= DataType.FLOAT;
  if (floatType !== DataType.FLOAT && floatType !== DataType.DOUBLE) {
    throw new TrainError(`gradients of ONNX type ${floatType} are not supported; differentiate a float32 (or float64) graph`);
  }

  // values on a path wrt -> loss
  const fromWrt = new Set(wrt);
  for (const node of nodes) {
    if (!blocksGradient(node) && (node.input ?? []).some((i) => fromWrt.has(i))) for (const o of node.output ?? []) if (o) fromWrt.add(o);
  }
  const toLoss = new Set([opts.loss]);
  for (const node of [...nodes].reverse()) {
    if (!blocksGradient(node) && (node.output ?? []).some((o) => toLoss.has(o))) for (const i of node.input ?? []) if (i) toLoss.add(i);
  }
  const onPath = (v: string): boolean => fromWrt.has(v) && toLoss.has(v);

  const g = GraphBuilder.wrap({ opsetImport: [{ domain: '', version: opset }], graph }, 'grad/');
  const forwardNodes = (graph.node ?? []).length;
  const namer = new Namer();
  const contributions = new Map<string, string[]>();
  const add = (value: string, grad: string): void => {
    const list = contributions.get(value);
    if (list) list.push(grad);
    else contributions.set(value, [grad]);
  };
  const gradOf = (value: string): string | undefined => {
    const list = contributions.get(value);
    if (!list) return undefined;
    if (list.length > 1) contributions.set(value, [g.op('Sum', list, {}, { name: namer.hint('accumulate') })]);
    return contributions.get(value)![0];
  };

  if (onPath(opts.loss)) {
    add(opts.loss, opts.seedInput ?? filledTensor(g, g.op('Shape', [opts.loss]), 1, floatType, 'seed'));
  }

  for (const node of [...nodes].reverse()) {
    if (!(node.output ?? []).some(onPath)) continue;
    const dys = (node.output ?? []).map((o) => (o && onPath(o) ? gradOf(o) : undefined));
    if (dys.every((d) => d === undefined)) continue;
    const rule = node.domain && node.domain !== 'ai.onnx' ? undefined : GRADIENT_RULES[node.opType ?? ''];
    const where = `op '${node.opType}'${node.domain ? ` (domain '${node.domain}')` : ''} (node '${node.name ?? ''}')`;
    if (!rule) {
      throw new TrainError(`${where} has no gradient rule in kennis; build the student from supported ops (${Object.keys(GRADIENT_RULES).sort().join(', ')})`);
    }
    if (node.opType !== 'Split' && dys.some((d, i) => i > 0 && d !== undefined)) {
      throw new TrainError(`${where} has no gradient rule in kennis for its output ${dys.findIndex((d, i) => i > 0 && d !== undefined)}; use only its first output on the way to the loss`);
    }
    const ctx = new GradContext(g, namer, facts, node, dys, onPath, floatType);
    const grads = rule(ctx);
    (node.input ?? []).forEach((input, i) => {
      if (!ctx.needs(i)) return;
      const grad = grads[i];
      if (grad === undefined) throw new TrainError(`${where} has no gradient rule in kennis for its input ${i} ('${input}'); make that input a constant`);
      add(input, grad);
    });
  }

  const gradients: Record<string, string> = {};
  for (const x of wrt) {
    const out = `${prefix}${x}`;
    if (g.has(out)) throw new TrainError(`gradient output '${out}' is already a value of graph '${graph.name ?? ''}'; choose another prefix`);
  }
  const grads = wrt.map((x) => gradOf(x) ?? filledTensor(g, g.op('Shape', [x], {}, { name: namer.hint('Shape') }), 0, floatType, namer.hint('zero_grad')));
  // who makes and who reads each value, once the backward pass is complete (the Identity nodes
  // added below read only values already renamed)
  const backwardProducer = new Map((graph.node ?? []).slice(forwardNodes).flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const read = new Set((graph.node ?? []).flatMap((n) => n.input ?? []));
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const renamed = new Map<string, string>();
  for (const [i, x] of wrt.entries()) {
    const out = `${prefix}${x}`;
    const grad = grads[i]!;
    // a backward node's output that nothing else reads becomes the graph output itself: an
    // Identity would copy every gradient once more per step (the 1200x1200 layer's: 0.4 ms)
    // (one value can be the gradient of several inputs: later ones copy the first one's output)
    const producer = backwardProducer.get(grad);
    if (renamed.has(grad)) {
      g.node('Identity', [renamed.get(grad)!], [out], {}, { name: namer.hint('Identity') });
    } else if (producer && !read.has(grad) && !graphOutputs.has(grad)) {
      producer.output = producer.output!.map((o) => (o === grad ? out : o));
      renamed.set(grad, out);
    } else {
      g.node('Identity', [grad], [out], {}, { name: namer.hint('Identity') });
    }
    const dims = facts.declaredDimsOf(x)?.map((d) => (typeof d === 'number' ? { dimValue: d } : d ? { dimParam: d } : {}));
    (graph.output ??= []).push({ name: out, type: { tensorType: { elemType: facts.elemType(x) ?? floatType, ...(dims ? { shape: { dim: dims } } : {}) } } });
    gradients[x] = out;
  }
  return { gradients };
}
