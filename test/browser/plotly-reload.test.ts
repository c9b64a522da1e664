/**
 * The interactive path after a browser reload (issue 22): showPlot inlines
 * plotly.js once per kernel, so after the page is reloaded (the kernel lives on,
 * window.Plotly is gone) a re-run chart cell must still draw. A real notebook
 * page of Debian's jupyter-notebook server (require.js loaded, as users have
 * it) in headless Chromium, driven over the DevTools protocol: run the cells,
 * reload, run the chart cells again. Needs `chromium` and `jupyter-notebook`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startNotebookServer } from '../../src/notebook/server.js';
import { BrowserPage } from './cdp.js';

const chart = (title: string) =>
  `showPlot({ data: [{ y: [1, 3, 2], name: 'a' }, { y: [2, 1, 3], name: 'b' }], layout: { title: { text: '${title}' }, xaxis: { title: { text: 'frame' } }, yaxis: { title: { text: 'value (px)' } } } });`;

const cells = [
  "import { showPlot } from './src/notebook/index.js';",
  chart('first chart'),
  chart('second chart'),
  // The way charts were drawn before the guard: assumes window.Plotly exists.
  `require('tslab').display.html('<div id="bare-plot" style="height:200px"></div><script>Plotly.newPlot("bare-plot", [{ y: [1, 2] }], { title: { text: "bare" } });</script>');`,
];

const drawnCharts = `[...document.querySelectorAll('.output_area .reshoot-plot')].filter((d) => d.querySelector('.main-svg')).map((d) => d.querySelector('.gtitle')?.textContent ?? '')`;
const plotlyFetches = `performance.getEntriesByType('resource').filter((e) => e.name.includes('plotly.js-dist-min')).length`;
const kernelReady = 'window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected() && document.readyState === "complete"';
const idle = '!Jupyter.notebook.get_cells().some((c) => c.element && c.element.hasClass("running"))';

test('a chart cell re-run after a browser reload draws again (plotly.js fetched once per page)', { timeout: 400_000 }, async () => {
  const root = process.cwd();
  const dir = join(root, 'notebooks', 'executed');
  mkdirSync(dir, { recursive: true });
  const name = `reload-test-${randomBytes(4).toString('hex')}.ipynb`;
  writeFileSync(
    join(dir, name),
    JSON.stringify({
      cells: cells.map((source, i) => ({ cell_type: 'code', execution_count: null, id: `c${i}`, metadata: {}, outputs: [], source })),
      metadata: { kernelspec: { display_name: 'TypeScript (reshoot, tslab)', language: 'typescript', name: 'tslab' }, language_info: { name: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  const server = await startNotebookServer({ root });
  let page: BrowserPage | undefined;
  try {
    page = await BrowserPage.launch();
    await page.navigate(`${server.url}/notebooks/notebooks/executed/${name}?token=${server.token}`);
    await page.waitFor(kernelReady, 'the kernel to connect');

    // First run: plotly.js is inlined with the first chart; every chart draws, the bare one too.
    await page.evaluate('Jupyter.notebook.execute_all_cells(), true');
    await page.waitFor(`${drawnCharts}.length === 2 && ${idle}`, 'the first run to draw two charts', 180_000);
    assert.deepEqual(await page.evaluate(drawnCharts), ['first chart', 'second chart']);
    assert.equal(await page.evaluate(`!!document.querySelector('#bare-plot .main-svg')`), true);

    // Reload with no outputs saved (a saved output would re-inline plotly.js): the kernel keeps running.
    await page.evaluate('Jupyter.notebook.clear_all_output(), Jupyter.notebook.save_notebook().then(() => true)');
    await page.evaluate('window.onbeforeunload = null, true');
    await page.reload();
    await page.waitFor(kernelReady, 'the kernel to reconnect after the reload');
    assert.equal(await page.evaluate('typeof window.Plotly'), 'undefined', 'the reloaded page has no plotly.js');
    assert.equal(await page.evaluate('typeof window.define === "function" && !!window.define.amd'), true, 'require.js (AMD) is on the page');

    // The unguarded way draws nothing now: this is what the issue saw (an empty box).
    await page.evaluate('Jupyter.notebook.execute_cells([3]), true');
    await page.waitFor(`document.querySelector('#bare-plot') && ${idle}`, 'the bare output');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await page.evaluate(`!!document.querySelector('#bare-plot .main-svg')`), false);

    // showPlot's charts: the kernel does not inline plotly.js again, each chart fetches it from the server (once).
    await page.evaluate('Jupyter.notebook.execute_cells([1, 2]), true');
    await page.waitFor(`${drawnCharts}.length === 2 && ${idle}`, 'the re-run charts to draw after the reload', 180_000);
    assert.deepEqual(await page.evaluate(drawnCharts), ['first chart', 'second chart']);
    assert.equal(await page.evaluate(plotlyFetches), 1, 'plotly.js is fetched once for both charts');
    assert.equal(await page.evaluate('typeof window.Plotly'), 'object');
  } finally {
    await page?.close();
    await server.stop();
    rmSync(join(dir, name), { force: true });
    rmSync(join(dir, '.ipynb_checkpoints', name.replace(/\.ipynb$/, '-checkpoint.ipynb')), { force: true });
  }
});
