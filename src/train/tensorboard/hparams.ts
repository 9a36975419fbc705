import { KennisError } from '../../core/errors/index.js';
import { encodeMessage } from './proto.js';

/** A hyperparameter value TensorBoard's HParams view can show and filter. */
export type HParamValue = string | number | boolean;

/** A metric column of the HParams view: a scalar tag the run logs (its last value is shown). */
export interface HParamsMetric {
  /** Scalar tag, e.g. 'eval/accuracy'. */
  tag: string;
  /** Sub-run directory holding the tag, relative to the session's; '' (default) for the same run. */
  group?: string;
  displayName?: string;
  dataset?: 'training' | 'validation';
}

/** How a session (one training run) ended. */
export type SessionStatus = 'success' | 'failure' | 'running' | 'unknown';

/** The hparams plugin's tags and plugin name (tensorboard/plugins/hparams/metadata.py). */
export const HPARAMS_PLUGIN = 'hparams';
export const EXPERIMENT_TAG = '_hparams_/experiment';
export const SESSION_START_TAG = '_hparams_/session_start_info';
export const SESSION_END_TAG = '_hparams_/session_end_info';

const STATUS: Record<SessionStatus, number> = { unknown: 0, success: 1, failure: 2, running: 3 };
const DATASET = { training: 1, validation: 2 } as const;
/** The plugin's placeholder tensor: an empty float vector (its summaries carry only metadata). */
const NULL_TENSOR = { dtype: 1, tensorShape: { dim: [{ size: 0 }] } };
const DATA_CLASS_TENSOR = 2;

/**
 * Flattens nested recipe sections into dotted names, e.g. { distill: { alpha: 0.9 } } ->
 * { 'distill.alpha': 0.9 }. Arrays become their JSON text (HParams values are scalars); null and
 * undefined are left out.
 */
export function flattenHParams(values: Readonly<Record<string, unknown>>, prefix = ''): Record<string, HParamValue> {
  const out: Record<string, HParamValue> = {};
  for (const [k, v] of Object.entries(values)) {
    const name = `${prefix}${k}`;
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[name] = v;
    else if (Array.isArray(v)) out[name] = JSON.stringify(v);
    else if (typeof v === 'object') Object.assign(out, flattenHParams(v as Record<string, unknown>, `${name}.`));
    else out[name] = String(v);
  }
  return out;
}

/**
 * The Summary.Value of the experiment: the hyperparameters (each with the values it takes, its
 * type from the first) and metrics the HParams view has as columns.
 */
export function experimentValue(domains: Readonly<Record<string, readonly HParamValue[]>>, metrics: readonly HParamsMetric[], timeCreatedSecs: number): Record<string, unknown> {
  const hparamInfos = Object.entries(domains).map(([name, values]) => {
    const first = values[0];
    if (first === undefined) throw new KennisError(`hyperparameter '${name}' has no values; give each hyperparameter the values it takes`);
    const type = typeof first === 'number' ? 3 : typeof first === 'boolean' ? 2 : 1;
    return { name, type, domainDiscrete: { values: values.map(structValue(name)) } };
  });
  const metricInfos = metrics.map((m) => ({
    name: { group: m.group ?? '', tag: m.tag },
    ...(m.displayName ? { displayName: m.displayName } : {}),
    ...(m.dataset ? { datasetType: DATASET[m.dataset] } : {}),
  }));
  return pluginValue(EXPERIMENT_TAG, { experiment: { timeCreatedSecs, hparamInfos, metricInfos } });
}

/** The Summary.Value that starts a session with its hyperparameter values. */
export function sessionStartValue(hparams: Readonly<Record<string, HParamValue>>, startTimeSecs: number, groupName = '', modelUri = ''): Record<string, unknown> {
  const values = Object.fromEntries(Object.entries(hparams).map(([name, v]) => [name, structValue(name)(v)]));
  return pluginValue(SESSION_START_TAG, { sessionStartInfo: { hparams: values, startTimeSecs, groupName, modelUri } });
}

/** The Summary.Value that ends a session. */
export function sessionEndValue(status: SessionStatus, endTimeSecs: number): Record<string, unknown> {
  return pluginValue(SESSION_END_TAG, { sessionEndInfo: { status: STATUS[status], endTimeSecs } });
}

/** A hyperparameter value as a google.protobuf.Value. */
function structValue(name: string): (v: HParamValue) => Record<string, unknown> {
  return (v) => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new KennisError(`hyperparameter '${name}' is ${v}; HParams values must be finite numbers, strings or booleans`);
      return { numberValue: v };
    }
    return typeof v === 'boolean' ? { boolValue: v } : { stringValue: v };
  };
}

function pluginValue(tag: string, data: Record<string, unknown>): Record<string, unknown> {
  const content = encodeMessage('tensorboard.hparams.HParamsPluginData', { version: 0, ...data });
  return { tag, metadata: { pluginData: { pluginName: HPARAMS_PLUGIN, content }, dataClass: DATA_CLASS_TENSOR }, tensor: NULL_TENSOR };
}
