import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runValidationToCsv } from '../src/bench/validate.js';

test('the pipeline plug-in writes one row per planned segment with times, flicker and stabilization filled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'reshoot-bench-pipeline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'v.csv');
  const r = await runValidationToCsv({ datasets: ['vtest-shake'], configurations: ['fast-synthetic'], maxFrames: 36, out });
  const segs = r.rows.filter((x) => x.row_type === 'segment');
  assert.equal(segs.length, 3);
  // Segments overlap by 5 frames (the default): their lengths add up to the clip plus two overlaps.
  const frames = segs.map((x) => Number(x.frames));
  assert.equal(frames.reduce((a, b) => a + b, 0), 36 + 2 * 5);
  assert.equal(Number(segs[0].start_frame), 0);
  assert.equal(Number(segs[2].end_frame), 36);
  for (const s of segs) {
    assert.ok(Number(s.wall_s) > 0, 'wall time');
    assert.ok(Number(s.time_generate_s) >= 0 && s.time_generate_s !== '', 'generate stage timed');
    assert.ok(Number(s.ewarp_ratio) > 0, 'flicker measured');
    assert.ok(s.jitter_px !== '' && s.residual_shake_px !== '', 'stabilization measured (synthetic clip has ground truth)');
    assert.equal(s.gpu_mem_peak_mib, '', 'no GPU here: empty, never 0');
    assert.notEqual(s.gpu_reason, '');
    assert.equal(s.error, '');
  }
  // Seam scores exist for the two seams only (segments 0 and 1 end in a seam).
  assert.notEqual(segs[0].seam_score, '');
  assert.notEqual(segs[1].seam_score, '');
  assert.equal(segs[2].seam_score, '');
  assert.match(readFileSync(out, 'utf8').split('\n')[0], /^run_id,/);
});
