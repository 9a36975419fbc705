import { KennisError } from '../errors/index.js';
import { AttributeType, type AttributeProto, type GraphProto, type TensorProto } from './types.js';

/** An attribute with an explicit ONNX type, made with `attr.*`. */
export interface TypedAttr { readonly $attr: Omit<AttributeProto, 'name'> }

/**
 * Attribute values for `GraphBuilder.node`. Shorthands: an integer number or bigint -> INT, a
 * non-integer number -> FLOAT, string -> STRING, number[] -> INTS (FLOATS if any is fractional),
 * string[] -> STRINGS. Use `attr.float(1)` / `attr.floats([1, 2])` for floats with integral values.
 */
export type AttrValue = number | bigint | string | readonly number[] | readonly string[] | TypedAttr;

const utf8 = new TextEncoder();

/** Explicitly typed attribute constructors. */
export const attr = {
  float: (f: number): TypedAttr => ({ $attr: { type: AttributeType.FLOAT, f } }),
  floats: (floats: readonly number[]): TypedAttr => ({ $attr: { type: AttributeType.FLOATS, floats: [...floats] } }),
  int: (i: number | bigint): TypedAttr => ({ $attr: { type: AttributeType.INT, i } }),
  ints: (ints: readonly (number | bigint)[]): TypedAttr => ({ $attr: { type: AttributeType.INTS, ints: [...ints] } }),
  string: (s: string): TypedAttr => ({ $attr: { type: AttributeType.STRING, s: utf8.encode(s) } }),
  strings: (s: readonly string[]): TypedAttr => ({ $attr: { type: AttributeType.STRINGS, strings: s.map((x) => utf8.encode(x)) } }),
  tensor: (t: TensorProto): TypedAttr => ({ $attr: { type: AttributeType.TENSOR, t } }),
  graph: (g: GraphProto): TypedAttr => ({ $attr: { type: AttributeType.GRAPH, g } }),
  graphs: (graphs: readonly GraphProto[]): TypedAttr => ({ $attr: { type: AttributeType.GRAPHS, graphs: [...graphs] } }),
};

/** Converts a shorthand or typed attribute value into an AttributeProto. */
export function toAttribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'object' && value !== null && '$attr' in value) return { name, ...value.$attr };
  if (typeof value === 'bigint') return { name, type: AttributeType.INT, i: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new KennisError(`attribute '${name}' expected a finite number, got ${value}`);
    return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: utf8.encode(value) };
  if (value.every((v): v is string => typeof v === 'string') && value.length > 0) {
    return { name, type: AttributeType.STRINGS, strings: (value as readonly string[]).map((s) => utf8.encode(s)) };
  }
  const nums = value as readonly number[];
  return nums.every(Number.isInteger)
    ? { name, type: AttributeType.INTS, ints: [...nums] }
    : { name, type: AttributeType.FLOATS, floats: [...nums] };
}

/** Reads an attribute's value back (ints as numbers), for inspecting decoded models. */
export function attributeValue(a: AttributeProto): number | string | number[] | string[] | TensorProto | GraphProto | GraphProto[] | undefined {
  const utf8d = new TextDecoder();
  switch (a.type) {
    case AttributeType.FLOAT: return a.f ?? 0;
    case AttributeType.INT: return Number(a.i ?? 0);
    case AttributeType.STRING: return utf8d.decode(a.s ?? new Uint8Array());
    case AttributeType.FLOATS: return a.floats ?? [];
    case AttributeType.INTS: return (a.ints ?? []).map(Number);
    case AttributeType.STRINGS: return (a.strings ?? []).map((s) => utf8d.decode(s));
    case AttributeType.TENSOR: return a.t;
    case AttributeType.GRAPH: return a.g;
    case AttributeType.GRAPHS: return a.graphs ?? [];
    default: return undefined;
  }
}
