import type { Command } from 'commander';
import { runCommand, type CommonFlags } from '../run.js';

export function registerCache(program: Command): void {
  const cache = program.command('cache').description('inspect, check and merge logit caches');
  cache
    .command('info')
    .description('rows, shards, bytes per sample/token, teacher accuracy, top-k mass')
    .argument('<dir>', 'cache directory')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (dir: string, flags: CommonFlags) => {
      await runCommand(flags, async (api) => api.cacheInfo(dir), (i, api) => Object.entries(i)
        .map(([k, v]) => `${k.padEnd(24)} ${typeof v === 'number' && /bytes/i.test(k) && !/Per/.test(k) ? api.formatBytes(v) : typeof v === 'number' ? +v.toFixed(6) : JSON.stringify(v)}`)
        .join('\n'));
    });
  cache
    .command('show')
    .description("print a row's tokens with the teacher's top candidates and probabilities at each position, decoded with the cache's tokenizer")
    .argument('<dir>', 'cache directory')
    .option('--row <n>', 'row to show', '0')
    .option('--top <n>', 'candidates per position', '5')
    .option('--tokenizer <ref>', "decode with this tokenizer.json or package instead of the one the manifest records")
    .option('--json', 'print the row as JSON on the last line of stdout')
    .action(async (dir: string, flags: CommonFlags & { row: string; top: string; tokenizer?: string }) => {
      await runCommand(flags, async (api) => api.showCacheRow(dir, {
        row: Number(flags.row), top: Number(flags.top), ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
      }), (view, api) => api.formatCacheRow(view));
    });
  cache
    .command('verify')
    .description("check every shard's sha256, row count and schema against the manifest")
    .argument('<dir>', 'cache directory')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (dir: string, flags: CommonFlags) => {
      await runCommand(flags, async (api) => api.verifyCache(dir), (r) =>
        r.ok ? `ok: ${r.shardsChecked} shards verified in ${dir}` : `bad: ${r.problems[0]!.file}: ${r.problems[0]!.problem}`);
    });
  cache
    .command('merge')
    .description('join the per-worker manifests of `precompute --worker i/n` into manifest.json, after checking every range and sha256; names any worker to rerun')
    .argument('<dir>', 'cache directory the workers wrote')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (dir: string, flags: CommonFlags) => {
      await runCommand(flags, async (api) => api.mergeCache(dir, { onWarning: (m) => process.stderr.write(`warning: ${m}\n`) }), (s, api) =>
        s.alreadyMerged
          ? `already merged: ${dir} (${s.shards} shards, ${s.rows} rows, ${api.formatBytes(s.bytes)}), verified`
          : `merged ${s.workers} workers into ${dir}/manifest.json: ${s.shards} shards, ${s.rows} rows, ${api.formatBytes(s.bytes)}; every sha256 verified`);
    });
}
