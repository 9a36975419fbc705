import type { Command } from 'commander';
import { cacheInfo, verifyCache } from '../../cache/index.js';
import { runCommand, type CommonFlags } from '../run.js';
import { formatBytes } from './precompute.js';

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('inspect and check logit caches');
  cache
    .command('info')
    .description('rows, shards, bytes per sample/token, teacher accuracy, top-k mass')
    .argument('<dir>', 'cache directory')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (dir: string, flags: CommonFlags) => {
      await runCommand(flags, async () => cacheInfo(dir), (i) => Object.entries(i)
        .map(([k, v]) => `${k.padEnd(24)} ${typeof v === 'number' && /bytes/i.test(k) && !/Per/.test(k) ? formatBytes(v) : typeof v === 'number' ? +v.toFixed(6) : JSON.stringify(v)}`)
        .join('\n'));
    });
  cache
    .command('verify')
    .description("check every shard's sha256, row count and schema against the manifest")
    .argument('<dir>', 'cache directory')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (dir: string, flags: CommonFlags) => {
      await runCommand(flags, async () => verifyCache(dir), (r) =>
        r.ok ? `ok: ${r.shardsChecked} shards verified in ${dir}` : `bad: ${r.problems[0]!.file}: ${r.problems[0]!.problem}`);
    });
}
