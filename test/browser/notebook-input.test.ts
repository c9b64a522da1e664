/**
 * A notebook run on a user's own file: notebook 04 executed by the notebooks script with CLIP_PATH set to a short
 * clip cut from vtest.avi into a temporary folder (not a dataset path), and FRAMES to its length. The executed copy
 * must hold no error output and must have tracked that clip (RENDER_FRAMES=30 only shortens its synthetic part).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrames, encodeFrames, type Frame } from '../../src/video/index.js';
import { cacheDir } from '../../src/util/paths.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reshoot-notebook-input-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('notebook 04 runs on a clip of the user (CLIP_PATH from --set) without an error cell', { timeout: 600_000 }, async () => {
  // Frames 300-323 of vtest.avi: walkers in view and outside the held-out label ranges.
  const frames: Frame[] = [];
  for await (const f of decodeFrames(cacheDir('datasets', 'vtest.avi'), { start: 300, count: 24 })) frames.push(f);
  const clip = join(dir, 'my clip.mp4');
  await encodeFrames(frames, clip, { fps: { num: 10, den: 1 } });
  const out = join(dir, 'executed');
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/run-notebooks.ts', '04-ankle', '--set', `CLIP_PATH=${clip}`, '--set', 'FRAMES=24', '--set', 'RENDER_FRAMES=30', '--out', out],
    { encoding: 'utf8', env: { ...process.env, RESHOOT_NOTEBOOK_CHECK: '0' } },
  );
  assert.equal(run.status, 0, `run-notebooks failed:\n${run.stdout}\n${run.stderr.split('\n').slice(-30).join('\n')}`);
  assert.match(run.stdout, /04-ankle-contacts\.ipynb with CLIP_PATH = ".*my clip\.mp4", FRAMES = 24, RENDER_FRAMES = 30/);
  const nb = JSON.parse(readFileSync(join(out, '04-ankle-contacts.ipynb'), 'utf8')) as { cells: { outputs?: { output_type: string; text?: string[] | string; ename?: string }[] }[] };
  const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
  assert.deepEqual(outputs.filter((o) => o.output_type === 'error').map((o) => o.ename), []);
  const text = outputs.filter((o) => o.output_type === 'stream').map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text ?? '')).join('');
  assert.ok(text.includes(`${clip}: frames 0-23`), `the real-walker section tracked the given clip:\n${text.slice(0, 2000)}`);
});
