import type { Command } from 'commander';
import { runCommand, type CommonFlags } from '../run.js';

export function registerRecipes(program: Command): void {
  const recipes = program.command('recipes').description('list, copy, validate and print recipes (like torchtune\'s ls / cp / validate)')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (flags: CommonFlags) => {
      await runCommand(flags, async (api) => ({ recipes: api.listRecipes() }), ({ recipes: list }) => {
        const width = Math.max(...list.map((r) => r.name.length));
        return list.map((r) => `${r.name.padEnd(width)}  ${r.description}`).join('\n');
      });
    });
  recipes
    .command('cp')
    .description('copy a built-in recipe to a file to edit')
    .argument('<name>', 'built-in recipe (kennis recipes lists them)')
    .argument('<file>', 'where to write it (must not exist)')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (name: string, file: string, flags: CommonFlags) => {
      await runCommand(flags, (api) => api.copyRecipe(name, file), (s) => `copied ${name} to ${s.file} (teacher ${s.teacherPath})`);
    });
  recipes
    .command('validate')
    .description('check a recipe and overrides without running anything')
    .argument('<file>', 'YAML recipe')
    .argument('[overrides...]', 'key.path=value overrides, values parsed as YAML')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (file: string, overrides: string[], flags: CommonFlags) => {
      await runCommand(flags, async (api) => {
        api.loadRecipe(file, overrides);
        return { ok: true, file };
      }, () => `ok: ${file}${overrides.length ? ` with ${overrides.join(' ')}` : ''} is a valid recipe`);
    });
  recipes
    .command('print')
    .description('print the resolved recipe, every default filled in')
    .argument('<file>', 'YAML recipe')
    .argument('[overrides...]', 'key.path=value overrides, values parsed as YAML')
    .option('--json', 'print the resolved recipe as JSON')
    .action(async (file: string, overrides: string[], flags: CommonFlags) => {
      await runCommand(flags, async (api) => api.loadRecipe(file, overrides).recipe, (recipe, api) => api.recipeToYaml(recipe).trimEnd());
    });
}
