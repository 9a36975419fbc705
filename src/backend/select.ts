import { TrainError } from '../errors/index.js';
import { tf, type Tf } from './tf.js';

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
}

// A variable specifier keeps TypeScript from resolving (and needing types for) an optional package.
const TFJS_NODE: string = '@tensorflow/tfjs-node';
const WASM: string = '@tensorflow/tfjs-backend-wasm';

/**
 * Activates a backend and waits until it is ready. 'auto' tries tfjs-node (native TensorFlow, only if
 * installed), then wasm (XNNPACK, single-threaded in Node: the wasm backend disables threads there),
 * then the pure-JS cpu backend. An explicit preference that cannot be activated throws TrainError.
 */
export async function selectBackend(preference: BackendPreference = 'auto'): Promise<SelectedBackend> {
  if (preference === 'auto') {
    for (const name of ['tfjs-node', 'wasm'] as const) {
      if (await tryActivate(name)) return { name, tf };
    }
    await activate('cpu');
    return { name: 'cpu', tf };
  }
  await activate(preference);
  return { name: preference, tf };
}

/** The kennis name of the backend tf currently runs on. */
export function currentBackend(): BackendName | string {
  const b = tf.getBackend();
  return b === 'tensorflow' ? 'tfjs-node' : b;
}

async function activate(name: BackendName): Promise<void> {
  let cause: unknown;
  try {
    if (await tryActivate(name)) return;
  } catch (e) {
    cause = e;
  }
  const fix = name === 'cpu' ? 'check the @tensorflow/tfjs installation' : `install ${name === 'wasm' ? WASM : TFJS_NODE} or set backend: auto`;
  throw new TrainError(`backend '${name}' could not be activated; ${fix}`, { cause });
}

/** Returns false when the backend's package is not importable; other failures propagate. */
async function tryActivate(name: BackendName): Promise<boolean> {
  if (name === 'cpu') return tf.setBackend('cpu');
  const tfName = name === 'tfjs-node' ? 'tensorflow' : 'wasm';
  if (tf.findBackendFactory(tfName) === null) {
    try {
      await import(name === 'tfjs-node' ? TFJS_NODE : WASM);
    } catch (e) {
      if (isModuleNotFound(e)) return false;
      throw e;
    }
    // A tfjs-node built against another copy of tfjs-core registers into that copy, not ours.
    if (tf.findBackendFactory(tfName) === null) return false;
  }
  const ok = await tf.setBackend(tfName);
  await tf.ready();
  return ok;
}

function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
