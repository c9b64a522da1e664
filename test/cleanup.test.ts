import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

/**
 * A child process creates a FrameStore (and an atomic output in progress),
 * reports the paths, and is interrupted with SIGINT: both files must be gone
 * and the exit status must say "killed by SIGINT" (130).
 */
test('SIGINT removes FrameStore files and partial outputs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-sigint-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'child.mts');
  await writeFile(
    script,
    `import { FrameStore } from ${JSON.stringify(join(ROOT, 'src/video/index.ts'))};
import { withAtomicOutput } from ${JSON.stringify(join(ROOT, 'src/util/atomic.ts'))};
import { writeFile } from 'node:fs/promises';
const store = await FrameStore.create({ width: 4, height: 2, dir: ${JSON.stringify(dir)} });
await store.append({ width: 4, height: 2, data: new Uint8Array(24) });
void withAtomicOutput(${JSON.stringify(join(dir, 'out.bin'))}, async (tmp) => {
  await writeFile(tmp, 'partial');
  console.log(JSON.stringify({ store: store.path, partial: tmp }));
  await new Promise(() => {}); // never finishes: interrupted below
});
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const paths = await new Promise<{ store: string; partial: string }>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(JSON.parse(String(d))));
    child.once('close', () => reject(new Error(`child exited early: ${stderr}`)));
  });
  assert.ok(existsSync(paths.store), 'store file exists while running');
  assert.ok(existsSync(paths.partial), 'partial output exists while running');
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exit, 130);
  assert.ok(!existsSync(paths.store), 'store file removed');
  assert.ok(!existsSync(paths.partial), 'partial output removed');
  assert.deepEqual(await readdir(dir), ['child.mts']);
});
