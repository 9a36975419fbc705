/** Runs a bench script in its own Node process (fresh heap, so peak RSS belongs to that run alone). */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Options of runScript(). */
export interface ChildOptions {
  /** Show the child's stdout (tables) on ours; default true. */
  echo?: boolean;
  /** Show the child's stderr; default false (it is printed when the child fails). */
  stderr?: boolean;
}

/** Runs `node --import tsx script ...args`; rejects with the child's stderr when it exits non-zero. */
export function runScript(script: string, args: readonly string[], o: ChildOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.on('data', (d: Buffer) => { if (o.echo ?? true) process.stdout.write(d); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); if (o.stderr) process.stderr.write(d); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        // the error's message lines, without the stack frames that bury it
        const message = err.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l)).slice(-10).join(' | ');
        reject(new Error(`${script} ${args.join(' ')} exited with ${code}: ${message}`));
      }
    });
  });
}

/** Runs a script that writes JSON to `--out file` and returns what it wrote. */
export async function runJsonScript<T>(script: string, args: readonly string[], out: string, o: ChildOptions = {}): Promise<T> {
  await runScript(script, [...args, '--out', out], o);
  return JSON.parse(readFileSync(out, 'utf8')) as T;
}
