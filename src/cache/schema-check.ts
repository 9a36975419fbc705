import type { SchemaField } from './shard-io.js';

/** Whether two schema descriptions have the same field names and type strings in the same order. */
export function sameSchema(a: readonly SchemaField[], b: readonly SchemaField[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]!.name && f.type === b[i]!.type);
}

/** A one-phrase description of the first difference between an expected and an actual schema. */
export function schemaDiff(expected: readonly SchemaField[], actual: readonly SchemaField[]): string {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i];
    const a = actual[i];
    if (!e) return `expected ${expected.length} columns, got extra column '${a!.name}' ${a!.type}`;
    if (!a) return `expected column ${i} '${e.name}' ${e.type}, got only ${actual.length} columns`;
    if (e.name !== a.name || e.type !== a.type) return `expected column ${i} '${e.name}' ${e.type}, got '${a.name}' ${a.type}`;
  }
  return 'schemas are equal';
}
