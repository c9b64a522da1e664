/** Parameter overrides for a notebook run (scripts/run-notebooks.ts --set): expected sources written by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAssignment, setParameter, withParameters, type NotebookJson } from '../src/notebook/index.js';
import { ReshootError } from '../src/util/errors.js';

const CELL = [
  "const CLIP_PATH = '';            // a video of yours; '' = vtest.avi",
  "const SUBJECT: 'auto' | 'largest' | { x: number; y: number } = 'auto'; // whose feet",
  'const W = 320, H = 240;          // decoded size',
  'const SEGMENTS = [3, 5];         // plans',
  "const SYNTH = { seed: 42, name: 'a, b;' };",
  'const FRAMES = 40',
  '',
].join('\n');

test('parseAssignment keeps JSON literals and quotes anything else as a string', () => {
  assert.deepEqual(parseAssignment('CLIP_PATH=/tmp/a b.mp4'), ['CLIP_PATH', '"/tmp/a b.mp4"']);
  assert.deepEqual(parseAssignment('FRAMES=24'), ['FRAMES', '24']);
  assert.deepEqual(parseAssignment('SEGMENTS=[2,4]'), ['SEGMENTS', '[2,4]']);
  assert.deepEqual(parseAssignment('X="7"'), ['X', '"7"']);
  assert.deepEqual(parseAssignment('EMPTY='), ['EMPTY', '""']);
  assert.throws(() => parseAssignment('no equals'), ReshootError);
  assert.throws(() => parseAssignment('2X=1'), ReshootError);
});

test('setParameter replaces exactly one initialiser and leaves the comments and the other names', () => {
  assert.equal(setParameter(CELL, 'CLIP_PATH', '"/tmp/a.mp4"').split('\n')[0], 'const CLIP_PATH = "/tmp/a.mp4";            // a video of yours; \'\' = vtest.avi');
  assert.equal(setParameter(CELL, 'SUBJECT', "'largest'").split('\n')[1], "const SUBJECT: 'auto' | 'largest' | { x: number; y: number } = 'largest'; // whose feet");
  assert.equal(setParameter(CELL, 'W', '160').split('\n')[2], 'const W = 160, H = 240;          // decoded size');
  assert.equal(setParameter(CELL, 'H', '120').split('\n')[2], 'const W = 320, H = 120;          // decoded size');
  assert.equal(setParameter(CELL, 'SEGMENTS', '[2,4]').split('\n')[3], 'const SEGMENTS = [2,4];         // plans');
  assert.equal(setParameter(CELL, 'SYNTH', '{"seed":1}').split('\n')[4], 'const SYNTH = {"seed":1};');
  assert.equal(setParameter(CELL, 'FRAMES', '12').split('\n')[5], 'const FRAMES = 12');
  // Every other line unchanged.
  const lines = setParameter(CELL, 'W', '160').split('\n');
  const before = CELL.split('\n');
  assert.deepEqual(lines.filter((_, i) => i !== 2), before.filter((_, i) => i !== 2));
  assert.throws(() => setParameter(CELL, 'NOPE', '1'), (e: unknown) => e instanceof ReshootError && e.message === 'the parameters cell declares no "NOPE"');
  // A longer name that starts with the one asked for is not it.
  assert.throws(() => setParameter('const FRAMES_SHOWN = 3;\n', 'FRAMES', '1'), ReshootError);
});

test('withParameters changes the parameters cell of notebook 04 only, and refuses a notebook without one', () => {
  const nb = JSON.parse(readFileSync('notebooks/04-ankle-contacts.ipynb', 'utf8')) as NotebookJson;
  const out = withParameters(nb, [['CLIP_PATH', '"/tmp/clip.mp4"'], ['FRAMES', '24']]);
  const i = nb.cells.findIndex((c) => c.metadata?.tags?.includes('parameters'));
  assert.ok(i >= 0);
  const src = (out.cells[i].source as string[]).join('');
  assert.match(src, /^const CLIP_PATH = "\/tmp\/clip\.mp4";/m);
  assert.match(src, /^const FRAMES = 24;/m);
  assert.equal(src.split('\n').length, (nb.cells[i].source as string[]).join('').split('\n').length);
  assert.deepEqual(out.cells.filter((_, k) => k !== i), nb.cells.filter((_, k) => k !== i));
  assert.notEqual((nb.cells[i].source as string[]).join(''), src, 'the input notebook is not modified');
  assert.throws(() => withParameters({ cells: [{ cell_type: 'code', source: ['const A = 1;'] }] }, [['A', '2']]), /no code cell tagged "parameters"/);
});
