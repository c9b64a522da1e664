/**
 * VRAM per segment of a cmd: generator: `reshoot bench --generator cmd:...` follows each segment's
 * command process tree with the GPU sampler. nvidia-smi is the TEST DOUBLE test/fixtures/fake-nvidia-smi
 * (no GPU here): its per-process file is written by the command itself with its own pid ($$ of the
 * /bin/sh that reshoot spawns) and a per-segment amount, so the expected figures are known independently.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCsv } from '../src/bench/csv.js';
import { ROOT, runCli } from './helpers.js';

test('bench --generator cmd: reports each segment\'s peak over the command\'s process tree and judges the device peak against 45 GB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vram-'));
  const apps = join(dir, 'apps.csv');
  const device = join(dir, 'device.csv');
  writeFileSync(apps, '');
  // Device-wide: 48000 MiB = 50.3 GB used, over the 45 GB budget.
  writeFileSync(device, '48000, 81920\n');
  const gen = join(ROOT, 'test', 'fixtures', 'generator.mjs');
  // Segment k's command claims 3000 + 2000 k MiB for its own pid, stays alive past two polls, then writes frames.
  const cmd = `cmd:echo "$$, $((3000 + 2000 * {segment}))" > ${apps}; sleep 1.5; node ${gen} invert {in} {out}`;
  const csv = join(dir, 'v.csv');
  const r = await runCli(['bench', '--generator', cmd, '--datasets', 'vtest', '--max-frames', '20', '--segments', '2', '-o', csv], {
    timeoutMs: 400_000,
    env: { RESHOOT_NVIDIA_SMI: join(ROOT, 'test', 'fixtures', 'fake-nvidia-smi'), FAKE_NVIDIA_SMI_DEVICE: device, FAKE_NVIDIA_SMI_APPS: apps, FAKE_NVIDIA_SMI_DELAY: '0.05' },
  });
  assert.equal(r.code === 0 || r.code === 3, true, r.stderr);
  const rows = readCsv(csv);
  const segs = rows.filter((x) => x.row_type === 'segment');
  assert.equal(segs.length, 2);
  for (const s of segs) {
    const k = Number(s.segment);
    assert.equal(Number(s.gpu_proc_peak_mib), 3000 + 2000 * k, `segment ${k} peak over its command's tree`);
    assert.match(s.gpu_proc_scope, /^generator:\d+$/);
    assert.equal(Number(s.gpu_mem_peak_mib), 48000);
    assert.equal(Number(s.budget_gpu_gb), 45);
    assert.equal(s.pass_gpu, 'fail', '48000 MiB = 50.3 GB > 45 GB');
  }
});
