import { TrainError } from '../../core/errors/index.js';
import { tf, type Tf } from './tf.js';
import { availableCores, initThreadedWasm, type WasmModule } from './wasm-threads.js';

/** A backend that kennis can run on. */
export type BackendName = 'tfjs-node' | 'wasm' | 'cpu';

/** What the caller asks for: a specific backend, or 'auto' (tfjs-node if importable, else wasm, else cpu). */
export type BackendPreference = 'auto' | BackendName;

/** The backend in use and the tf namespace to use with it. */
export interface SelectedBackend {
  /** Which backend was activated. */
  name: BackendName;
  /** The shared tf namespace (same module instance as src/backend/tf.ts). */
  tf: Tf;
  /** Threads the backend computes on (wasm: its XNNPACK thread pool; others: 1 for cpu, native for tfjs-node). */
  threads: number | 'native';
}

/** Options of selectBackend(). */
export interface BackendOptions {
  /** wasm threads; 0: all available cores; absent: $KENNIS_WASM_THREADS, else 0. Fixed when wasm first initialises in a process. */
  threads?: number;
}

// A variable specifier keeps TypeScript from resolving (and needing types for) an optional package.
const TFJS_NODE: string = '@tensorflow/tfjs-node';
const WASM: string = '@tensorflow/tfjs-backend-wasm';

/**
 * Activates a backend and waits until it is ready. 'auto' tries tfjs-node (native TensorFlow, only if
 * installed), then wasm (XNNPACK; threaded, see wasm-threads.ts), then the pure-JS cpu backend.
 * An explicit preference that cannot be activated throws TrainError.
 */
export async function selectBackend(preference: BackendPreference = 'auto', options: BackendOptions = {}): Promise<SelectedBackend> {
  const fromEnv = process.env['KENNIS_WASM_THREADS'];
  const threads = options.threads ?? (fromEnv === undefined || fromEnv === '' ? 0 : Number(fromEnv));
  if (!Number.isInteger(threads) || threads < 0) {
    const source = options.threads === undefined ? `KENNIS_WASM_THREADS=${fromEnv}` : `${threads}`;
    throw new TrainError(`expected wasm threads to be an integer >= 0 (0: all cores), got ${source}; set train.threads or KENNIS_WASM_THREADS to e.g. 1`);
  }
  const wasmThreads = threads === 0 ? availableCores() : threads;
  if (preference === 'auto') {
    for (const name of ['tfjs-node', 'wasm'] as const) {
      if (await tryActivate(name, wasmThreads)) return selected(name);
    }
    await activate('cpu', wasmThreads);
    return selected('cpu');
  }
  await activate(preference, wasmThreads);
  return selected(preference);
}

function selected(name: BackendName): SelectedBackend {
  if (name !== 'wasm') return { name, tf, threads: name === 'cpu' ? 1 : 'native' };
  const wasm = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  // the pool counts the worker threads; the calling thread computes too
  const pool = wasm.wasm?.tfjs?.getThreadsCount?.() ?? 0;
  return { name, tf, threads: Math.max(1, pool) };
}

/** The kennis name of the backend tf currently runs on. */
export function currentBackend(): BackendName | string {
  const b = tf.getBackend();
  return b === 'tensorflow' ? 'tfjs-node' : b;
}

async function activate(name: BackendName, wasmThreads: number): Promise<void> {
  let cause: unknown;
  try {
    if (await tryActivate(name, wasmThreads)) return;
  } catch (e) {
    cause = e;
  }
  const fix = name === 'cpu' ? 'check the @tensorflow/tfjs installation' : `install ${name === 'wasm' ? WASM : TFJS_NODE} or set backend: auto`;
  throw new TrainError(`backend '${name}' could not be activated; ${fix}`, { cause });
}

/** Returns false when the backend's package is not importable; other failures propagate. `wasmThreads` applies when wasm first initialises. */
async function tryActivate(name: BackendName, wasmThreads: number): Promise<boolean> {
  if (name === 'cpu') return tf.setBackend('cpu');
  const tfName = name === 'tfjs-node' ? 'tensorflow' : 'wasm';
  let module: unknown;
  try {
    module = await import(name === 'tfjs-node' ? TFJS_NODE : WASM);
  } catch (e) {
    if (isModuleNotFound(e)) return false;
    throw e;
  }
  // A tfjs-node built against another copy of tfjs-core registers into that copy, not ours.
  if (tf.findBackendFactory(tfName) === null) return false;
  if (name === 'wasm' && tf.engine().registry['wasm'] === undefined && wasmThreads > 1) {
    if (await initThreadedWasm(module as WasmModule, wasmThreads)) return true;
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  const ok = await tf.setBackend(tfName);
  await tf.ready();
  return ok;
}

function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
