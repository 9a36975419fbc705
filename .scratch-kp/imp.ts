const t0 = performance.now();
await import('apache-arrow'); const t1 = performance.now();
await import('parquet-wasm'); const t2 = performance.now();
await import('zod'); const t3 = performance.now();
await import('../src/cache/index.js'); const t4 = performance.now();
console.log({ arrow: t1 - t0, pq: t2 - t1, zod: t3 - t2, cache: t4 - t3 });
