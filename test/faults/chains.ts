/**
 * Kill chains: run a CLI command, SIGKILL it at a seeded random moment, run it again (which may
 * be killed again), ... until it finishes; then the caller compares the result with an
 * uninterrupted run. Each kill is one fault the command must survive without losing work.
 */
import { Rng } from '../../src/core/util/rng.js';
import { killWhen, type CliResult, type CliRun } from '../fixtures/cli.js';

/** When to kill a run: `delayMs` after `ready()` first holds. */
export interface KillPlan {
  /** Polled until it holds. */
  ready: () => boolean;
  /** Milliseconds to wait after that. */
  delayMs: number;
  /** For failure messages. */
  describe: string;
}

/** Options of runChains. */
export interface ChainOptions {
  /** Seed of the kill moments (chain c draws from Rng.derive(seed, c)). */
  seed: number;
  /** Kills wanted in total (runs that finish before their kill do not count). */
  kills: number;
  /** Chains run side by side (each its own output location). */
  parallel: number;
  /** Starts the command for chain `chain`. */
  start: (chain: number) => CliRun;
  /** Draws when to kill the next run of `chain`. */
  plan: (chain: number, rng: Rng) => KillPlan;
  /** Called with every run that ended normally (checked by the caller: it must succeed). */
  onFinished?: (chain: number, result: CliResult) => void;
}

/** What happened in one chain. */
export interface ChainReport {
  /** Kill moments that hit a running command, in order. */
  kills: string[];
  /** What the killed runs had written to stderr before the kill, in order. */
  killedStderr: string[];
  /** The run that ended the chain normally. */
  final: CliResult;
}

/**
 * Runs `parallel` chains at a time until `kills` kills landed; every chain is then run once
 * more without a kill, to completion. Chains are numbered 0, 1, ...: a chain whose run finished
 * before its kill is done, and the next chain starts fresh. Returns the reports by chain.
 */
export async function runChains(o: ChainOptions): Promise<ChainReport[]> {
  const reports: ChainReport[] = [];
  let kills = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (kills < o.kills) {
      const chain = next++;
      const report: ChainReport = { kills: [], killedStderr: [], final: undefined as unknown as CliResult };
      // one stream per chain: the draws do not depend on how the parallel chains interleave
      const rng = Rng.derive(o.seed, chain);
      reports[chain] = report;
      for (;;) {
        if (kills >= o.kills) {
          report.final = await o.start(chain).done;
          break;
        }
        const plan = o.plan(chain, rng);
        const r = await killWhen(o.start(chain), plan.ready, plan.delayMs);
        if (!r.killed) {
          report.final = r;
          break;
        }
        kills++;
        report.kills.push(plan.describe);
        report.killedStderr.push(r.stderr);
      }
      o.onFinished?.(chain, report.final);
    }
  };
  await Promise.all(Array.from({ length: o.parallel }, lane));
  return reports;
}
