/** The flags every bench script takes, its scratch directory and its JSON output. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineInfo } from './machine.js';

/** Parsed command line of a bench script. */
export interface BenchArgs {
  /** --quick: fewer rows and repetitions (the ~1-minute bench). */
  quick: boolean;
  /** --out FILE: where the JSON goes. */
  out: string;
}

/** Reads --quick and --out (default bench/<name>.json). */
export function benchArgs(name: string, argv = process.argv.slice(2)): BenchArgs {
  const at = argv.indexOf('--out');
  return { quick: argv.includes('--quick'), out: path.resolve(at >= 0 ? argv[at + 1]! : `bench/${name}.json`) };
}

/**
 * A fresh scratch directory bench/tmp/<name>-<pid> (removed again by the caller). The pid keeps
 * two runs of the same script (two engineers, or a bench next to a test) from deleting each
 * other's files.
 */
export function scratchDir(name: string): string {
  const dir = path.resolve('bench/tmp', `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes the section's result with the machine it ran on. */
export function writeJson(file: string, result: object): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ machine: machineInfo(), ...result }, null, 2) + '\n');
}

/** True when the module at `url` is the script node was started with (not imported by another). */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url === pathToFileURL(path.resolve(process.argv[1])).href;
}

/**
 * What a section script does when run on its own: reads --quick/--out, runs the section,
 * prints its tables and writes its JSON (bench/<name>.json by default).
 */
export async function runSection<R extends object>(name: string, run: (quick: boolean) => Promise<R>, print: (result: R) => void): Promise<void> {
  const args = benchArgs(name);
  const r = await run(args.quick);
  print(r);
  writeJson(args.out, { quick: args.quick, ...r });
  console.log(`\nwrote ${path.relative(process.cwd(), args.out)}`);
}
