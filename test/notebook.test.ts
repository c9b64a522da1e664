import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { probeVideo } from '../src/video/index.js';
import { join } from 'node:path';
import { checkFigure, sweepFigure, cropAround, differenceFrame, drawNumber, videoHtml, figureHtml, framePng, plotlyScriptTag, plotlyServedPath, showPlot, type Figure, type NotebookDisplay } from '../src/notebook/index.js';

test('figureHtml embeds the traces as JSON and cannot be broken out of by a </script> in the data', () => {
  const html = figureHtml({ data: [{ y: [1, 2, 3], name: '</script><b>x' }], layout: { title: { text: 't' }, xaxis: { title: { text: 'frame' } }, yaxis: { title: { text: 'v (px)' } } } }, 'p1');
  assert.match(html, /<div id="p1"/);
  assert.match(html, /"y":\[1,2,3\]/);
  assert.ok(!html.includes('</script><b>'), 'raw </script> in data must be escaped');
  assert.equal(html.match(/<\/script>/g)?.length, 1);
});

const L = { title: { text: 'a chart' }, xaxis: { title: { text: 'frame' } }, yaxis: { title: { text: 'value (px)' } } };

test('showPlot inlines plotly.js once per kernel, then only the chart', () => {
  const shown: string[] = [];
  const display: NotebookDisplay = { html: (s) => shown.push(s), png: () => assert.fail('no png expected') };
  showPlot({ data: [{ y: [1] }], layout: L }, display);
  showPlot({ data: [{ y: [2] }], layout: L }, display);
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

test('the layout types reject a plain-string title (tsc fails if these stop being errors)', () => {
  // @ts-expect-error plotly.js 4 ignores a string title: the type demands { text }
  const bad: Figure = { data: [], layout: { title: 'x (px)' } };
  // @ts-expect-error an axis title must be an object too
  const badAxis: Figure = { data: [], layout: { title: { text: 't' }, yaxis2: { title: 'y (px)' } } };
  assert.ok(bad && badAxis);
});

test('checkFigure names a missing chart title, a missing axis title and a snake_case legend name', () => {
  const ok: Figure = { data: [{ y: [1], name: 'raw' }, { y: [2], name: 'smoothed', yaxis: 'y2' }], layout: { title: { text: 't' }, xaxis: { title: { text: 'frame' } }, yaxis: { title: { text: 'x (px)' } }, yaxis2: { title: { text: 'angle (°)' } } } };
  assert.deepEqual(checkFigure(ok), []);
  const noY2 = { ...ok, layout: { ...ok.layout, yaxis2: { range: [0, 1] } } };
  assert.deepEqual(checkFigure(noY2), ["yaxis2 has no title ({ title: { text: 'name (unit)' } })"]);
  assert.deepEqual(checkFigure({ data: [{ y: [1] }], layout: { xaxis: { title: { text: 'frame' } }, yaxis: { title: { text: 'v' } } } }), ['the chart has no title ({ title: { text } })']);
  // plotly.js 4 ignores a plain-string title: the run-time check treats it as missing.
  assert.deepEqual(checkFigure({ data: [{ y: [1] }], layout: { title: { text: 't' }, xaxis: { title: 'frame' }, yaxis: { title: { text: 'v' } } } }), ["xaxis has no title ({ title: { text: 'name (unit)' } })"]);
  const snake = checkFigure({ data: [{ y: [1], name: 'skate_ratio' }, { y: [2], name: 'b' }], layout: ok.layout });
  assert.equal(snake.length, 1);
  assert.match(snake[0], /skate_ratio/);
  assert.throws(() => figureHtml(noY2 as unknown as Figure), (e: Error) => e.name === 'ReshootError' && /yaxis2 has no title/.test(e.message));
  // A hidden axis (an empty chart's placeholder) needs no title.
  assert.deepEqual(checkFigure({ data: [], layout: { title: { text: 'nothing' }, xaxis: { visible: false }, yaxis: { visible: false } } }), []);
});

test('a chart draws from window.Plotly, else fetches plotly.js from the notebook server (page reloaded)', () => {
  const html = figureHtml({ data: [{ y: [1] }], layout: L }, 'p2');
  assert.match(html, /if\(window\.Plotly\)\{draw\(\);return;\}/);
  assert.ok(html.includes(`'files/'+${JSON.stringify(plotlyServedPath())}`));
  assert.ok(existsSync(join(process.cwd(), plotlyServedPath())), 'the served path exists under the project root');
});

/**
 * Static check over the committed notebooks (cheap, runs in npm test): every
 * showPlot/figure layout in a code cell uses { text } titles, never a plain
 * string. The run-time check (figureHtml) covers what regexes cannot.
 */
test('no notebook sets a plain-string chart or axis title', () => {
  const dir = join(process.cwd(), 'notebooks');
  const offenders: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ipynb'))) {
    const nb = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] };
    nb.cells.forEach((c, i) => {
      if (c.cell_type !== 'code') return;
      const src = Array.isArray(c.source) ? c.source.join('') : c.source;
      for (const m of src.matchAll(/\btitle:\s*(['"`])/g)) offenders.push(`${f} cell ${i}: ${src.slice(m.index!, m.index! + 40)}`);
    });
  }
  assert.deepEqual(offenders, []);
});

test('drawNumber draws the 5x7 glyph of each digit (checked pixel by pixel for "1")', () => {
  const f = { width: 20, height: 12, data: new Uint8Array(20 * 12 * 3).fill(128) };
  drawNumber(f, '1', 0, 0, 1);
  const at = (x: number, y: number) => f.data[3 * (y * 20 + x)];
  // Box of 7x9 px from (0,0): one px border, then the glyph rows of "1" ("00100", "01100", ..., "01110").
  const rows = ['00100', '01100', '00100', '00100', '00100', '00100', '01110'];
  for (let gy = 0; gy < 7; gy++) for (let gx = 0; gx < 5; gx++) assert.equal(at(1 + gx, 1 + gy), rows[gy][gx] === '1' ? 255 : 0, `(${gx},${gy})`);
  assert.equal(at(0, 0), 0, 'border is black');
  assert.equal(at(7, 0), 128, 'outside the box untouched');
});

test('videoHtml inlines an H.264 mp4 of the side-by-side clips that decodes to every frame', async () => {
  const mk = (v: number) => Array.from({ length: 6 }, (_, t) => ({ width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill((v + 20 * t) % 256) }));
  const gray = Array.from({ length: 6 }, () => ({ width: 32, height: 24, data: new Uint8Array(32 * 24).fill(200) }));
  const html = await videoHtml([{ label: 'a <raw>', frames: mk(10) }, { label: 'b', frames: gray }], { fps: 5, height: 48, firstIndex: 30 });
  assert.match(html, /a &lt;raw&gt;/);
  assert.match(html, /frames 30-35 at 5 fps/);
  const b64 = html.match(/src="data:video\/mp4;base64,([^"]+)"/)![1];
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-nbvideo-'));
  try {
    const file = join(dir, 'v.mp4');
    writeFileSync(file, Buffer.from(b64, 'base64'));
    const info = await probeVideo(file);
    // Both tiles 48 px high: 64x48 and 64x48 (gray 32x24 scaled x2), plus a 4 px gap.
    assert.deepEqual([info.width, info.height, info.frameCount], [132, 48, 6]);
    assert.equal(info.fps.num / info.fps.den, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(videoHtml([{ label: 'a', frames: mk(0) }, { label: 'b', frames: gray.slice(1) }]), /clip "b" has 5 frames/);
});

test('differenceFrame: largest channel difference times the gain, clipped', () => {
  const a = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 100, 100, 100]) };
  const b = { width: 2, height: 1, data: Uint8Array.from([12, 20, 25, 0, 100, 100]) };
  // pixel 0: max(|10-12|, 0, |30-25|) = 5 -> 20 at gain 4; pixel 1: 100 -> 400 -> 255
  assert.deepEqual([...differenceFrame(a, b, 4).data], [20, 255]);
  assert.throws(() => differenceFrame(a, { width: 1, height: 1, data: new Uint8Array(3) }), /sizes differ/);
});

test('cropAround: square around the box with margin, shifted inside the frame at the edges', () => {
  const W = 40, H = 30;
  const frame = { width: W, height: H, data: Uint8Array.from({ length: W * H * 3 }, (_, i) => Math.floor(i / 3) % 256) };
  // box 10x10 at (15,10): side 10*(1+2*0.5) = 20, centred at (20,15) -> x0 10, y0 5; first pixel 5*40+10 = 210
  const c = cropAround(frame, { x: 15, y: 10, width: 10, height: 10 }, 0.5);
  assert.deepEqual([c.width, c.height, c.data[0], c.data[3 * 3]], [20, 20, 210, 213]);
  // at the top-right corner the crop shifts inside: x0 = 40 - 20 = 20, y0 = 0
  const e = cropAround(frame, { x: 38, y: 0, width: 10, height: 10 }, 0.5);
  assert.deepEqual([e.width, e.data[0]], [20, 20]);
});

test('sweepFigure: fixed traces always visible, each slider step shows only its own traces', () => {
  const L2 = { title: { text: 'sweep' }, xaxis: { title: { text: 'frame' } }, yaxis: { title: { text: 'x (px)' } } };
  const fig = sweepFigure({
    layout: L2,
    fixed: [{ y: [0], name: 'truth' }],
    steps: [
      { label: '5', traces: [{ y: [1], name: 'σ 5' }] },
      { label: '10', traces: [{ y: [2], name: 'σ 10' }] },
    ],
    prefix: 'σ = ',
  });
  assert.deepEqual(fig.data.map((t) => t.visible), [undefined, true, false]);
  const steps = (fig.layout.sliders as { steps: { args: [string, boolean[]] }[] }[])[0].steps;
  assert.deepEqual(steps.map((s) => s.args[1]), [[true, true, false], [true, false, true]]);
  assert.deepEqual(checkFigure(fig), []);
});

test('sweepFigure: steps with a title switch the chart title with the traces (plotly update)', () => {
  const L2 = { title: { text: 'sweep' }, xaxis: { title: { text: 'frame' } }, yaxis: { title: { text: 'x (px)' } } };
  const fig = sweepFigure({
    layout: L2,
    steps: [
      { label: '5', heading: 'σ 5: error 1.2 px', traces: [{ y: [1], name: 'σ 5' }] },
      { label: '10', traces: [{ y: [2], name: 'σ 10' }] },
    ],
    prefix: 'σ = ',
    active: 1,
  });
  const steps = (fig.layout.sliders as { steps: { method: string; args: [{ visible: boolean[] }, { 'title.text': string }] }[] }[])[0].steps;
  assert.deepEqual(steps.map((s) => s.method), ['update', 'update']);
  assert.deepEqual(steps.map((s) => s.args[0].visible), [[true, false], [false, true]]);
  // A step without its own title falls back to the layout's; the active step's title is shown first.
  assert.deepEqual(steps.map((s) => s.args[1]['title.text']), ['σ 5: error 1.2 px', 'sweep']);
  assert.equal(fig.layout.title.text, 'sweep');
  assert.equal(L2.title.text, 'sweep', 'the caller\'s layout is not changed');
});
