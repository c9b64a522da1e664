import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withAtomicOutput, writeJsonAtomic } from '../src/util/atomic.js';
import { ReshootError } from '../src/util/errors.js';

test('atomic output: renamed into place on success, nothing left on failure, no silent overwrite', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'a.json');
  await writeJsonAtomic(out, { x: 1 });
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), { x: 1 });
  await assert.rejects(writeJsonAtomic(out, { x: 2 }), (e: unknown) => e instanceof ReshootError && /already exists/.test(e.message));
  await writeJsonAtomic(out, { x: 3 }, { overwrite: true });
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), { x: 3 });

  const failing = join(dir, 'b.bin');
  await assert.rejects(
    withAtomicOutput(failing, async (tmp) => {
      await writeFile(tmp, 'half');
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.deepEqual(await readdir(dir), ['a.json']);
});

test('atomic output below a regular file is a clear error naming the folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'file'), 'x');
  await assert.rejects(writeJsonAtomic(join(dir, 'file', 'out.json'), {}), (e: unknown) => e instanceof ReshootError && /is not a folder/.test(e.message));
  await assert.rejects(writeJsonAtomic(join(dir, 'nope', 'out.json'), {}), (e: unknown) => e instanceof ReshootError && /does not exist/.test(e.message));
});
