import { Rng } from '../../core/util/rng.js';

/**
 * A seeded shuffle buffer (the tf.data algorithm): holds up to `capacity` items and emits a
 * uniformly chosen one each time a new item arrives, so order mixes across shard boundaries
 * while memory stays bounded by the capacity.
 */
export class ShuffleBuffer<T> {
  private readonly items: T[] = [];

  constructor(private readonly capacity: number, private readonly rng: Rng) {
    if (!(capacity >= 1)) throw new RangeError(`expected a shuffle buffer capacity >= 1, got ${capacity}`);
  }

  /** Adds an item; returns one to emit once the buffer is full. */
  push(item: T): T | undefined {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return undefined;
    }
    const i = this.rng.int(this.capacity);
    const out = this.items[i]!;
    this.items[i] = item;
    return out;
  }

  /** Emits the remaining items in random order. */
  *drain(): Generator<T> {
    while (this.items.length > 0) {
      const i = this.rng.int(this.items.length);
      const last = this.items.pop()!;
      if (i < this.items.length) {
        const out = this.items[i]!;
        this.items[i] = last;
        yield out;
      } else {
        yield last;
      }
    }
  }

  /** Items held now. */
  get size(): number {
    return this.items.length;
  }
}
