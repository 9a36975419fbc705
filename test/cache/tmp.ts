import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const created: string[] = [];
// top-level hook: runs once when the importing test file ends
after(() => Promise.all(created.map((d) => rm(d, { recursive: true, force: true }))));

/** A fresh temp directory for one test, removed when the test file ends. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `kennis-${prefix}-`));
  created.push(dir);
  return dir;
}
