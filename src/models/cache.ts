/**
 * Converted-model cache: cacheDir()/models/<id>-<source sha256, 12 hex>-c<CONVERTER_VERSION>.onnx
 * plus a sidecar <same>.onnx.json holding the ONNX file's sha256 and size.
 * Every cache hit re-hashes the ONNX bytes (about 15 ms for 25 MB), so a
 * truncated or corrupted file is detected and rebuilt instead of crashing
 * onnxruntime or, worse, silently running with damaged weights.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cacheDir } from '../util/paths.js';
import { ensureDir, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import { getModelSpec, type ModelId, type ModelSpec } from './manifest.js';
import { expectedSourceSha256, readModelSource, sha256Hex } from './source.js';
import { CONVERTER_VERSION, convertTfGraph } from './convert.js';
import { parseTfGraph } from './tfjs-graph.js';

export interface PreparedModel {
  id: ModelId;
  onnxPath: string;
  /** True when the ONNX file came from the cache (verified), false when it was converted now. */
  fromCache: boolean;
  /** Milliseconds this call took (conversion, or cache read + verification). */
  ms: number;
  sourceSha256: string;
  converterVersion: string;
  /** Why an existing cache file was not used (e.g. "checksum mismatch"); absent otherwise. */
  rebuiltBecause?: string;
  /** Size of the ONNX file in bytes. */
  onnxBytes: number;
}

interface Sidecar {
  id: string;
  sourceSha256: string;
  converterVersion: string;
  onnxSha256: string;
  onnxBytes: number;
  inputNames: string[];
  outputNames: string[];
  convertMs: number;
  createdAt: string;
}

export function modelCacheDir(): string {
  return cacheDir('models');
}

/** Where the converted ONNX file of `spec` lives (whether or not it exists yet). */
export function cachedOnnxPath(spec: ModelSpec): string {
  return join(modelCacheDir(), `${spec.id}-${expectedSourceSha256(spec).slice(0, 12)}-c${CONVERTER_VERSION}.onnx`);
}

function sidecarPath(onnxPath: string): string {
  return `${onnxPath}.json`;
}

/** Reads and verifies a cache entry; returns the bytes, or the reason it is unusable. */
async function readCacheEntry(onnxPath: string, spec: ModelSpec): Promise<{ bytes: Uint8Array } | { problem: string } | undefined> {
  if (!existsSync(onnxPath)) return undefined;
  let side: Sidecar;
  try {
    side = JSON.parse(await readFile(sidecarPath(onnxPath), 'utf8')) as Sidecar;
  } catch {
    return { problem: 'its checksum file is missing or unreadable' };
  }
  const size = (await stat(onnxPath)).size;
  if (size !== side.onnxBytes) return { problem: `truncated or wrong size (${size} bytes, expected ${side.onnxBytes})` };
  const bytes = await readFile(onnxPath);
  if (bytes.byteLength !== side.onnxBytes) return { problem: `truncated or wrong size (${bytes.byteLength} bytes, expected ${side.onnxBytes})` };
  if (sha256Hex(bytes) !== side.onnxSha256) return { problem: 'checksum mismatch (corrupted)' };
  if (side.sourceSha256 !== expectedSourceSha256(spec) || side.converterVersion !== String(CONVERTER_VERSION)) return { problem: 'made from other weights or another converter version' };
  return { bytes };
}

/** Converts a model from its npm package (verifying the source sha256) and returns the ONNX bytes. */
export async function convertModel(spec: ModelSpec): Promise<{ bytes: Uint8Array; inputNames: string[]; outputNames: string[]; sourceSha256: string }> {
  const src = await readModelSource(spec);
  const graph = parseTfGraph(src.jsonText, src.weightBytes);
  const shards = graph.json.weightsManifest.flatMap((g) => g.paths);
  const expected = spec.files.weights.map((f) => basename(f));
  if (shards.join('\n') !== expected.join('\n')) {
    throw new ReshootError(`${spec.id}: the graph's weight shards (${shards.join(', ')}) differ from the manifest's (${expected.join(', ')})`);
  }
  const result = convertTfGraph(graph, {
    modelName: spec.id,
    inputName: spec.input.name,
    outputNames: spec.outputs.map((o, k) => o.name ?? `output_${k}`),
    metadata: { reshoot_model: spec.id, source_sha256: src.sourceSha256, converter_version: String(CONVERTER_VERSION), source_package: spec.package },
  });
  return { bytes: result.bytes, inputNames: result.inputNames, outputNames: result.outputNames, sourceSha256: src.sourceSha256 };
}

type PreparedWithBytes = PreparedModel & { bytes: Uint8Array };
const inflight = new Map<ModelId, Promise<PreparedWithBytes>>();

/**
 * prepareModel plus the verified ONNX bytes (what loadModel hands to onnxruntime,
 * so the file is read once). Concurrent calls for the same model in one process
 * share one preparation (e.g. pose and masks loading at the same time).
 */
export function prepareModelBytes(id: ModelId, opts: { force?: boolean } = {}): Promise<PreparedWithBytes> {
  if (opts.force) return prepareNow(id, opts);
  const running = inflight.get(id);
  if (running) return running;
  const p = prepareNow(id, opts).finally(() => inflight.delete(id));
  inflight.set(id, p);
  return p;
}

async function prepareNow(id: ModelId, opts: { force?: boolean }): Promise<PreparedWithBytes> {
  const t0 = performance.now();
  const spec = getModelSpec(id);
  const onnxPath = cachedOnnxPath(spec);
  const sourceSha256 = expectedSourceSha256(spec);
  const converterVersion = String(CONVERTER_VERSION);
  let rebuiltBecause: string | undefined;
  if (!opts.force) {
    const entry = await readCacheEntry(onnxPath, spec);
    if (entry && 'bytes' in entry) {
      return { id: spec.id, onnxPath, fromCache: true, ms: performance.now() - t0, sourceSha256, converterVersion, onnxBytes: entry.bytes.byteLength, bytes: entry.bytes };
    }
    if (entry && 'problem' in entry) rebuiltBecause = entry.problem;
  } else {
    rebuiltBecause = 'forced';
  }
  const converted = await convertModel(spec);
  const convertMs = performance.now() - t0;
  try {
    await ensureDir(modelCacheDir());
    // The sidecar goes first-removed, last-written: an ONNX file without a matching sidecar is never trusted.
    await rm(sidecarPath(onnxPath), { force: true });
    await writeFileAtomic(onnxPath, converted.bytes, { overwrite: true });
  } catch (err) {
    throw new ReshootError(`cannot write the converted model to ${modelCacheDir()} (${(err as Error).message}); set RESHOOT_CACHE to a writable folder`, { cause: err });
  }
  const side: Sidecar = {
    id: spec.id,
    sourceSha256,
    converterVersion,
    onnxSha256: sha256Hex(converted.bytes),
    onnxBytes: converted.bytes.byteLength,
    inputNames: converted.inputNames,
    outputNames: converted.outputNames,
    convertMs: Math.round(convertMs),
    createdAt: new Date().toISOString(),
  };
  await writeJsonAtomic(sidecarPath(onnxPath), side, { overwrite: true });
  await removeStaleEntries(spec, onnxPath);
  return {
    id: spec.id,
    onnxPath,
    fromCache: false,
    ms: performance.now() - t0,
    sourceSha256,
    converterVersion,
    onnxBytes: converted.bytes.byteLength,
    bytes: converted.bytes,
    ...(rebuiltBecause && { rebuiltBecause }),
  };
}

/** Older conversions of the same model (other source hash or converter version) are dead weight. */
async function removeStaleEntries(spec: ModelSpec, keep: string): Promise<void> {
  const dir = modelCacheDir();
  const prefix = `${spec.id}-`;
  for (const f of readdirSync(dir)) {
    const full = join(dir, f);
    if (!f.startsWith(prefix) || full === keep || full === sidecarPath(keep)) continue;
    // Only our own naming scheme: <id>-<12 hex>-c<n>.onnx[.json] (so "blazepose-full" never removes "blazepose-full-x").
    if (!/^[0-9a-f]{12}-c\d+\.onnx(\.json)?$/.test(f.slice(prefix.length))) continue;
    await rm(full, { force: true }).catch(() => undefined);
  }
}

/**
 * Makes sure the converted ONNX model is in the cache (converting it from the
 * npm package when missing, stale or corrupt) and returns where it is.
 */
export async function prepareModel(id: ModelId, opts: { force?: boolean } = {}): Promise<PreparedModel> {
  const { bytes: _bytes, ...prepared } = await prepareModelBytes(id, opts);
  return prepared;
}

/** Cache state of a model without converting anything (for `reshoot models list`). */
export function cachedModelInfo(spec: ModelSpec): { onnxPath: string; cached: boolean; onnxBytes?: number } {
  const onnxPath = cachedOnnxPath(spec);
  if (!existsSync(onnxPath) || !existsSync(sidecarPath(onnxPath))) return { onnxPath, cached: false };
  try {
    const side = JSON.parse(readFileSync(sidecarPath(onnxPath), 'utf8')) as Sidecar;
    return { onnxPath, cached: true, onnxBytes: side.onnxBytes };
  } catch {
    return { onnxPath, cached: false };
  }
}

