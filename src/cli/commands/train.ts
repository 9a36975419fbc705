import type { Command } from 'commander';
import { runCommand, stderrReporter, type CommonFlags } from '../run.js';

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train the recipe student from its logit cache (the teacher is never loaded)')
    .argument('<recipe>', 'YAML recipe')
    .argument('[overrides...]', 'key.path=value overrides, values parsed as YAML')
    .option('--resume', 'continue from the latest checkpoint in output.dir')
    .option('--overwrite', 'replace an earlier run in output.dir')
    .option('--allow-recipe-change', 'with --resume: continue even though the recipe changed what is trained (lr, batch size, student, ...)')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (file: string, overrides: string[], flags: CommonFlags & { resume?: boolean; overwrite?: boolean; allowRecipeChange?: boolean }) => {
      await runCommand(flags, async (api) => {
        const { loadRecipe, train } = api;
        const loaded = loadRecipe(file, overrides);
        return train(loaded, {
          ...stderrReporter, progress: true, resume: flags.resume ?? false, overwrite: flags.overwrite ?? false, allowRecipeChange: flags.allowRecipeChange ?? false,
        });
      }, (s) => {
        const e = s.finalEval;
        const evalText = e ? `; eval ${Object.entries(e).filter(([k]) => k !== 'positions').map(([k, v]) => `${k} ${+Number(v).toFixed(4)}`).join(', ')}` : '';
        return `trained ${s.steps} steps (${s.samples} samples, ${Math.round(s.samplesPerSecond)}/s on ${s.backend}) into ${s.outputDir}${evalText}`;
      });
    });
}
