import { Command } from 'commander';
import { registerCache } from './commands/cache.js';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerPrecompute } from './commands/precompute.js';
import { registerTrain } from './commands/train.js';
import { registerDistill } from './commands/distill.js';
import { registerRecipes } from './commands/recipes.js';
import { registerSweep } from './commands/sweep.js';

const program = new Command('kennis')
  .description('offline knowledge distillation: precompute an ONNX teacher once, train students from the cache')
  .option('-V, --version', 'output the version number');
registerPrecompute(program);
registerCache(program);
registerTrain(program);
registerExport(program);
registerEval(program);
registerDistill(program);
registerSweep(program);
registerRecipes(program);

if (['-V', '--version'].includes(process.argv[2] ?? '')) {
  // the version comes from the public API, loaded only when asked for
  process.stdout.write(`${(await import('../index.js')).VERSION}\n`);
} else {
  await program.parseAsync(process.argv);
}
