/**
 * The HTML report renders offline: opened in headless Chromium (Debian's
 * `chromium` package), every chart div must hold a rendered plotly SVG. No
 * Chromium is a test failure, not a skip. Run with `npm run test:browser`
 * (`.ci/run` installs Chromium and runs it); `npm test` does not need a browser.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyRow, judgeRow, DEFAULT_BUDGETS, reportHtml, summaryRow } from '../../src/bench/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-html-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function findChromium(): string {
  const candidates = [process.env.RESHOOT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  assert.fail('Chromium not found: the HTML report test needs it. Install Debian\'s package (apt-get install -y --no-install-recommends chromium) or set RESHOOT_CHROMIUM.');
}

/** The page's DOM after scripts ran, as Chromium serializes it. */
function renderedDom(file: string): string {
  const profile = mkdtempSync(join(dir, 'profile-'));
  return execFileSync(
    findChromium(),
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--virtual-time-budget=10000',
      '--dump-dom',
      `file://${file}`,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 90_000, stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

/** For each chart div (class reshoot-plot), the number of plotly SVG roots inside it. */
function svgsPerChart(dom: string): Map<string, number> {
  const starts = [...dom.matchAll(/<div id="([^"]+)" class="reshoot-plot[^"]*"/g)];
  const out = new Map<string, number>();
  starts.forEach((m, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].index! : dom.length;
    out.set(m[1], (dom.slice(m.index!, end).match(/class="main-svg"/g) ?? []).length);
  });
  return out;
}

function sampleRows() {
  const seg = (config: string, segment: number, o: Record<string, string | number>) =>
    judgeRow(Object.assign(emptyRow(), { row_type: 'segment', run_id: 't', dataset: 'clip', dataset_kind: 'real', configuration: config, segments: 2, segment, repeat: 0, frames: 10 }, o), DEFAULT_BUDGETS);
  const a = [seg('a', 0, { wall_s: 3, gpu_mem_peak_mib: 20000, gpu_proc_peak_mib: 15000, ewarp_ratio: 1.1, jitter_px: 0.3 }), seg('a', 1, { wall_s: 33, gpu_mem_peak_mib: 30000, ewarp_ratio: 1.3, jitter_px: 0.4 })];
  const b = [seg('b', 0, { wall_s: 5, gpu_reason: 'no GPU here', feet_reason: 'no poses', jitter_px: 0.2 }), seg('b', 1, { wall_s: 6, gpu_reason: 'no GPU here', feet_reason: 'no poses' })];
  return [...a, summaryRow(a), ...b, summaryRow(b)];
}

test('the report renders every chart in headless Chromium with no network', () => {
  const rows = sampleRows();
  const file = join(dir, 'report.html');
  const kernels = [{ kernel: 'dense flow', mean_ms: 110, sd_ms: 5 }];
  const html = reportHtml(rows, { kernels });
  // Self-contained: no external script or stylesheet.
  assert.doesNotMatch(html, /<script[^>]+src=/);
  assert.doesNotMatch(html, /<link[^>]+href=/);
  writeFileSync(file, html);
  const charts = svgsPerChart(renderedDom(file));
  // time, gpu, one chart per quality metric (one unit per axis), kernels
  const metrics = ['ewarp_ratio', 'tof', 'seam_score', 'jitter_px', 'intentional_error_px', 'residual_shake_px', 'skate_ratio', 'slide_p95_px', 'max_jump_px'];
  assert.deepEqual([...charts.keys()], ['chart-time', 'chart-gpu', ...metrics.map((m) => `chart-${m}`), 'chart-kernels']);
  for (const [id, n] of charts) assert.ok(n >= 1, `${id} did not render (no .main-svg)`);
});

test('a chart with nothing to plot says why (no GPU: reason) and still renders', () => {
  const rows = sampleRows().filter((r) => r.configuration === 'b');
  const file = join(dir, 'nogpu.html');
  writeFileSync(file, reportHtml(rows));
  const dom = renderedDom(file);
  const charts = svgsPerChart(dom);
  assert.equal(charts.size, 11);
  for (const [id, n] of charts) assert.ok(n >= 1, `${id} did not render`);
  assert.match(dom, /no GPU: no GPU here/);
  assert.match(dom, /not measured: no poses/);
});

