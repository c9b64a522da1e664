/**
 * The rendered-chart check that `npm run notebooks` applies to every exported
 * notebook: it must catch a chart plotly drew without titles (as a plain-string
 * title in plotly.js 4 does), and pass the report's charts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plotlyScriptTag } from '../../src/notebook/index.js';
import { chartProblems, PageInspector, renderedCharts, renderedDom } from '../../src/notebook/html-check.js';
import { emptyRow, judgeRow, DEFAULT_BUDGETS, reportHtml, summaryRow } from '../../src/bench/index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-chart-titles-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a chart drawn with plain-string titles is reported as untitled; a labelled one passes', () => {
  // Written by hand: figureHtml itself refuses the unlabelled figure.
  const chart = (id: string, layout: string) =>
    `<div id="${id}" class="reshoot-plot" style="width:600px;height:300px"></div><script>Plotly.newPlot('${id}',[{y:[1,2],name:'a'},{y:[2,1],name:'b',yaxis:'y2'}],${layout});</script>`;
  const file = join(dir, 'page.html');
  writeFileSync(
    file,
    `<!doctype html><html><head><meta charset="utf-8">${plotlyScriptTag()}</head><body>` +
      chart('good', `{title:{text:'ok'},xaxis:{title:{text:'frame'}},yaxis:{title:{text:'x (px)'},domain:[0.5,1]},yaxis2:{title:{text:'angle (°)'},domain:[0,0.4]}}`) +
      chart('plain', `{title:'plain',xaxis:{title:'frame'},yaxis:{title:'x (px)',domain:[0.5,1]},yaxis2:{title:{text:'angle (°)'},domain:[0,0.4]}}`) +
      `</body></html>`,
  );
  const charts = renderedCharts(renderedDom(file));
  assert.deepEqual(charts.map((c) => c.id), ['good', 'plain']);
  assert.deepEqual(charts[0].axisTitles, { xtitle: 'frame', ytitle: 'x (px)', y2title: 'angle (°)' });
  assert.deepEqual(chartProblems(charts), ['plain: no chart title', 'plain "": axis x has no title', 'plain "": axis y has no title']);
});

test('every chart of the HTML report renders with a title and titled axes', () => {
  const seg = (config: string, segment: number, o: Record<string, string | number>) =>
    judgeRow(Object.assign(emptyRow(), { row_type: 'segment', run_id: 't', dataset: 'vtest-shake', dataset_kind: 'real', configuration: config, segments: 2, segment, repeat: 0, frames: 10 }, o), DEFAULT_BUDGETS);
  const a = [seg('a', 0, { wall_s: 3, gpu_mem_peak_mib: 20000, ewarp_ratio: 1.1, skate_ratio: 0.2, jitter_px: 0.3 }), seg('a', 1, { wall_s: 33, gpu_mem_peak_mib: 30000, ewarp_ratio: 1.3, jitter_px: 0.4 })];
  const file = join(dir, 'report.html');
  writeFileSync(file, reportHtml([...a, summaryRow(a)]));
  const charts = renderedCharts(renderedDom(file));
  assert.equal(charts.length, 11);
  // Charts with nothing to plot hide their axes; the rest must be fully labelled.
  assert.deepEqual(chartProblems(charts), []);
  assert.equal(charts.find((c) => c.id === 'chart-time')?.axisTitles.ytitle, 'wall time (s)');
});

test('PageInspector loads a page once for the same chart check and a screenshot of its top', async () => {
  const chart = (id: string, layout: string) =>
    `<div id="${id}" class="reshoot-plot" style="width:600px;height:300px"></div><script>Plotly.newPlot('${id}',[{y:[1,2],name:'a'}],${layout});</script>`;
  const pages = ['one', 'two'].map((name, k) => {
    const file = join(dir, `${name} page.html`);
    writeFileSync(
      file,
      `<!doctype html><html><head><meta charset="utf-8">${plotlyScriptTag()}</head><body>` +
        chart(`good${k}`, `{title:{text:'ok'},xaxis:{title:{text:'frame'}},yaxis:{title:{text:'x (px)'}}}`) +
        (k === 1 ? chart('plain', `{title:'plain',xaxis:{title:'frame'},yaxis:{title:'x (px)'}}`) : '') +
        `</body></html>`,
    );
    return file;
  });
  const inspector = await PageInspector.open(800, 600);
  try {
    for (const [k, file] of pages.entries()) {
      const png = file.replace(/\.html$/, '.png');
      const charts = renderedCharts(await inspector.inspect(file, png));
      // The second page must not be judged on the first one's DOM.
      assert.deepEqual(charts.map((c) => c.id), k === 0 ? ['good0'] : ['good1', 'plain']);
      assert.deepEqual(chartProblems(charts), k === 0 ? [] : ['plain: no chart title', 'plain "": axis x has no title', 'plain "": axis y has no title']);
      assert.deepEqual(chartProblems(charts), chartProblems(renderedCharts(renderedDom(file))), 'same verdict as --dump-dom');
      const head = readFileSync(png);
      assert.equal(head.subarray(1, 4).toString(), 'PNG');
      assert.deepEqual([head.readUInt32BE(16), head.readUInt32BE(20)], [800, 600]);
    }
  } finally {
    await inspector.close();
  }
});
