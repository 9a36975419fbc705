import protobuf from 'protobufjs';

/**
 * The part of TensorBoard's protocol buffers that kennis writes, in .proto syntax so it reads like
 * the originals in the tensorflow/tensorboard repository: tensorboard/compat/proto/{event,summary,
 * histogram,tensor,tensor_shape,types,graph,node_def,attr_value,versions}.proto and
 * tensorboard/plugins/hparams/{api,plugin_data}.proto. Message, field and enum names and numbers
 * are theirs; messages and fields kennis never writes are left out (decoders skip unknown fields,
 * so files written with this subset are read by TensorBoard's full definitions unchanged).
 * Kept in a .ts module rather than .proto files so the compiled package carries it.
 */
export const TENSORBOARD_PROTO = `
syntax = "proto3";
package tensorboard;

// event.proto
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;          // a serialized GraphDef
    Summary summary = 5;
    SessionLog session_log = 7;
  }
  SourceMetadata source_metadata = 10;
}
message SourceMetadata { string writer = 1; }
message SessionLog {
  enum SessionStatus { STATUS_UNSPECIFIED = 0; START = 1; STOP = 2; CHECKPOINT = 3; }
  SessionStatus status = 1;
  string checkpoint_path = 2;
  string msg = 3;
}

// summary.proto
enum DataClass {
  DATA_CLASS_UNKNOWN = 0;
  DATA_CLASS_SCALAR = 1;
  DATA_CLASS_TENSOR = 2;
  DATA_CLASS_BLOB_SEQUENCE = 3;
}
message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  DataClass data_class = 4;
}
message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      HistogramProto histo = 5;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

// histogram.proto: bucket i holds the values in (bucket_limit[i-1], bucket_limit[i]]
message HistogramProto {
  double min = 1;
  double max = 2;
  double num = 3;
  double sum = 4;
  double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true];
  repeated double bucket = 7 [packed = true];
}

// types.proto (the dtypes ONNX models use)
enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
  DT_DOUBLE = 2;
  DT_INT32 = 3;
  DT_UINT8 = 4;
  DT_INT16 = 5;
  DT_INT8 = 6;
  DT_STRING = 7;
  DT_COMPLEX64 = 8;
  DT_INT64 = 9;
  DT_BOOL = 10;
  DT_BFLOAT16 = 14;
  DT_COMPLEX128 = 18;
  DT_UINT16 = 17;
  DT_HALF = 19;
  DT_UINT32 = 22;
  DT_UINT64 = 23;
}

// tensor_shape.proto
message TensorShapeProto {
  message Dim {
    int64 size = 1;               // -1: unknown
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

// tensor.proto
message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
  repeated bytes string_val = 8;
  repeated int64 int64_val = 10 [packed = true];
  repeated bool bool_val = 11 [packed = true];
}

// attr_value.proto
message AttrValue {
  message ListValue {
    repeated bytes s = 2;
    repeated int64 i = 3 [packed = true];
    repeated float f = 4 [packed = true];
    repeated bool b = 5 [packed = true];
    repeated DataType type = 6 [packed = true];
    repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
  }
  oneof value {
    bytes s = 2;
    int64 i = 3;
    float f = 4;
    bool b = 5;
    DataType type = 6;
    TensorShapeProto shape = 7;
    TensorProto tensor = 8;
    ListValue list = 1;
  }
}

// node_def.proto
message NodeDef {
  string name = 1;
  string op = 2;
  repeated string input = 3;      // "node", "node:output_index" or "^node" (control input)
  string device = 4;
  map<string, AttrValue> attr = 5;
}

// versions.proto
message VersionDef {
  int32 producer = 1;
  int32 min_consumer = 2;
  repeated int32 bad_consumers = 3;
}

// graph.proto
message GraphDef {
  repeated NodeDef node = 1;
  VersionDef versions = 4;
}
`;

/** tensorboard/plugins/hparams/{api,plugin_data}.proto, the same way. */
export const HPARAMS_PROTO = `
syntax = "proto3";
package tensorboard.hparams;
import "google/protobuf/struct.proto";

// api.proto
enum DataType {
  DATA_TYPE_UNSET = 0;
  DATA_TYPE_STRING = 1;
  DATA_TYPE_BOOL = 2;
  DATA_TYPE_FLOAT64 = 3;
}
enum DatasetType {
  DATASET_UNKNOWN = 0;
  DATASET_TRAINING = 1;
  DATASET_VALIDATION = 2;
}
enum Status {
  STATUS_UNKNOWN = 0;
  STATUS_SUCCESS = 1;
  STATUS_FAILURE = 2;
  STATUS_RUNNING = 3;
}
message Interval {
  double min_value = 1;
  double max_value = 2;
}
message HParamInfo {
  string name = 1;
  string display_name = 2;
  string description = 3;
  DataType type = 4;
  oneof domain {
    google.protobuf.ListValue domain_discrete = 5;
    Interval domain_interval = 6;
  }
}
message MetricName {
  string group = 1;               // the metric's run, relative to the session's
  string tag = 2;
}
message MetricInfo {
  MetricName name = 1;
  string display_name = 3;
  string description = 4;
  DatasetType dataset_type = 5;
}
message Experiment {
  string name = 6;
  string description = 1;
  string user = 2;
  double time_created_secs = 3;
  repeated HParamInfo hparam_infos = 4;
  repeated MetricInfo metric_infos = 5;
}

// plugin_data.proto
message HParamsPluginData {
  int32 version = 1;
  oneof data {
    Experiment experiment = 2;
    SessionStartInfo session_start_info = 3;
    SessionEndInfo session_end_info = 4;
  }
}
message SessionStartInfo {
  map<string, google.protobuf.Value> hparams = 1;
  string model_uri = 2;
  string monitor_url = 3;
  string group_name = 4;
  double start_time_secs = 5;
}
message SessionEndInfo {
  Status status = 1;
  double end_time_secs = 2;
}
`;

let root: protobuf.Root | undefined;

/** One protobufjs Root holding both schemas and google.protobuf.Struct (which the hparams protos import). */
export function tensorboardRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.addJSON((protobuf.common.get('google/protobuf/struct.proto') as protobuf.INamespace).nested!);
  protobuf.parse(TENSORBOARD_PROTO, r);
  protobuf.parse(HPARAMS_PROTO, r);
  r.resolveAll();
  root = r;
  return r;
}

/** A message type of the schema, e.g. 'tensorboard.Event' or 'tensorboard.hparams.HParamsPluginData'. */
export function tensorboardType(name: string): protobuf.Type {
  return tensorboardRoot().lookupType(name);
}
