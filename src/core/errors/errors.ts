/**
 * The small set of errors kennis raises on bad input. Each message is one line that
 * names the thing at fault and the fix; the CLI prints `error: <message>` and exits non-zero.
 */
export class KennisError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A recipe or override that does not fit the schema. */
export class RecipeError extends KennisError {}

/** A dataset that cannot be read or lacks a column. */
export class DatasetError extends KennisError {}

/** A teacher model that is missing, not ONNX, or does not fit the mapping/targets. */
export class TeacherError extends KennisError {}

/** A cache that is missing, locked, corrupt, or does not fit the student. */
export class CacheError extends KennisError {}

/** A student or training configuration that cannot run. */
export class TrainError extends KennisError {}

/** Throws a KennisError subclass with "expected X, got Y" when cond is false. */
export function assert(cond: unknown, message: () => string, ErrorClass: new (m: string) => KennisError = KennisError): asserts cond {
  if (!cond) throw new ErrorClass(message());
}
