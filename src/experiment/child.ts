import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KennisError } from '../core/errors/index.js';
import type { StageReply } from './stage-process.js';
import type { StageRequest, StageResult } from './stages.js';

/** The child entry beside this module: the .ts source under tsx, the compiled .js after a build. */
function childEntry(): { file: string; execArgv: string[] } {
  const ts = fileURLToPath(new URL('./stage-process.ts', import.meta.url));
  if (import.meta.url.endsWith('.ts') && existsSync(ts)) return { file: ts, execArgv: ['--import', import.meta.resolve('tsx')] };
  return { file: fileURLToPath(new URL('./stage-process.js', import.meta.url)), execArgv: [] };
}

/**
 * Runs one stage in its own process (so the teacher never shares memory with a student) through
 * the library API and returns its typed result. Each line the child writes to stderr goes to
 * `onLine` prefixed with `[label]` (default: this process's stderr; distill and sweep pass their
 * onLog, so a library caller hears nothing unless it asks). A KennisError in the child is
 * rethrown here as one named line; any other error keeps its stack.
 */
export function runStage<R extends StageRequest>(label: string, request: R, onLine: (line: string) => void = writeStderr): Promise<StageResult<R>> {
  const { file, execArgv } = childEntry();
  return new Promise((resolveStage, reject) => {
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let reply: StageReply | undefined;
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) onLine(`[${label}] ${line}`);
    });
    child.on('message', (m: StageReply) => { reply = m; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (partial) onLine(`[${label}] ${partial}`);
      if (reply?.ok) return resolveStage(reply.result as StageResult<R>);
      if (reply && reply.kennis) return reject(new KennisError(`stage '${label}' failed: ${reply.message}`));
      if (reply) return reject(Object.assign(new Error(`stage '${label}' failed: ${reply.name}: ${reply.message}`), { stack: reply.stack }));
      reject(new KennisError(`stage '${label}' ended without a result (${signal ? `signal ${signal}` : `exit ${code}`}); rerun it alone to see why`));
    });
    child.send(request);
  });
}

function writeStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}
