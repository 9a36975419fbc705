export { SummaryWriter, FILE_VERSION, type HParamsOptions } from './writer.js';
export { crc32c, maskedCrc32c } from './crc32c.js';
export { frameRecord } from './record.js';
export { encodeEvent, encodeMessage, encodeFileVersionEvent, encodeScalarsEvent, type EventInit } from './proto.js';
export { TENSORBOARD_PROTO, HPARAMS_PROTO, tensorboardRoot, tensorboardType } from './schema.js';
export { histogramOf, DEFAULT_BUCKETS, type Histogram } from './histogram.js';
export { graphDefFromOnnx, type GraphDef, type NodeDef, type AttrValue, type Shape } from './graph.js';
export {
  flattenHParams, experimentValue, sessionStartValue, sessionEndValue,
  HPARAMS_PLUGIN, EXPERIMENT_TAG, SESSION_START_TAG, SESSION_END_TAG,
  type HParamValue, type HParamsMetric, type SessionStatus,
} from './hparams.js';
export { memoryScalars, PhaseTimes, type BackendMemory } from './system.js';
