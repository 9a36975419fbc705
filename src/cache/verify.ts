import type * as arrow from 'apache-arrow';
import { CacheError } from '../core/errors/index.js';
import { flatValues } from '../core/util/arrow.js';
import { idColumnOf, targetColumnTypes, targetSpecProblem } from './targets/spec.js';
import { MANIFEST_FILE } from './paths.js';
import type { Manifest } from './manifest.js';
import { readManifest } from './manifest-io.js';
import { inspectShard } from './read.js';

/** One thing wrong with a cache. */
export interface VerifyProblem {
  /** Shard file name, or manifest.json for problems of the whole cache. */
  file: string;
  /** What is wrong, e.g. "has sha256 1a2b…, expected 3c4d…". */
  problem: string;
}

/** Result of verifyCache. */
export interface VerifyReport {
  /** True when no problem was found. */
  ok: boolean;
  /** The cache directory. */
  dir: string;
  /** Whether the manifest marks the cache complete. */
  complete: boolean;
  /** Shards read and checked. */
  shardsChecked: number;
  /** Rows the manifest records. */
  rows: number;
  /** Every problem found, in shard order. */
  problems: VerifyProblem[];
  /** One line: a summary when ok, else the first problem with its shard and the fix. */
  message: string;
}

/**
 * Checks a cache end to end: the manifest, and per shard existence, size, sha256, row count,
 * schema (against the manifest's) and row range; for a complete cache, that the shards
 * cover every dataset row. Reads one shard at a time.
 */
export async function verifyCache(dir: string): Promise<VerifyReport> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (err) {
    if (!(err instanceof CacheError)) throw err;
    return { ok: false, dir, complete: false, shardsChecked: 0, rows: 0, problems: [{ file: MANIFEST_FILE, problem: err.message }], message: err.message };
  }
  const problems: VerifyProblem[] = [];
  const specProblem = targetsVersusSchema(manifest);
  if (specProblem) problems.push({ file: MANIFEST_FILE, problem: specProblem });
  let expectedFirst = 0;
  for (const [i, entry] of manifest.shards.entries()) {
    if (entry.firstRow !== expectedFirst) {
      problems.push({ file: entry.file, problem: `starts at row ${entry.firstRow}, expected ${expectedFirst} (the row after shard ${i - 1})` });
    } else {
      const result = await inspectShard(dir, manifest, i, true);
      const problem = result.problem ?? idsOutsideVocab(result.table, manifest);
      if (problem !== undefined) problems.push({ file: entry.file, problem });
    }
    expectedFirst = entry.firstRow + entry.rows;
  }
  const rows = manifest.shards.reduce((n, s) => n + s.rows, 0);
  if (manifest.complete ? rows !== manifest.dataset.rows : rows > manifest.dataset.rows) {
    problems.push({ file: MANIFEST_FILE, problem: `records ${rows} rows in shards, expected ${manifest.complete ? '' : 'at most '}${manifest.dataset.rows} (dataset rows)` });
  }
  if (problems.length === 0 && !manifest.complete) {
    const problem = `is incomplete: ${rows} of ${manifest.dataset.rows} rows in ${manifest.shards.length} shards`;
    return { ok: false, dir, complete: false, shardsChecked: manifest.shards.length, rows, problems: [{ file: MANIFEST_FILE, problem }], message: `cache '${dir}' ${problem}; run \`kennis precompute\` with its recipe to finish it` };
  }
  const first = problems[0];
  const message = first
    ? `cache '${dir}' ${first.file === MANIFEST_FILE ? MANIFEST_FILE : `shard '${first.file}'`} ${first.problem}${problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : ''}; re-run \`kennis precompute\` to rewrite bad shards`
    : `cache '${dir}' ok: ${manifest.shards.length} shards, ${rows} rows${manifest.complete ? '' : ` of ${manifest.dataset.rows} (incomplete)`}`;
  return { ok: problems.length === 0, dir, complete: manifest.complete, shardsChecked: manifest.shards.length, rows, problems, message };
}

/** Where the manifest's target spec contradicts itself or the schema its shards are checked against. */
function targetsVersusSchema(m: Manifest): string | undefined {
  const own = targetSpecProblem(m.targets);
  if (own) return `targets ${own}`;
  for (const [name, type] of Object.entries(targetColumnTypes(m.targets))) {
    const field = m.schema.find((f) => f.name === name);
    if (field?.type !== type) {
      const t = m.targets;
      return `targets (${t.kind}, vocab ${t.vocab}${t.k ? `, k ${t.k}` : ''}${t.samples ? `, ${t.samples} samples` : ''}${t.seqLen ? `, seq_len ${t.seqLen}` : ''}, ${t.valueDtype}/${t.idDtype}) call for column '${name}' of type ${type}, but the schema has ${field ? field.type : 'no such column'}`;
    }
  }
  return undefined;
}

/** A shard whose ids reach past the manifest's vocabulary (a manifest that understates it), or undefined. */
function idsOutsideVocab(table: arrow.Table, m: Manifest): string | undefined {
  const column = idColumnOf(m.targets);
  const vector = column ? table.getChild(column) : null;
  if (!column || !vector) return undefined;
  let max = 0;
  for (const v of flatValues(vector)) if (Number(v) > max) max = Number(v);
  return max >= m.targets.vocab ? `holds id ${max} in column '${column}', outside the manifest's vocabulary of ${m.targets.vocab}` : undefined;
}
