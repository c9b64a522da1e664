/**
 * The bench's timing columns come from the pipeline's stage list: a stage
 * added to STAGES (src/pipeline/events.ts) without a `time_<stage>_s` column
 * fails here, and the committed baseline's columns stay readable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { COLUMN_NAMES, LEGACY_TIMING_COLUMNS, columnSpec, readCsv, timingColumn } from '../src/bench/index.js';
import { SEGMENT_STAGES, STAGES, STEP_NAMES } from '../src/pipeline/events.js';
import { ROOT } from './helpers.js';

test('every pipeline stage has a timing column in seconds, summed on summary rows', () => {
  for (const stage of STAGES) {
    const spec = columnSpec(`time_${stage}_s`);
    assert.ok(spec, `no column time_${stage}_s for stage ${stage}`);
    assert.equal(spec.unit, 's');
    assert.equal(spec.aggregate, 'sum');
  }
  // What run.json records per segment and per step is a subset of STAGES, so it has columns too.
  for (const s of [...SEGMENT_STAGES, ...STEP_NAMES]) assert.ok(COLUMN_NAMES.includes(`time_${s}_s`), s);
  assert.equal(timingColumn('generate'), 'time_generate_s');
});

test('timing columns are STAGES, in pipeline order, then the legacy ones', () => {
  const timing = COLUMN_NAMES.filter((n) => /^time_.*_s$/.test(n) && n !== 'time_measure_s');
  assert.deepEqual(timing, [...STAGES.map((s) => `time_${s}_s`), 'time_blend_s', 'time_reshake_s']);
  assert.deepEqual([...LEGACY_TIMING_COLUMNS], ['time_blend_s', 'time_reshake_s']);
});

test('the committed validation baseline has no column the bench no longer knows', () => {
  const rows = readCsv(join(ROOT, 'results', 'baseline-validation.csv'));
  assert.ok(rows.length > 0);
  const unknown = Object.keys(rows[0]).filter((n) => !COLUMN_NAMES.includes(n));
  assert.deepEqual(unknown, []);
});
