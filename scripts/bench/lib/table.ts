/** Plain-text tables for the bench's stdout. */

/** Prints a titled table; numbers are right-aligned, text left-aligned. */
export function printTable(title: string, header: readonly string[], rows: readonly (readonly (string | number)[])[]): void {
  const cells = [header, ...rows].map((r) => r.map(String));
  const width = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || /^[-\d.]/.test(String(r[c] ?? ''))));
  const line = (r: readonly string[]) => r.map((v, c) => (numeric[c] ? v.padStart(width[c]!) : v.padEnd(width[c]!))).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(cells[0]!));
  console.log(width.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}
