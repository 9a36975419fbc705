import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { FileError, KennisError } from '../../src/core/errors/index.js';
import { renderReportHtml, reportCharts, writeReport, type ReportInput } from '../../src/evaluate/report/index.js';
import { labelPlacements, paddedRange } from '../../src/evaluate/report/chart-base.js';
import { CLASS_LABELS, mnistLikeReport } from './fixture.js';
import { decodePng } from './png.js';

const CHROMIUM = '/usr/bin/chromium';
const ECHARTS_MIN = fileURLToPath(new URL('../../node_modules/echarts/dist/echarts.min.js', import.meta.url));
const HOSTILE = '<img src=x onerror=alert(1)></script><script>alert(2)</script>';

/** The text of the first <script id=...> element, read the way a browser ends it: at the first '</script'. */
function scriptText(html: string, id: string): string {
  const open = html.indexOf(`id="${id}">`);
  assert.ok(open >= 0, `expected a script with id ${id}`);
  const start = open + id.length + 6;
  return html.slice(start, html.indexOf('</script', start));
}

function withHostileNames(input: ReportInput): ReportInput {
  const copy = structuredClone(input);
  copy.title = `report ${HOSTILE}`;
  copy.models[1]!.name = HOSTILE;
  copy.runs[0]!.name = HOSTILE;
  copy.notes = [...(copy.notes ?? []), `note & ${HOSTILE}`];
  return copy;
}

test('the page inlines the input JSON and echarts, and escapes hostile names everywhere', () => {
  const input = withHostileNames(mnistLikeReport());
  const html = renderReportHtml(input);
  // The JSON survives the trip through a <script> element unchanged, although a name contains "</script>".
  assert.deepEqual(JSON.parse(scriptText(html, 'kennis-data')), input);
  const options = JSON.parse(scriptText(html, 'kennis-charts')) as { id: string; option: { series: { name?: string }[] } }[];
  assert.equal(options.length, reportCharts(input).length);
  for (const o of options) assert.ok(html.includes(`<div class="chart" id="${o.id}"`), `expected a container for ${o.id}`);
  // The hostile name is inside the chart options (drawn as SVG text, never parsed as HTML) ...
  assert.ok(options.some((o) => o.option.series.some((s) => s.name === HOSTILE)));
  // echarts is inlined verbatim; the rest of the page fetches nothing from the network.
  const bundle = readFileSync(ECHARTS_MIN, 'utf8');
  assert.ok(html.includes(`<script>${bundle}</script>`));
  const page = html.replace(bundle, '');
  // ... but the hostile name never appears raw: not in title, notes, table, card headings or JSON.
  assert.ok(!page.includes('<img'), 'raw <img> tag in the page');
  assert.equal(page.split('<script').length - 1, 4, 'expected exactly the 4 scripts of the page');
  const escaped = '&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;';
  assert.ok(page.includes(`<title>report ${escaped}</title>`));
  assert.ok(page.includes(`<li>note &amp; ${escaped}</li>`));
  assert.ok(page.includes(`<tr><td>${escaped}</td>`));
  assert.doesNotMatch(page, /<script[^>]*\ssrc=|<link\b|https?:\/\//);
});

test('chart data matches the input: headline bars, size frontier, per-class bars, confusion cells', () => {
  const input = mnistLikeReport();
  const charts = reportCharts(input);
  const byId = new Map(charts.map((c) => [c.id, c.option as unknown as { series: { name?: string; data: unknown[] }[] }]));
  const bars = byId.get('chart-headline')!.series[0]!.data as { value: number }[];
  assert.deepEqual(bars.map((b) => b.value), input.models.map((m) => m.metrics['test/error']));
  // the size frontier: one point per model at (file bytes, headline metric)
  const frontier = byId.get('chart-size-frontier')!.series as { name: string; data: [number, number][] }[];
  assert.deepEqual(frontier.map((s) => [s.name, s.data]), input.models.map((m) => [m.name, [[m.bytes, m.metrics['test/error']]]]));
  const perClass = byId.get('chart-per-class')!.series;
  assert.deepEqual(perClass.map((s) => s.name), input.models.map((m) => m.name));
  assert.deepEqual(perClass.map((s) => s.data), input.models.map((m) => m.perClassErrors));
  input.models.forEach((m, i) => {
    const [hits, misses] = byId.get(`chart-confusion-${i}`)!.series as { data: [number, number, number][] }[];
    const cells = new Map([...hits!.data, ...misses!.data].map(([p, t, n]) => [`${t},${p}`, n]));
    m.confusion!.forEach((row, t) => row.forEach((n, p) => assert.equal(cells.get(`${t},${p}`) ?? 0, n)));
    assert.ok(hits!.data.every(([p, t]) => p === t) && misses!.data.every(([p, t]) => p !== t));
  });
  // One chart per train metric (loss, ce_loss, kd_loss) and per eval metric; ce_loss only has the distilled run.
  const titles = charts.map((c) => c.title);
  for (const k of ['loss', 'ce_loss', 'kd_loss']) assert.ok(titles.includes(`Training: ${k}`));
  for (const k of ['eval/accuracy', 'eval/error']) assert.ok(titles.includes(`Evaluation: ${k}`));
  const ce = charts.find((c) => c.title === 'Training: ce_loss')!.option as unknown as { series: { name: string; data: number[][] }[] };
  assert.deepEqual(ce.series.map((s) => s.name), ['distilled']);
  assert.deepEqual(ce.series[0]!.data, input.runs[1]!.train.map((p) => [p.step, p['ce_loss']]));
});

test('inconsistent per-class data is rejected with a one-line KennisError', () => {
  const input = mnistLikeReport();
  input.models[0]!.perClassErrors = [0.1, 0.2];
  assert.throws(() => renderReportHtml(input), (e: unknown) => e instanceof KennisError && /perClassErrors: expected 10 values/.test(e.message) && !e.message.includes('\n'));
  const typo = mnistLikeReport();
  typo.headline.metric = 'test/eror';
  assert.throws(() => renderReportHtml(typo), /headline metric 'test\/eror' is missing from every model/);
});

test('scatter helpers: labels of coincident points are stacked, padded ranges stay non-negative and contain the data', () => {
  // Two students of the same size and nearly the same latency, a teacher far away at the right.
  const places = labelPlacements([[50_890, 0.032], [50_890, 0.031], [2_395_210, 0.41]], true, false);
  assert.deepEqual(places.map((p) => p.position), ['right', 'right', 'left']);
  assert.deepEqual(places.map((p) => p.offset[1]), [-7, 7, 0]);
  for (const values of [[0.031, 0.032, 0.41], [2.01, 2.09, 2.03], [1_200_000, 25_000_000], [-3, 4], [5, 5]]) {
    const r = paddedRange(values, false)!;
    const lo = Math.min(...values), hi = Math.max(...values);
    assert.ok(r.min < lo && r.max > hi, `range ${r.min}..${r.max} should strictly contain ${lo}..${hi}`);
    if (lo >= 0) assert.ok(r.min >= 0, `expected min >= 0 for non-negative data, got ${r.min}`);
  }
  assert.deepEqual(paddedRange([50_890, 2_395_210], true), { min: 1e4, max: 1e7 });
  assert.deepEqual(paddedRange([1000, 5000], true), { min: 100, max: 1e4 }); // a point exactly on a decade is not on the axis
});

/** Runs headless Chromium on a file with a fresh profile; returns stdout. */
async function chromium(url: string, args: string[], profile: string): Promise<string> {
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--virtual-time-budget=5000', ...args, url];
  const { stdout } = await promisify(execFile)(CHROMIUM, flags, { timeout: 60_000, maxBuffer: 64 << 20 });
  return stdout;
}

/** Inner text of every SVG <text> element of an HTML fragment (entities as dumped). */
const svgTexts = (html: string): string[] => [...html.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

test('headless Chromium draws every chart as SVG and the screenshot is not blank', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip('chromium not installed');
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kennis-report-'));
  try {
    const input = mnistLikeReport();
    input.models[2]!.name = input.runs[1]!.name = 'distilled <T=4>'; // escaped by the SVG renderer too
    const file = path.join(dir, 'out', 'report.html');
    writeReport(file, input);
    const url = pathToFileURL(file).href;
    const png = path.join(dir, 'shot.png');
    const [dom] = await Promise.all([
      chromium(url, ['--dump-dom'], path.join(dir, 'profile-dom')),
      chromium(url, [`--screenshot=${png}`, '--window-size=1280,2400'], path.join(dir, 'profile-png')),
    ]);

    const charts = reportCharts(input);
    assert.match(dom, new RegExp(`<body data-charts-rendered="${charts.length}"`));
    assert.ok(!dom.includes(' chart-error"'), 'a chart threw while rendering');
    const cards = dom.split('<section class="card').slice(1);
    assert.equal(cards.length, charts.length);
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const modelNames = input.models.map((m) => m.name);
    charts.forEach((chart, i) => {
      const card = cards[i]!;
      assert.ok(card.includes(`id="${chart.id}"`), `card ${i} should hold ${chart.id}`);
      assert.equal(card.split('<svg').length - 1, 1, `${chart.id}: expected one <svg>`);
      // Independent lower bound on drawn marks: each bar, scatter symbol, line and heatmap cell is one <path>.
      let marks: number;
      let names: string[];
      if (chart.kind === 'train' || chart.kind === 'eval') {
        const metric = chart.title.slice(chart.title.indexOf(': ') + 2);
        const runs = input.runs.filter((r) => r[chart.kind as 'train' | 'eval'].some((p) => metric in p));
        [marks, names] = [runs.length, runs.map((r) => r.name)];
      } else if (chart.kind === 'headline' || chart.kind === 'size-latency' || chart.kind === 'size-frontier') [marks, names] = [3, modelNames];
      else if (chart.kind === 'per-class') [marks, names] = [3 * CLASS_LABELS.length, [...modelNames, ...CLASS_LABELS]];
      else if (chart.kind === 'tradeoffs') [marks, names] = [4, input.tradeoffs!.points.map((p) => p.label)];
      else {
        assert.equal(chart.kind, 'confusion');
        const m = input.models[Number(chart.id.split('-').pop())]!;
        [marks, names] = [m.confusion!.flat().filter((n) => n > 0).length, CLASS_LABELS];
      }
      const paths = card.split('<path').length - 1;
      assert.ok(paths >= Math.max(marks, 5), `${chart.id}: expected >= ${Math.max(marks, 5)} <path>, got ${paths}`);
      const texts = svgTexts(card);
      for (const n of names) assert.ok(texts.includes(esc(n)), `${chart.id}: expected SVG text '${n}', got ${texts.join('|')}`);
    });

    const img = decodePng(readFileSync(png));
    assert.deepEqual([img.width, img.height], [1280, 2400]);
    const colors = new Set<number>();
    let ink = 0;
    for (let i = 0; i < img.rgba.length; i += 4) {
      const [r, g, b] = [img.rgba[i]!, img.rgba[i + 1]!, img.rgba[i + 2]!];
      colors.add((r << 16) | (g << 8) | b);
      if (r < 240 || g < 240 || b < 240) ink++;
    }
    const inkFraction = ink / (img.width * img.height);
    assert.ok(inkFraction > 0.05 && inkFraction < 0.8, `expected 5-80% non-white pixels, got ${(100 * inkFraction).toFixed(1)}%`);
    assert.ok(colors.size > 10, `expected > 10 distinct colors, got ${colors.size}`);
    // The solid model colors of the bars must be on screen, pixel-exact.
    const headline = charts[0]!.option as unknown as { series: { data: { itemStyle: { color: string } }[] }[] };
    for (const d of headline.series[0]!.data) assert.ok(colors.has(parseInt(d.itemStyle.color.slice(1), 16)), `bar color ${d.itemStyle.color} not in screenshot`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeReport into a path that cannot be written is one FileError line naming the report and the fix', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kennis-report-'));
  try {
    const blocker = path.join(dir, 'file');
    writeFileSync(blocker, 'not a directory');
    const file = path.join(blocker, 'report.html');
    assert.throws(() => writeReport(file, mnistLikeReport()), (e: unknown) => {
      assert.ok(e instanceof FileError, String(e));
      assert.match(e.message, /writing report '.*file\/report\.html'/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    assert.equal(readFileSync(blocker, 'utf8'), 'not a directory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
