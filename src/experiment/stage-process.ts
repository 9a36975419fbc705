/**
 * Entry of a stage's child process (see child.ts): receives one StageRequest over IPC, runs it
 * through the library API and sends back its result or its error, then exits.
 */
import { KennisError, fileError } from '../core/errors/index.js';
import { runStageHere, type StageRequest } from './stages.js';

/** What the child sends back. */
export type StageReply =
  | { ok: true; result: unknown }
  | { ok: false; kennis: boolean; name: string; message: string; exitCode: number; stack?: string };

process.once('message', (request: StageRequest) => {
  runStageHere(request).then(
    (result): StageReply => ({ ok: true, result }),
    (e: unknown): StageReply => {
      // a file system error (disk full, read-only) crosses to the parent as its one line
      const translated = fileError(e);
      const err = translated instanceof Error ? translated : new Error(String(translated));
      const kennis = err instanceof KennisError;
      return { ok: false, kennis, name: err.name, message: err.message, exitCode: kennis ? err.exitCode : 1, ...(kennis || !err.stack ? {} : { stack: err.stack }) };
    },
  ).then((reply) => process.send!(reply, () => process.exit(0)));
});
