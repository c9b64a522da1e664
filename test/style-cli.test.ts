/**
 * The style generator's command-line surface: --gen-size / --gen-scope of
 * `process` (config generator.size / generator.scope) and the demo's options.
 * Expected values come from the issue (multiples of 4, 16..4096, style:matta
 * by default, background generated for a whole-frame style, original for the
 * subject scope) and the config's documented defaults, not from the code.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGenSize, configFromFlags } from '../src/cli/commands/process.js';
import { demoPlan } from '../src/cli/commands/demo.js';
import { createStyleGenerator } from '../src/generate/style/index.js';
import { ReshootError } from '../src/util/errors.js';
import { STYLE_CONFIGURATIONS } from '../src/bench/pipeline-run.js';
import { ALL_CONFIGURATIONS, selectConfigurations } from '../src/bench/validate.js';
import { resolveConfig, type PipelineOverrides, type PresetName } from '../src/pipeline/config.js';
import { mediaFile, runCli } from './helpers.js';

const base = { preset: 'balanced', stabilize: true, footlock: true, temporal: true };
const rejects = (fn: () => unknown, mentions: RegExp) =>
  assert.throws(fn, (e: Error) => e instanceof ReshootError && mentions.test(e.message) && !e.message.includes('\n'), `expected a one-line ReshootError matching ${mentions}`);

describe('--gen-size and --gen-scope', () => {
  test('checkGenSize accepts multiples of 4 from 16 to 4096 and names the flag otherwise', () => {
    for (const px of [16, 20, 256, 384, 512, 4096]) assert.equal(checkGenSize(px), px);
    for (const px of [383, 382, 12, 0, -4, 4100, 384.5, Number.NaN]) rejects(() => checkGenSize(px), /--gen-size must be a multiple of 4 from 16 to 4096.*got/);
  });

  test('configFromFlags puts them into generator.size and generator.scope; defaults 384 and frame', () => {
    const def = configFromFlags(base);
    assert.equal(def.generator.size, 384);
    assert.equal(def.generator.scope, 'frame');
    const c = configFromFlags({ ...base, generator: 'style:matta', genSize: 256, genScope: 'subject' });
    assert.equal(c.generator.spec, 'style:matta');
    assert.equal(c.generator.size, 256);
    assert.equal(c.generator.scope, 'subject');
    // The generator's other keys keep their preset values when only the size is given.
    const s = configFromFlags({ ...base, genSize: 512 });
    assert.equal(s.generator.spec, 'passthrough');
    assert.equal(s.generator.size, 512);
  });

  test('configFromFlags refuses a bad size or scope with one line naming the flag', () => {
    rejects(() => configFromFlags({ ...base, genSize: 390 }), /--gen-size .*got 390/);
    rejects(() => configFromFlags({ ...base, genScope: 'face' }), /--gen-scope must be one of frame, subject; got "face"/);
  });

  test('the style generator asks for whole segments only in subject scope', async () => {
    const frame = await createStyleGenerator('matta', { size: 64, threads: 1, provider: 'cpu' });
    const subject = await createStyleGenerator('matta', { size: 64, scope: 'subject', threads: 1, provider: 'cpu' });
    try {
      assert.equal(frame.wholeSegment, false);
      assert.equal(subject.wholeSegment, true);
    } finally {
      await frame.close();
      await subject.close();
    }
  });

  test('reshoot process --gen-size 383 fails with one line before any work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reshoot-gensize-'));
    try {
      const out = join(dir, 'out.mp4');
      for (const [flags, mentions] of [
        [['--gen-size', '383'], /^reshoot: --gen-size must be a multiple of 4 .*got 383$/],
        [['--gen-size', '8'], /^reshoot: --gen-size .*got 8$/],
        [['--gen-scope', 'face'], /^reshoot: --gen-scope must be one of frame, subject/],
      ] as [string[], RegExp][]) {
        const r = await runCli(['process', mediaFile('vtest.avi'), '-o', out, '--generator', 'style:matta', ...flags]);
        assert.notEqual(r.code, 0);
        assert.equal(r.stdout, '');
        const lines = r.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], mentions);
        assert.equal(existsSync(out), false);
        assert.equal(existsSync(join(dir, 'out.run')), false);
      }
      // Not a number at all: commander's own usage error (its first line names the flag).
      const r = await runCli(['process', mediaFile('vtest.avi'), '-o', out, '--gen-size', 'big']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr.split('\n')[0], /--gen-size.*big.*expected an integer/);
      assert.equal(existsSync(out), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('process --help documents --gen-size and --gen-scope', async () => {
    const r = await runCli(['process', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--gen-size <px>[\s\S]*multiple of 4 from 16 to 4096/);
    assert.match(r.stdout, /--gen-scope <scope>[\s\S]*subject/);
  });
});

describe('demo options', () => {
  // 256 px: the size the README's demo section chose to stay within 2 minutes.
  test('defaults: style:matta at 256 px, 80 frames, one whole-frame run over the generated background', () => {
    assert.deepEqual(demoPlan({}), {
      generator: 'style:matta',
      isStyle: true,
      size: 256,
      frames: 80,
      runs: [{ scope: 'frame', background: 'generated', name: 'output' }],
    });
  });

  test('subject scope keeps the original scene; both runs the two; --background overrides one run', () => {
    assert.deepEqual(demoPlan({ genScope: 'subject' }).runs, [{ scope: 'subject', background: 'original', name: 'output' }]);
    assert.deepEqual(demoPlan({ genScope: 'both' }).runs, [
      { scope: 'frame', background: 'generated', name: 'output' },
      { scope: 'subject', background: 'original', name: 'output-subject' },
    ]);
    assert.deepEqual(demoPlan({ background: 'plate' }).runs, [{ scope: 'frame', background: 'plate', name: 'output' }]);
  });

  test('--generator overrides the network; a stand-in keeps the original background', () => {
    const p = demoPlan({ generator: 'synthetic', frames: 40, genSize: 384 });
    assert.equal(p.generator, 'synthetic');
    assert.equal(p.isStyle, false);
    assert.equal(p.frames, 40);
    assert.deepEqual(p.runs, [{ scope: 'frame', background: 'original', name: 'output' }]);
    assert.equal(demoPlan({ generator: 'style:mathura' }).generator, 'style:mathura');
  });

  test('bad demo options are one-line errors', () => {
    rejects(() => demoPlan({ generator: 'dream' }), /unknown generator "dream"/);
    rejects(() => demoPlan({ genSize: 100.5 }), /--gen-size/);
    rejects(() => demoPlan({ genSize: 386 }), /--gen-size .*got 386/);
    rejects(() => demoPlan({ frames: 29 }), /--frames must be a whole number from 30 .*got 29/);
    rejects(() => demoPlan({ frames: 791 }), /--frames .*got 791/);
    rejects(() => demoPlan({ genScope: 'face' }), /--gen-scope must be one of frame, subject, both; got "face"/);
    rejects(() => demoPlan({ generator: 'synthetic', genScope: 'subject' }), /--gen-scope subject needs a style: generator/);
    rejects(() => demoPlan({ background: 'sky' }), /--background must be one of original, plate, generated; got "sky"/);
    rejects(() => demoPlan({ genScope: 'both', background: 'original' }), /--background cannot be combined with --gen-scope both/);
  });

  test('reshoot demo with a bad option fails with one line and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reshoot-demo-opts-'));
    try {
      const out = join(dir, 'demo');
      const r = await runCli(['demo', '-o', out, '--gen-size', '30']);
      assert.notEqual(r.code, 0);
      assert.equal(r.stdout, '');
      assert.match(r.stderr.trimEnd(), /^reshoot: --gen-size must be a multiple of 4 .*got 30$/);
      assert.equal(existsSync(out), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('style in the validation runner', () => {
  test('the style-matta configurations are selectable and resolve to valid pipeline configs: temporal on, carry, off', () => {
    const picked = selectConfigurations(['style-matta', 'style-matta-carry', 'style-matta-no-temporal'], ALL_CONFIGURATIONS);
    assert.deepEqual(picked.map((c) => c.id), ['style-matta', 'style-matta-carry', 'style-matta-no-temporal']);
    assert.equal(STYLE_CONFIGURATIONS.length, 3);
    const cfgs = picked.map((c) => resolveConfig({ ...(c.options as PipelineOverrides), generator: { spec: c.generator } }, c.preset as PresetName));
    for (const c of cfgs) {
      assert.equal(c.generator.spec, 'style:matta');
      assert.equal(c.background.mode, 'generated');
    }
    assert.deepEqual(cfgs.map((c) => [c.temporal.enabled, c.temporal.carry]), [[true, false], [true, true], [false, false]]);
  });
});
