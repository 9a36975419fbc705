import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What a user of the published package gets: `npm pack` (which builds through `prepare`), the
 * tarball installed into an empty project, the `kennis` command, the public API with its types, and
 * the README's library example run there. One build, one pack and one install serve every check.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface LockEntry { dev?: boolean; [key: string]: unknown }
interface PackageJson { name: string; version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string>; allowScripts?: Record<string, boolean> }

/** The ```ts block of README.md that imports from 'kennis'. */
function readmeExample(): string {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const example = blocks.filter((b) => b.includes("from 'kennis'"));
  assert.equal(example.length, 1, 'README.md has one ```ts example importing kennis');
  return example[0]!;
}

/**
 * A lockfile for a project depending only on the tarball: the repository's own lock without its
 * dev packages pins exactly the versions kennis depends on, so `npm ci --prefer-offline` installs them
 * from the npm cache (every tarball is there after the repository's own `npm ci`).
 */
function lockFor(pkg: PackageJson, tarball: string, project: Record<string, unknown>): unknown {
  const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: project['name'], version: project['version'], dependencies: { kennis: spec } },
    'node_modules/kennis': {
      version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  return { name: project['name'], version: project['version'], lockfileVersion: 3, requires: true, packages };
}

test('npm pack builds a tarball that installs into an empty project, runs `kennis --help`, imports with types and runs the README example', { timeout: 400_000 }, (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const dir = mkdtempSync(join(tmpdir(), 'kennis-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' };

  // pack: `prepare` builds dist/ from a clean slate first
  const packed = JSON.parse(execFileSync(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const wanted of ['package.json', 'README.md', 'bin/kennis.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'recipes/mnist.yaml', 'data/teachers/mnist-mlp-1200.onnx', 'data/teachers/lm-teacher.onnx']) {
    assert.ok(files.includes(wanted), `the tarball holds ${wanted}`);
  }
  const unwanted = files.filter((f) => /^(src|test|scripts|bench|docs|dist\/(src|test|scripts))\/|\.tsbuildinfo$|^\.npmrc$/.test(f));
  assert.deepEqual(unwanted, [], 'no sources, tests, scripts or bench outputs in the tarball');

  // install into an empty project, offline, with onnxruntime's CUDA download denied as README.md says
  const project = join(dir, 'project');
  mkdirSync(project);
  const tarball = join(dir, packed[0]!.filename);
  const manifest = { name: 'uses-kennis', version: '1.0.0', private: true, type: 'module', dependencies: { kennis: `file:${tarball}` }, allowScripts: pkg.allowScripts };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lockFor(pkg, tarball, manifest), null, 2));
  execFileSync(NPM, ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.ok(!existsSync(join(project, 'node_modules/kennis/src')), 'the installed package runs dist/, it has no sources');

  // the command, through npm's bin link
  const kennis = join(project, 'node_modules/.bin/kennis');
  const help = execFileSync(kennis, ['--help'], { cwd: project, env, encoding: 'utf8' });
  assert.match(help, /^Usage: kennis /);
  for (const command of ['precompute', 'train', 'export', 'eval', 'distill']) assert.match(help, new RegExp(`\\n  ${command}\\b`));
  assert.equal(execFileSync(kennis, ['--version'], { cwd: project, env, encoding: 'utf8' }).trim(), pkg.version);

  // the README's example: type-checked against the package's exported types, then run
  writeFileSync(join(project, 'example.ts'), readmeExample());
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
    },
    files: ['example.ts'],
  }));
  const typecheck = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, env, encoding: 'utf8' });
  assert.equal(typecheck.status, 0, `the README example type-checks against the package's types:\n${typecheck.stdout}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'example.ts'], { cwd: project, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const line = /^(\d+) soft targets in (.+); (\d+) student steps on (\w+)$/m.exec(run.stdout);
  assert.ok(line, `the example printed its summary line, got ${JSON.stringify(run.stdout)}`);
  assert.equal(Number(line[1]), 2000);
  assert.equal(Number(line[3]), 30);
  assert.ok(existsSync(join(line[2]!, 'manifest.json')), 'the cache the example names exists');
  assert.ok(existsSync(join(project, 'runs/example/student')), 'the example wrote its student');

  // export runs tfjs on its cpu backend, whose first tensor used to print tfjs's Node.js banner
  const exported = spawnSync(kennis, ['export', 'runs/example'], { cwd: project, env, encoding: 'utf8' });
  assert.equal(exported.status, 0, exported.stderr);
  assert.doesNotMatch(exported.stdout + exported.stderr, /looks like you are running TensorFlow\.js/, "tfjs's banner stays out of kennis's output");
  assert.ok(existsSync(join(project, 'runs/example/student.onnx')));
});
