import { tensorboardType } from './schema.js';

/** A tensorboard.Event as protobufjs plain object (camelCase field names of event.proto). */
export interface EventInit {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  graphDef?: Uint8Array;
  summary?: { value: Record<string, unknown>[] };
  sourceMetadata?: { writer: string };
}

/** Serializes one Event with TensorBoard's schema; `fromObject` checks field types as it converts. */
export function encodeEvent(event: EventInit): Uint8Array {
  const type = tensorboardType('tensorboard.Event');
  return type.encode(type.fromObject(event)).finish();
}

/** Serializes any other message of the schema, e.g. a GraphDef or an HParamsPluginData. */
export function encodeMessage(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = tensorboardType(typeName);
  return type.encode(type.fromObject(value)).finish();
}

/** The first record of every event file: `file_version`. */
export function encodeFileVersionEvent(wallTime: number, version: string): Uint8Array {
  return encodeEvent({ wallTime, fileVersion: version, sourceMetadata: { writer: 'kennis' } });
}

/** One Event at `step` with a Summary of simple_value scalars. */
export function encodeScalarsEvent(wallTime: number, step: number, values: readonly (readonly [string, number])[]): Uint8Array {
  return encodeEvent({ wallTime, step, summary: { value: values.map(([tag, simpleValue]) => ({ tag, simpleValue })) } });
}
