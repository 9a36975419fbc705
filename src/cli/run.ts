/** The public API (src/index.ts), the only thing the CLI calls. */
export type Api = typeof import('../index.js');

/** The library's message callbacks, as the CLI shows them: log lines and `warning:` lines on stderr. */
export const stderrReporter = {
  onLog: (message: string): void => { process.stderr.write(`${message}\n`); },
  onWarning: (message: string): void => { process.stderr.write(`warning: ${message}\n`); },
};

/** Options every command takes. */
export interface CommonFlags {
  /** Print one machine-readable summary object as the last line of stdout. */
  json?: boolean;
}

/**
 * Runs a command body: prints its summary (as JSON with --json), turns KennisErrors and file
 * system errors into one `error:` line with a non-zero exit, and leaves unexpected errors with their stack.
 */
export async function runCommand<T extends object>(flags: CommonFlags, body: (api: Api) => Promise<T>, human: (summary: T, api: Api) => string): Promise<void> {
  // loaded on demand, so --help and bad flags answer without loading the library
  const api = await import('../index.js');
  try {
    const summary = await body(api);
    if (flags.json) process.stdout.write(JSON.stringify(summary) + '\n');
    else process.stdout.write(human(summary, api) + '\n');
    if ((summary as { ok?: boolean }).ok === false) process.exitCode = 1;
  } catch (thrown) {
    // a file system error no library site named (disk full, read-only, ...) still gets its one line
    const e = api.fileError(thrown);
    if (e instanceof api.KennisError) {
      process.stderr.write(`error: ${e.message}\n`);
      // a script reading --json output gets the failure as its last line too
      if (flags.json) process.stdout.write(JSON.stringify({ error: e.message }) + '\n');
      process.exitCode = e.exitCode;
      return;
    }
    throw e;
  }
}
