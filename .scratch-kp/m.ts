import { Worker } from 'node:worker_threads';
const target = new URL('./w.ts', import.meta.url).href;
const tsx = import.meta.resolve('tsx/esm/api');
const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); }).catch((e) => { throw e; });`;
const w = new Worker(code, { eval: true });
w.on('message', (m) => { console.log('got', m); void w.terminate(); });
w.on('error', (e) => console.log('err', e.message));
