/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm ships a threaded SIMD build but turns it off in
 * Node (tensorflow/tfjs#3830): it hands Emscripten's pthread worker to `new Worker()` as a blob: URL,
 * which Node refuses, and the worker then loads the main script from a Blob, which Node cannot read
 * synchronously. We write the worker to a file instead (loading the main script from its path) and
 * point the blob: URL at that file while the backend initialises. Its C++ also caps the pool at
 * os.cpus().length / 2 (assuming hyper-threads), i.e. 1 on a 2-vCPU machine, so os.cpus() reports
 * 2x the wanted threads during initialisation. XNNPACK then splits each matMul
 * over the threads (~1.5x on 2 cores); results are identical because every output element is still
 * computed by one thread in the same order.
 */
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { tf } from './tf.js';

const require = createRequire(import.meta.url);

/** The exact line of the Emscripten worker that loads the main script (a string path or a Blob). */
const LOAD_MAIN_SCRIPT =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/** Cores this process may use (the default thread count). */
export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Threads each of `processes` trainers running at once should use so that together they fill the cores (at least 1). */
export function coresPerProcess(processes: number): number {
  return Math.max(1, Math.floor(availableCores() / processes));
}

/**
 * Writes the pthread worker file for the installed tfjs-backend-wasm and returns its path, or
 * undefined when that version's worker does not have the shape we know (then stay single-threaded).
 */
export function threadedWorkerFile(): string | undefined {
  const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents?: unknown };
  if (typeof wasmWorkerContents !== 'string' || !wasmWorkerContents.includes(LOAD_MAIN_SCRIPT) || !existsSync(mainScript)) return undefined;
  // the contents were a template literal: its "\n" escapes became newlines inside string literals
  const source = wasmWorkerContents.replace(/\n/g, '\\n').replace(LOAD_MAIN_SCRIPT, `importScripts(${JSON.stringify(mainScript)});`);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `kennis-tfjs-wasm-worker-${hash}.cjs`);
  if (!existsSync(file)) {
    // write then rename: two processes starting at once never see a half-written worker
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, source);
    renameSync(tmp, file);
  }
  return file;
}

/** What initialising wasm with threads needs from tfjs-backend-wasm's module. */
export interface WasmModule {
  setThreadsCount(n: number): void;
}

/** The parts of the Emscripten module (the wasm backend's `.wasm`) used here. */
interface EmscriptenModule {
  PThread?: { unusedWorkers: { loaded?: boolean }[] };
  tfjs?: { initWithThreadsCount(n: number): void; getThreadsCount(): number };
}

/**
 * Initialises the wasm backend with `threads` threads (>= 2); returns false, leaving the backend
 * uninitialised, when this tfjs version's worker cannot be adapted.
 */
export async function initThreadedWasm(wasm: WasmModule, threads: number): Promise<boolean> {
  const worker = threadedWorkerFile();
  if (worker === undefined) return false;
  const restore = patchForInit(worker, threads);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  // start with one thread: a pthread whose worker has not loaded yet only starts once the main
  // thread's event loop sees the worker's "loaded" message, so creating the pool inside the
  // backend's constructor can deadlock (it did under tsx, whose workers boot slowly)
  wasm.setThreadsCount(1);
  try {
    if (!(await tf.setBackend('wasm'))) return false;
    await tf.ready();
  } finally {
    restore();
  }
  const module = (tf.backend() as unknown as { wasm: EmscriptenModule }).wasm;
  if (module.PThread === undefined || module.tfjs === undefined) return true;
  const deadline = Date.now() + 10_000;
  while (module.PThread.unusedWorkers.some((w) => !w.loaded) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  // replaces the 1-thread pool (which has no threads to leak) before any kernel has run
  if (module.PThread.unusedWorkers.length >= threads - 1) module.tfjs.initWithThreadsCount(threads);
  return true;
}

/**
 * Patches what the threaded build reads while it initialises; returns the undo. Its workers start
 * without the parent's execArgv (tsx's loader is not needed by the plain-JS worker and slows every
 * boot) and never keep the process alive (Emscripten ref()s a worker running a pthread, and
 * XNNPACK's pool threads run until exit).
 */
function patchForInit(worker: string, threads: number): () => void {
  const workerThreads = require('node:worker_threads') as typeof import('node:worker_threads');
  const { Worker } = workerThreads;
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  workerThreads.Worker = class PoolWorker extends Worker {
    constructor(file: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      super(file, { ...options, execArgv: [] });
      this.unref();
    }
    override ref(): void {}
  };
  URL.createObjectURL = ((obj: Blob) => (obj.type === 'application/javascript' ? worker : createObjectURL(obj))) as typeof URL.createObjectURL;
  os.cpus = () => { const list = cpus(); return Array.from({ length: 2 * threads }, (_, i) => list[i % list.length]!); };
  return () => {
    workerThreads.Worker = Worker;
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  };
}
