import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetPath, defaultSharedDir, fetchDatasets, findClip, loadManifest } from '../src/datasets/index.js';
import { isReshootError } from '../src/util/errors.js';
import { mediaFile } from './helpers.js';

// Small files used for the fetch tests (no network: download is disabled and
// the apt path is never taken).
const SMALL = ['building', 'basketball1'];

let work: string;
const shared = defaultSharedDir();

before(() => {
  work = mkdtempSync(join(tmpdir(), 'reshoot-datasets-test-'));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

const sha256 = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');

/** A fake shared folder holding copies of the SMALL clips (from the real shared folder). */
function fakeShared(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const id of SMALL) copyFileSync(mediaFile(findClip(id).file), join(dir, findClip(id).file));
  return dir;
}

test('the manifest lists every shared file with its SHA256SUMS hash', () => {
  const m = loadManifest();
  assert.equal(m.schema, 1);
  assert.ok(m.sources['opencv-doc']);
  assert.equal(m.clips.length, 9);
  const ids = new Set(m.clips.map((c) => c.id));
  assert.equal(ids.size, m.clips.length, 'ids are unique');
  for (const c of m.clips) {
    assert.match(c.sha256, /^[0-9a-f]{64}$/);
    assert.match(c.licence, /Apache-2\.0 AND BSD-3-Clause/);
    assert.ok(c.width > 0 && c.height > 0);
    if (c.kind === 'video') assert.ok(c.fps && c.frames);
  }
  if (!shared) {
    // No shared folder (a fresh machine): hash the files `reshoot datasets fetch` took from opencv-doc.
    for (const c of m.clips) assert.equal(sha256(readFileSync(mediaFile(c.file))), c.sha256, c.file);
    return;
  }
  const sums = readFileSync(join(shared, 'SHA256SUMS'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/));
  assert.equal(sums.length, m.clips.length);
  for (const [hash, file] of sums) {
    const c = m.clips.find((x) => x.file === file);
    assert.ok(c, `${file} missing from the manifest`);
    assert.equal(c.sha256, hash, file);
  }
});

test('findClip matches ids and file names, and lists known ids otherwise', () => {
  assert.equal(findClip('vtest').file, 'vtest.avi');
  assert.equal(findClip('leuvenA.jpg').id, 'leuven');
  assert.equal(findClip('MEGAMIND').file, 'Megamind.avi');
  assert.throws(
    () => findClip('nope'),
    (e) => isReshootError(e) && /unknown dataset clip "nope"; known: vtest, megamind, .*graf1/.test(e.message),
  );
});

test('fetchDatasets copies from a shared folder, then reuses the cache, and repairs a corrupt cached copy', async () => {
  const src = fakeShared('shared-ok');
  const cacheDir = join(work, 'cache-ok');
  const progress: [number, number | undefined][] = [];
  const logs: string[] = [];
  const first = await fetchDatasets({
    ids: SMALL,
    sharedDir: src,
    cacheDir,
    download: false,
    onProgress: (d, n) => progress.push([d, n]),
    log: (m) => logs.push(m),
  });
  assert.deepEqual(
    first.map((r) => [r.id, r.source]),
    SMALL.map((id) => [id, 'shared']),
  );
  assert.deepEqual(progress, [
    [1, 2],
    [2, 2],
  ]);
  assert.ok(logs.length >= 2);
  for (const r of first) {
    assert.equal(r.path, join(cacheDir, findClip(r.id).file));
    assert.equal(sha256(readFileSync(r.path)), findClip(r.id).sha256);
    assert.equal(datasetPath(r.id, { cacheDir }), r.path);
  }
  assert.deepEqual(readdirSync(cacheDir).sort(), SMALL.map((id) => findClip(id).file).sort(), 'no temporary files left');

  const second = await fetchDatasets({ ids: SMALL, sharedDir: src, cacheDir, download: false });
  assert.deepEqual(
    second.map((r) => r.source),
    ['cache', 'cache'],
  );

  // A damaged cached file (same size, one byte changed) is replaced from the shared folder.
  const p = join(cacheDir, findClip('building').file);
  const bytes = readFileSync(p);
  bytes[100] ^= 0xff;
  writeFileSync(p, bytes);
  const third = await fetchDatasets({ ids: ['building'], sharedDir: src, cacheDir, download: false });
  assert.equal(third[0].source, 'shared');
  assert.equal(sha256(readFileSync(p)), findClip('building').sha256);
});

test('a shared file with the wrong SHA-256 is rejected and not left in the cache', async () => {
  const src = fakeShared('shared-bad');
  const clip = findClip('building');
  const bad = readFileSync(join(src, clip.file));
  bad[1000] ^= 0x01;
  writeFileSync(join(src, clip.file), bad);
  const actual = sha256(bad);
  const cacheDir = join(work, 'cache-bad');
  await assert.rejects(
    fetchDatasets({ ids: ['building'], sharedDir: src, cacheDir, download: false }),
    (e) =>
      isReshootError(e) &&
      e.message.includes(clip.file) &&
      e.message.includes(`expected sha256 ${clip.sha256}`) &&
      e.message.includes(`got ${actual}`),
  );
  assert.equal(existsSync(join(cacheDir, clip.file)), false);
  assert.deepEqual(readdirSync(cacheDir), [], 'no partial copy left behind');
  assert.throws(
    () => datasetPath('building', { cacheDir }),
    (e) => isReshootError(e) && /reshoot datasets fetch/.test(e.message),
  );
});

test('missing files with download disabled fail without touching the network', async () => {
  const empty = join(work, 'shared-empty');
  mkdirSync(empty);
  const cacheDir = join(work, 'cache-empty');
  await assert.rejects(
    fetchDatasets({ ids: ['graf1'], sharedDir: empty, cacheDir, download: false }),
    (e) => isReshootError(e) && /graf1\.png/.test(e.message) && /download disabled/.test(e.message),
  );
  await assert.rejects(
    fetchDatasets({ sharedDir: join(work, 'does-not-exist'), cacheDir, download: false }),
    (e) => isReshootError(e) && /does not exist/.test(e.message),
  );
  assert.throws(
    () => datasetPath('graf1', { cacheDir }),
    (e) => isReshootError(e) && /not in the cache .*run `reshoot datasets fetch`/.test(e.message),
  );
});
