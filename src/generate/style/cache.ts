/**
 * Built style models in the model cache, like the converted pose models
 * (src/models/cache.ts): cacheDir()/models/style-<name>-<weights sha256, 12 hex>-g<STYLE_GRAPH_VERSION>.onnx
 * plus <same>.json with the ONNX file's sha256 and size. A hit re-hashes the
 * bytes, so a truncated or corrupted entry is rebuilt, never run.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir } from '../../util/paths.js';
import { ensureDir, writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { ReshootError } from '../../util/errors.js';
import { STYLE_GRAPH_VERSION, buildStyleOnnx } from './graph.js';
import type { StyleWeights } from './weights.js';

export interface PreparedStyleModel {
  onnxPath: string;
  bytes: Uint8Array;
  fromCache: boolean;
  /** Why an existing entry was not used; absent otherwise. */
  rebuiltBecause?: string;
  ms: number;
}

interface StyleSidecar {
  style: string;
  weightsSha256: string;
  graphVersion: number;
  onnxSha256: string;
  onnxBytes: number;
  createdAt: string;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Where the built model of these weights lives (whether or not it exists yet). */
export function styleModelPath(weights: StyleWeights): string {
  const safe = weights.name.replace(/[^A-Za-z0-9_-]/g, '_');
  return join(cacheDir('models'), `style-${safe}-${weights.sha256.slice(0, 12)}-g${STYLE_GRAPH_VERSION}.onnx`);
}

/** The ONNX bytes for these weights: the verified cache entry, else built now and cached. */
export async function prepareStyleModel(weights: StyleWeights): Promise<PreparedStyleModel> {
  const t0 = performance.now();
  const onnxPath = styleModelPath(weights);
  const sidePath = `${onnxPath}.json`;
  let rebuiltBecause: string | undefined;
  if (existsSync(onnxPath)) {
    try {
      const side = JSON.parse(await readFile(sidePath, 'utf8')) as StyleSidecar;
      const bytes = await readFile(onnxPath);
      if (bytes.byteLength !== side.onnxBytes) rebuiltBecause = `truncated or wrong size (${bytes.byteLength} bytes, expected ${side.onnxBytes})`;
      else if (sha256(bytes) !== side.onnxSha256) rebuiltBecause = 'checksum mismatch (corrupted)';
      else if (side.weightsSha256 !== weights.sha256 || side.graphVersion !== STYLE_GRAPH_VERSION) rebuiltBecause = 'made from other weights or another graph version';
      else return { onnxPath, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), fromCache: true, ms: performance.now() - t0 };
    } catch {
      rebuiltBecause = 'its checksum file is missing or unreadable';
    }
  }
  const bytes = buildStyleOnnx(weights);
  try {
    await ensureDir(cacheDir('models'));
    // Sidecar removed first and written last: an ONNX file without a matching sidecar is never trusted.
    await rm(sidePath, { force: true });
    await writeFileAtomic(onnxPath, bytes, { overwrite: true });
    const side: StyleSidecar = {
      style: weights.name,
      weightsSha256: weights.sha256,
      graphVersion: STYLE_GRAPH_VERSION,
      onnxSha256: sha256(bytes),
      onnxBytes: bytes.byteLength,
      createdAt: new Date().toISOString(),
    };
    await writeJsonAtomic(sidePath, side, { overwrite: true });
  } catch (err) {
    if (err instanceof ReshootError) throw err;
    throw new ReshootError(`cannot write the style model to ${cacheDir('models')} (${(err as Error).message}); set RESHOOT_CACHE to a writable folder`, { cause: err });
  }
  return { onnxPath, bytes, fromCache: false, ms: performance.now() - t0, ...(rebuiltBecause && { rebuiltBecause }) };
}
