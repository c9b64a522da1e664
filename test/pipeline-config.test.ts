import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, presetConfig } from '../src/pipeline/config.js';
import { RunFolder } from '../src/pipeline/run-folder.js';

test('balanced is the default preset and holds the documented defaults', () => {
  const c = resolveConfig();
  assert.equal(c.preset, 'balanced');
  // The defaults the product card promises: 30-frame window, 3 segments, 5-frame overlap, 70/30 foot lock.
  assert.equal(c.stabilize.window, 30);
  assert.equal(c.segments.count, 3);
  assert.equal(c.segments.overlap, 5);
  assert.equal(c.footlock.strength, 0.7);
  assert.equal(c.generator.spec, 'passthrough');
});

test('fast uses the lighter models, quality the heavier settings', () => {
  assert.equal(presetConfig('fast').pose.model, 'movenet-lightning');
  assert.equal(presetConfig('fast').masks.model, 'selfie');
  assert.equal(presetConfig('quality').pose.model, 'movenet-thunder');
  assert.ok(presetConfig('quality').background.samples > presetConfig('balanced').background.samples);
});

test('overrides merge deeply onto the preset and keep the untouched fields', () => {
  const c = resolveConfig({ segments: { count: 7 }, temporal: { enabled: false } }, 'fast');
  assert.equal(c.segments.count, 7);
  assert.equal(c.segments.overlap, 5);
  assert.equal(c.temporal.enabled, false);
  assert.equal(c.temporal.strength, presetConfig('fast').temporal.strength);
  assert.equal(c.pose.model, 'movenet-lightning');
});

test('invalid values are rejected with every offending path named', () => {
  assert.throws(
    () => resolveConfig({ segments: { count: 0, overlap: -1 }, footlock: { strength: 2 } }),
    (err: Error) => /segments\.count/.test(err.message) && /segments\.overlap/.test(err.message) && /footlock\.strength/.test(err.message),
  );
  assert.throws(() => resolveConfig({}, 'turbo' as never), /unknown preset "turbo"/);
  assert.throws(() => resolveConfig({ stabilize: { typo: 1 } } as never), /stabilize/);
});

test('a run folder refuses to clobber, resumes only the same input; a changed config is recorded for the steps to judge', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'reshoot-run-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const input = join(root, 'in.bin');
  await writeFile(input, 'abc');
  const dir = join(root, 'run');
  const init = { input: { path: input, bytes: 3, mtimeMs: 1000 }, output: join(root, 'out.mp4'), config: resolveConfig(), versions: {} };
  const { run, resumed } = await RunFolder.open(dir, init);
  assert.equal(resumed, false);
  await run.markStep('plan', { status: 'done', files: ['plan.json'] });
  await writeFile(run.path('plan.json'), '{}');

  await assert.rejects(RunFolder.open(dir, init), /already exists and is not empty/);
  const again = await RunFolder.open(dir, init, { resume: true });
  assert.equal(again.resumed, true);
  assert.equal(again.run.isDone('plan'), true);
  assert.equal(again.run.isDone('pose'), false);

  await assert.rejects(RunFolder.open(dir, { ...init, input: { ...init.input, mtimeMs: 2000 } }, { resume: true }), /input .* changed/);
  // The step runner (test/pipeline-steps.test.ts) decides what a changed config re-runs; the folder takes the new config.
  const changed = await RunFolder.open(dir, { ...init, config: resolveConfig({ segments: { count: 5 } }) }, { resume: true });
  assert.equal(changed.run.manifest.config.segments.count, 5);
});

test('temporal.preset: style hands the stage src/temporal\'s TEMPORAL_STYLE_PRESET (its full-size flow wins), default the config\'s own options', async () => {
  const { temporalOptionsOf } = await import('../src/pipeline/process.js');
  const { TEMPORAL_STYLE_PRESET } = await import('../src/temporal/index.js');
  const cfg = resolveConfig({ temporal: { preset: 'style', carry: true } });
  const style = temporalOptionsOf(cfg.temporal);
  assert.equal(style.flowScale, 1);
  assert.equal(style.carry, true);
  assert.equal(style.strength, 0.6);
  for (const [k, v] of Object.entries(TEMPORAL_STYLE_PRESET)) assert.deepEqual((style as Record<string, unknown>)[k], v, k);
  assert.deepEqual(temporalOptionsOf(resolveConfig().temporal), { strength: 0.6, flowScale: 0.25, carry: false });
  assert.throws(() => resolveConfig({ temporal: { preset: 'painterly' } } as never), /temporal\.preset/);
});
