/**
 * The step runner with fake steps (milliseconds, no video): what runs and what
 * is reused after a failure at each step, after an abort (Ctrl-C), and after a
 * config change that affects one step.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../src/pipeline/config.js';
import type { PipelineEvent } from '../src/pipeline/events.js';
import { RunFolder } from '../src/pipeline/run-folder.js';
import { StepRunner, type Step } from '../src/pipeline/steps.js';

const NAMES = ['decompose', 'stabilize', 'plate', 'plan'] as const;

/** A pipeline of four fake steps; `fail` makes one throw, `keys` sets each step's config key. */
async function pipeline(dir: string, opts: { fail?: string; keys?: Record<string, unknown>; signal?: AbortSignal; resume?: boolean }) {
  const init = { input: { path: '/in', bytes: 1, mtimeMs: 1 }, output: join(dir, 'out.mp4'), config: resolveConfig(), versions: {} };
  const { run } = await RunFolder.open(join(dir, 'run'), init, { resume: opts.resume, overwrite: !opts.resume });
  const ran: string[] = [];
  const events: PipelineEvent[] = [];
  const runner = new StepRunner(run, (e) => events.push(e), () => () => undefined);
  let previous = 0;
  for (const name of NAMES) {
    const step: Step<number> = {
      name,
      outputs: [`${name}.txt`],
      key: opts.keys?.[name] ?? 'k',
      run: async (ctx) => {
        opts.signal?.throwIfAborted();
        if (opts.fail === name) throw new Error(`${name} broke`);
        ran.push(name);
        ctx.note(`${name} ran`);
        const value = previous + 1;
        await writeFile(run.path(`${name}.txt`), String(value));
        return value;
      },
      load: async () => Number(await readFile(run.path(`${name}.txt`), 'utf8')),
    };
    previous = (await runner.step(step))!;
  }
  return { ran, events, run, last: previous };
}

test('a fresh run runs every step once and records each as done with its note', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-steps-'));
  try {
    const { ran, run, last } = await pipeline(dir, {});
    assert.deepEqual(ran, [...NAMES]);
    assert.equal(last, 4); // each step adds one to the previous step's value
    for (const n of NAMES) {
      assert.equal(run.manifest.steps[n].status, 'done');
      assert.equal(run.manifest.steps[n].note, `${n} ran`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

for (const failing of NAMES) {
  test(`a failure at ${failing}: resume reuses the steps before it and runs it and the rest`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reshoot-steps-'));
    try {
      await assert.rejects(pipeline(dir, { fail: failing }), new RegExp(`${failing} broke`));
      const first = JSON.parse(await readFile(join(dir, 'run', 'run.json'), 'utf8'));
      assert.equal(first.steps[failing].status, 'failed');
      const again = await pipeline(dir, { resume: true });
      const k = NAMES.indexOf(failing);
      assert.deepEqual(again.ran, NAMES.slice(k));
      assert.equal(again.last, 4); // reused values feed the later steps exactly as a fresh run's
      const reused = again.events.filter((e) => e.type === 'stage-end' && e.reused).map((e) => e.stage);
      assert.deepEqual(reused, NAMES.slice(0, k));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('an abort (Ctrl-C) mid-run: resume runs only what had not finished', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-steps-'));
  try {
    const ac = new AbortController();
    // Abort once two steps are done: the third sees the aborted signal.
    const p = pipeline(dir, { signal: ac.signal, keys: {} });
    await p; // completes: the signal was not aborted yet
    const ac2 = new AbortController();
    ac2.abort();
    await assert.rejects(pipeline(dir, { signal: ac2.signal, keys: { plate: 'changed' }, resume: true }), /abort/i);
    // decompose and stabilize were reused (no signal check), plate re-ran into the abort.
    const again = await pipeline(dir, { resume: true, keys: { plate: 'changed' } });
    assert.deepEqual(again.ran, ['plate', 'plan']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a changed config key re-runs that step and every later one; a deleted output re-runs its step', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-steps-'));
  try {
    await pipeline(dir, {});
    const changed = await pipeline(dir, { resume: true, keys: { stabilize: { smoother: 'gaussian' } } });
    assert.deepEqual(changed.ran, ['stabilize', 'plate', 'plan']);
    const same = await pipeline(dir, { resume: true, keys: { stabilize: { smoother: 'gaussian' } } });
    assert.deepEqual(same.ran, []);
    await rm(join(dir, 'run', 'plan.txt'));
    assert.equal(existsSync(join(dir, 'run', 'plan.txt')), false);
    const missing = await pipeline(dir, { resume: true, keys: { stabilize: { smoother: 'gaussian' } } });
    assert.deepEqual(missing.ran, ['plan']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a skipped step is recorded with its reason and yields null', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reshoot-steps-'));
  try {
    const init = { input: { path: '/in', bytes: 1, mtimeMs: 1 }, output: join(dir, 'o.mp4'), config: resolveConfig(), versions: {} };
    const { run } = await RunFolder.open(join(dir, 'run'), init);
    const runner = new StepRunner(run, () => undefined, () => () => undefined);
    const v = await runner.step({ name: 'plate', skip: 'background.mode = generated', outputs: [], run: async () => 1, load: async () => 1 });
    assert.equal(v, null);
    assert.deepEqual(run.manifest.steps.plate, { status: 'skipped', note: 'background.mode = generated' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
