import { TrainError } from '../../../core/errors/index.js';
import { UPDATE_WASM } from './update-wasm.js';

/** WebAssembly memory is addressed with 32 bits: at most 65,536 pages of 64 KiB. */
const MAX_PAGES = 65_536;
const PAGE = 65_536;

interface UpdateExports {
  adamw(w: number, g: number, m: number, v: number, n4: number, c1: number, c2: number, a: number, b: number, decay: number): void;
  sgd(w: number, g: number, mom: number, n4: number, gscale: number, wd: number, mu: number, lr: number, decay: number, momentum: number): void;
}

/** The few WebAssembly JS API members used here (the project's lib settings carry no WebAssembly types). */
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;

/**
 * Float32 buffers in one WebAssembly memory, and the SIMD update kernels of update.wat over them.
 * onnxruntime reads and writes the same buffers in place (they are plain Float32Array views), so
 * a training step never copies a weight: the step session writes gradients here and the kernel
 * updates weights and optimizer slots in place. The memory never grows, so views stay valid.
 */
export class KernelArena {
  private readonly offsets = new Map<Float32Array, number>();

  private constructor(private readonly memory: WasmMemory, private readonly kernels: UpdateExports, sizes: readonly number[], offsets: readonly number[]) {
    this.views = sizes.map((n, i) => {
      const view = new Float32Array(memory.buffer, offsets[i]!, n);
      this.offsets.set(view, offsets[i]!);
      return view;
    });
  }

  /** One zeroed view per requested size, in order. */
  readonly views: Float32Array[];

  /** An arena of buffers of `sizes` floats, or undefined when they do not fit in one 32-bit memory. */
  static create(sizes: readonly number[]): KernelArena | undefined {
    const offsets: number[] = [];
    let end = 0;
    for (const n of sizes) {
      offsets.push(end);
      end += padded(n) * 4;
    }
    const pages = Math.max(1, Math.ceil(end / PAGE));
    if (pages > MAX_PAGES) return undefined;
    let memory: WasmMemory;
    try {
      memory = new wasm.Memory({ initial: pages, maximum: pages });
    } catch (e) {
      if (e instanceof RangeError) return undefined; // the engine refused this much memory
      throw e;
    }
    compiled ??= new wasm.Module(Buffer.from(UPDATE_WASM, 'base64'));
    const instance = new wasm.Instance(compiled, { env: { memory } });
    return new KernelArena(memory, instance.exports as unknown as UpdateExports, sizes, offsets);
  }

  /** Bytes of the memory. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** AdamW in place over four views of this arena (see update.wat); scalars as optimizer-graph.ts folds them. */
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: { c1: number; c2: number; a: number; b: number; decay: number }): void {
    this.kernels.adamw(this.offset(w), this.offset(g), this.offset(m), this.offset(v), padded(w.length) / 4, s.c1, s.c2, s.a, s.b, s.decay);
  }

  /** SGD in place; `mom` undefined: no momentum; `wd` 0: no weight decay. */
  sgd(w: Float32Array, g: Float32Array, mom: Float32Array | undefined, s: { gscale: number; wd: number; mu: number; lr: number }): void {
    this.kernels.sgd(this.offset(w), this.offset(g), mom ? this.offset(mom) : 0, padded(w.length) / 4, s.gscale, s.wd, s.mu, s.lr, s.wd !== 0 ? 1 : 0, mom ? 1 : 0);
  }

  /** Whether `view` is one of this arena's buffers. */
  owns(view: Float32Array): boolean {
    return this.offsets.has(view);
  }

  private offset(view: Float32Array): number {
    const at = this.offsets.get(view);
    if (at === undefined) throw new TrainError('internal: a buffer passed to the update kernel is not in its arena');
    return at;
  }
}

/** Floats rounded up to whole 16-byte vectors (the padding stays zero: the kernels keep it finite). */
function padded(n: number): number {
  return Math.ceil(n / 4) * 4;
}
