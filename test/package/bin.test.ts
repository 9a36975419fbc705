import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * bin/kennis.js in a package laid out like a clone with an older build beside the sources, then
 * like an installed package (no src/): each entry point prints which one ran.
 */
test('bin/kennis.js runs the sources in a clone even when an older build is newer on disk, and dist/ when installed', (t) => {
  const pkg = mkdtempSync(join(tmpdir(), 'kennis-bin-'));
  t.after(() => rmSync(pkg, { recursive: true, force: true }));
  mkdirSync(join(pkg, 'bin'));
  copyFileSync(join(ROOT, 'bin/kennis.js'), join(pkg, 'bin/kennis.js'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'kennis', type: 'module' }));
  mkdirSync(join(pkg, 'src/cli'), { recursive: true });
  // type syntax: only tsx can run this file
  writeFileSync(join(pkg, 'src/cli/main.ts'), "const ran: string = 'src';\nconsole.log(ran, process.argv.slice(2).join(' '));\n");
  mkdirSync(join(pkg, 'dist/cli'), { recursive: true });
  writeFileSync(join(pkg, 'dist/cli/main.js'), "console.log('dist', process.argv.slice(2).join(' '));\n");
  // the build is stale but its files are newer than the sources (mtimes do not decide)
  const old = new Date(Date.now() - 3600_000);
  utimesSync(join(pkg, 'src/cli/main.ts'), old, old);

  const run = () => execFileSync(process.execPath, [join(pkg, 'bin/kennis.js'), 'train', 'x.yaml'], { cwd: pkg, encoding: 'utf8' }).trim();
  assert.equal(run(), 'src train x.yaml');
  rmSync(join(pkg, 'src'), { recursive: true });
  assert.equal(run(), 'dist train x.yaml');
});
