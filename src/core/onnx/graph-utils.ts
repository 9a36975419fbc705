import type { GraphProto, ModelProto, NodeProto } from './types.js';

/** Subgraphs held in a node's attributes (Loop/Scan/If bodies). */
export function subgraphsOf(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute ?? []) {
    if (a.g) out.push(a.g);
    if (a.graphs) out.push(...a.graphs);
  }
  return out;
}

/** Every value name a graph and its subgraphs define or use (ONNX names must not clash across scopes). */
export function graphValueNames(graph: GraphProto, into = new Set<string>()): Set<string> {
  const add = (n: string | undefined): void => { if (n) into.add(n); };
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) add(v.name);
  for (const t of graph.initializer ?? []) add(t.name);
  for (const s of graph.sparseInitializer ?? []) add(s.values?.name);
  for (const node of graph.node ?? []) {
    add(node.name);
    node.input?.forEach(add);
    node.output?.forEach(add);
    for (const sub of subgraphsOf(node)) graphValueNames(sub, into);
  }
  return into;
}

/** Names a node reads, including outer-scope values its subgraphs read. */
function nodeReads(node: NodeProto): string[] {
  const reads = [...(node.input ?? [])];
  for (const sub of subgraphsOf(node)) for (const inner of sub.node ?? []) reads.push(...nodeReads(inner));
  return reads;
}

/** Per name set, the last suffix N handed out for each base (sets here only grow, so smaller N stay taken). */
const lastSuffix = new WeakMap<Set<string>, Map<string, number>>();

/**
 * `base`, or `base_N` for the smallest N that is not in `taken`; the result is added to `taken`.
 * The search resumes where the last one for `base` stopped, so n names from one hint cost O(n), not O(n^2).
 */
export function uniqueIn(taken: Set<string>, base: string): string {
  let counters = lastSuffix.get(taken);
  if (!counters) lastSuffix.set(taken, (counters = new Map()));
  let i = counters.get(base) ?? 0;
  let name = i === 0 ? base : `${base}_${i}`;
  while (taken.has(name)) name = `${base}_${++i}`;
  counters.set(base, i);
  taken.add(name);
  return name;
}

/** Renames a value everywhere it appears: producers, consumers (also inside subgraphs), IO, initializers, value_info. */
export function renameValue(graph: GraphProto, from: string, to: string): void {
  const swap = (names: string[] | undefined): string[] | undefined => names?.map((n) => (n === from ? to : n));
  const visit = (gr: GraphProto): void => {
    for (const node of gr.node ?? []) {
      node.input = swap(node.input);
      node.output = swap(node.output);
      subgraphsOf(node).forEach(visit);
    }
    for (const v of [...(gr.input ?? []), ...(gr.output ?? []), ...(gr.valueInfo ?? []), ...(gr.initializer ?? [])]) {
      if (v.name === from) v.name = to;
    }
  };
  visit(graph);
}

/**
 * Removes nodes and initializers that no graph output depends on, so dropping an output also
 * drops the work behind it. Graph inputs are kept: callers may still feed them.
 */
export function pruneToOutputs(graph: GraphProto): void {
  const needed = new Set((graph.output ?? []).map((o) => o.name!));
  const kept: NodeProto[] = [];
  for (const node of [...(graph.node ?? [])].reverse()) {
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const n of nodeReads(node)) needed.add(n);
  }
  graph.node = kept.reverse();
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name!));
  if (graph.valueInfo) graph.valueInfo = graph.valueInfo.filter((v) => needed.has(v.name!));
}

/** The model's default-domain ('' or 'ai.onnx') opset version, or undefined when it imports none. */
export function defaultOpset(model: ModelProto): number | undefined {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? Number(entry.version ?? 0) : undefined;
}
