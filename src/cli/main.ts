import { Command } from 'commander';
import { VERSION } from '../core/version.js';
import { registerCache } from './commands/cache.js';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerPrecompute } from './commands/precompute.js';
import { registerTrain } from './commands/train.js';
import { registerDistill } from './commands/distill.js';

const program = new Command('kennis')
  .description('offline knowledge distillation: precompute an ONNX teacher once, train students from the cache')
  .version(VERSION);
registerPrecompute(program);
registerCache(program);
registerTrain(program);
registerExport(program);
registerEval(program);
registerDistill(program);

await program.parseAsync(process.argv);
