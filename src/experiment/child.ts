import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KennisError } from '../core/errors/index.js';

const KENNIS_BIN = fileURLToPath(new URL('../../bin/kennis.js', import.meta.url));

/**
 * Runs one kennis stage as its own process (so the teacher never shares memory with a student),
 * prefixes its stderr lines with `[label]`, and returns its --json summary.
 */
export function runStage<T>(label: string, args: readonly string[]): Promise<T> {
  return new Promise((resolveStage, reject) => {
    const child = spawn(process.execPath, [KENNIS_BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let errTail = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        process.stderr.write(`[${label}] ${line}\n`);
        if (line.startsWith('error: ')) errTail = line.slice(7);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) process.stderr.write(`[${label}] ${partial}\n`);
      if (code !== 0) {
        reject(new KennisError(`stage '${label}' failed (exit ${code})${errTail ? `: ${errTail}` : ''}`));
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolveStage(JSON.parse(last) as T);
      } catch {
        reject(new KennisError(`stage '${label}' printed no JSON summary; run 'kennis ${args.join(' ')} --json' to see why`));
      }
    });
  });
}
