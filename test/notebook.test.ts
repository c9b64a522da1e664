import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { figureHtml, framePng, plotlyScriptTag, showPlot, type NotebookDisplay } from '../src/notebook/index.js';

test('figureHtml embeds the traces as JSON and cannot be broken out of by a </script> in the data', () => {
  const html = figureHtml({ data: [{ y: [1, 2, 3], name: '</script><b>x' }] }, 'p1');
  assert.match(html, /<div id="p1"/);
  assert.match(html, /"y":\[1,2,3\]/);
  assert.ok(!html.includes('</script><b>'), 'raw </script> in data must be escaped');
  assert.equal(html.match(/<\/script>/g)?.length, 1);
});

test('showPlot inlines plotly.js once per kernel, then only the chart', () => {
  const shown: string[] = [];
  const display: NotebookDisplay = { html: (s) => shown.push(s), png: () => assert.fail('no png expected') };
  showPlot({ data: [{ y: [1] }] }, display);
  showPlot({ data: [{ y: [2] }] }, display);
  assert.equal(shown.length, 3);
  assert.ok(shown[0].length > 1_000_000, 'first output carries plotly.js itself (offline)');
  assert.ok(shown[0].includes('newPlot'), 'it is the plotly bundle');
  assert.equal(shown[0], plotlyScriptTag());
  assert.match(shown[2], /"y":\[2\]/);
});

test('framePng encodes RGB and gray frames losslessly', async () => {
  const width = 5;
  const height = 3;
  const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256);
  const back = await sharp(await framePng({ width, height, data: rgb })).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([back.info.width, back.info.height, back.info.channels], [5, 3, 3]);
  assert.deepEqual(new Uint8Array(back.data), rgb);
  const gray = Uint8Array.from({ length: width * height }, (_, i) => i * 10);
  const grayPng = await framePng({ width, height, data: gray });
  assert.equal((await sharp(grayPng).metadata()).channels, 1, 'a gray frame stays a one-channel PNG');
  const g = await sharp(grayPng).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(new Uint8Array(g.data), gray);
});
