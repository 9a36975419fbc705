import { readFileSync } from 'node:fs';
import { precompute } from '../src/precompute/index.js';
import { validateRecipe } from '../src/recipe/index.js';
import { writeFileSync } from 'node:fs';
const full = readFileSync('/tmp/kp/mlp.onnx');
const seen = new Map<string, number>();
for (const cut of [10, 100, 1000, 3000, 10000, 30000, 60000, 90000, 100000, full.length - 100, full.length - 10, full.length - 1]) {
  writeFileSync('/tmp/kp/t.onnx', full.subarray(0, cut));
  try {
    await precompute({ baseDir: '/tmp/kp', recipe: validateRecipe({ teacher: { path: 't.onnx' }, dataset: { name: 'mnist', limit: 10 }, cache: { root: '/tmp/kp/ct' } }) });
    console.log(cut, 'OK?!');
  } catch (e) {
    console.log(cut, (e as Error).name, (e as Error).message.slice(0, 200));
  }
}
