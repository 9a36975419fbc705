import type { z } from 'zod';

type AnySchema = z.ZodType;

/** Peels optional/default/nullable wrappers to reach the schema that holds keys. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema as AnySchema & { def: { type: string; innerType?: AnySchema } };
  while (s.def.innerType && ['optional', 'default', 'nullable', 'prefault'].includes(s.def.type)) {
    s = s.def.innerType as typeof s;
  }
  return s;
}

/** Child schema under `key`, or undefined when the key is not valid there. */
function child(schema: AnySchema, key: string): AnySchema | undefined {
  const s = unwrap(schema) as AnySchema & { def: { type: string; shape?: Record<string, AnySchema>; valueType?: AnySchema; element?: AnySchema } };
  if (s.def.type === 'object') return s.def.shape?.[key];
  if (s.def.type === 'record') return s.def.valueType;
  if (s.def.type === 'array' && /^\d+$/.test(key)) return s.def.element;
  return undefined;
}

/** Keys valid directly under a schema (empty for records, arrays and leaves). */
export function keysOf(schema: AnySchema): string[] {
  const s = unwrap(schema) as AnySchema & { def: { type: string; shape?: Record<string, AnySchema> } };
  return s.def.type === 'object' ? Object.keys(s.def.shape ?? {}) : [];
}

/**
 * Checks a dotted key path against the schema. Returns undefined when valid, else the prefix
 * that is valid and the keys allowed there, for an error that lists them.
 */
export function checkKeyPath(schema: AnySchema, path: readonly string[]): { at: string; bad: string; valid: string[] } | undefined {
  let s: AnySchema = schema;
  for (let i = 0; i < path.length; i++) {
    const next = child(s, path[i]!);
    if (next === undefined) return { at: path.slice(0, i).join('.'), bad: path[i]!, valid: keysOf(s) };
    s = next;
  }
  return undefined;
}
