import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReshootError } from '../util/errors.js';
import { packageRoot } from '../util/paths.js';
import type { Rational } from '../video/types.js';

/** One file of real media the project knows about (datasets/manifest.json). */
export interface ClipEntry {
  /** Short lowercase name used on the command line, e.g. "vtest". */
  id: string;
  /** File name, identical in the shared folder, in opencv-doc's data folder and in the cache. */
  file: string;
  /** Lowercase hex SHA-256 of the file. */
  sha256: string;
  /** File size in bytes. */
  bytes: number;
  licence: string;
  kind: 'video' | 'image';
  description: string;
  width: number;
  height: number;
  /** Video only: the stream's frame rate. */
  fps?: Rational;
  /** Video only: number of frames. */
  frames?: number;
}

export interface ManifestSource {
  description: string;
  [key: string]: unknown;
}

export interface Manifest {
  schema: 1;
  sources: Record<string, ManifestSource>;
  clips: ClipEntry[];
}

let cached: Manifest | undefined;

/** Path of datasets/manifest.json inside the package. */
export function manifestPath(): string {
  return join(packageRoot(), 'datasets', 'manifest.json');
}

function validate(value: unknown, path: string): Manifest {
  const m = value as Partial<Manifest>;
  if (!m || typeof m !== 'object' || m.schema !== 1 || !Array.isArray(m.clips)) {
    throw new ReshootError(`${path} is not a schema-1 dataset manifest`);
  }
  for (const c of m.clips) {
    if (
      typeof c?.id !== 'string' ||
      typeof c.file !== 'string' ||
      !/^[0-9a-f]{64}$/.test(String(c.sha256)) ||
      typeof c.bytes !== 'number' ||
      (c.kind !== 'video' && c.kind !== 'image')
    ) {
      throw new ReshootError(`${path}: malformed clip entry ${JSON.stringify(c)}`);
    }
  }
  return m as Manifest;
}

/** Reads and checks datasets/manifest.json (cached after the first call). */
export function loadManifest(): Manifest {
  if (cached) return cached;
  const path = manifestPath();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ReshootError(`cannot read the dataset manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ReshootError(`dataset manifest ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  cached = validate(parsed, path);
  return cached;
}

/**
 * The manifest entry for `id`. Matching is case-insensitive and also accepts
 * the file name ("leuvenA.jpg") or its base name ("leuvenA").
 */
export function findClip(id: string): ClipEntry {
  const { clips } = loadManifest();
  const key = id.toLowerCase();
  const hit =
    clips.find((c) => c.id.toLowerCase() === key) ??
    clips.find((c) => c.file.toLowerCase() === key) ??
    clips.find((c) => c.file.replace(/\.[^.]+$/, '').toLowerCase() === key);
  if (!hit) {
    throw new ReshootError(`unknown dataset clip "${id}"; known: ${clips.map((c) => c.id).join(', ')}`);
  }
  return hit;
}
