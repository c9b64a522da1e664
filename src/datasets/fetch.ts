import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { ReshootError } from '../util/errors.js';
import { ensureDir, withAtomicOutput } from '../util/atomic.js';
import { cacheDir as defaultCacheRoot, packageRoot } from '../util/paths.js';
import type { ProgressFn } from '../video/types.js';
import { findClip, loadManifest, type ClipEntry } from './manifest.js';

const execFileP = promisify(execFile);

/** Where a fetched file came from. */
export type FetchSource = 'cache' | 'shared' | 'opencv-doc';

export interface FetchResult {
  id: string;
  /** Absolute path of the verified file in the cache. */
  path: string;
  source: FetchSource;
}

export interface FetchOptions {
  /** Clip ids to fetch (see datasets/manifest.json); default: all. */
  ids?: string[];
  /**
   * Read-only folder holding the files. Default: env RESHOOT_SHARED_DATASETS,
   * else `<packageRoot>/../shared/datasets` when present. `null`: do not use one.
   */
  sharedDir?: string | null;
  /** Cache folder the files are copied into. Default: cacheDir('datasets') (RESHOOT_CACHE overrides the root). */
  cacheDir?: string;
  /** Allow the Debian opencv-doc download (about 96 MB) for files found nowhere else. Default true. */
  download?: boolean;
  /** Called after each clip: (clips done, clips total). */
  onProgress?: ProgressFn;
  /** Human-readable progress lines; the library prints nothing itself. */
  log?: (msg: string) => void;
}

/** The default cache folder for datasets. */
export function datasetsCacheDir(): string {
  return defaultCacheRoot('datasets');
}

/** The shared folder fetchDatasets uses by default, or undefined when there is none. */
export function defaultSharedDir(): string | undefined {
  const env = process.env.RESHOOT_SHARED_DATASETS;
  if (env) return resolve(env);
  const candidate = resolve(packageRoot(), '..', 'shared', 'datasets');
  return existsSync(candidate) ? candidate : undefined;
}

/** Lowercase hex SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True when `path` holds exactly the manifest's bytes. */
async function isValidCopy(path: string, clip: ClipEntry): Promise<boolean> {
  if (!isFile(path) || statSync(path).size !== clip.bytes) return false;
  return (await sha256File(path)) === clip.sha256;
}

/**
 * Copies `from` (optionally gzip-compressed) to `dest` through a temporary
 * sibling, verifies the SHA-256 of the copy and only then renames it into
 * place. A mismatch throws a ReshootError and leaves nothing at `dest`.
 */
async function copyVerified(from: string, dest: string, clip: ClipEntry, gz: boolean): Promise<void> {
  await withAtomicOutput(
    dest,
    async (tmp) => {
      if (gz) await pipeline(createReadStream(from), createGunzip(), createWriteStream(tmp));
      else await copyFile(from, tmp);
      const actual = await sha256File(tmp);
      if (actual !== clip.sha256) {
        throw new ReshootError(
          `checksum mismatch for ${clip.file} (from ${from}): expected sha256 ${clip.sha256}, got ${actual}`,
        );
      }
    },
    { overwrite: true },
  );
}

/** Locates `file` (or `file.gz`) in a folder. */
function locate(dir: string, file: string): { path: string; gz: boolean } | undefined {
  if (isFile(join(dir, file))) return { path: join(dir, file), gz: false };
  if (isFile(join(dir, `${file}.gz`))) return { path: join(dir, `${file}.gz`), gz: true };
  return undefined;
}

/** Downloads and unpacks Debian's opencv-doc into a temporary folder; returns its data folder. */
async function downloadOpencvDoc(log: (msg: string) => void): Promise<{ dataDir: string; cleanup: () => Promise<void> }> {
  const source = loadManifest().sources['opencv-doc'] as { dataDir?: string } | undefined;
  const rel = source?.dataDir ?? 'usr/share/doc/opencv-doc/examples/data';
  const work = await mkdtemp(join(tmpdir(), 'reshoot-opencv-doc-'));
  const cleanup = () => rm(work, { recursive: true, force: true });
  try {
    log('downloading Debian package opencv-doc (about 96 MB) with apt-get download');
    try {
      await execFileP('apt-get', ['download', 'opencv-doc'], { cwd: work, maxBuffer: 16 << 20 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      const why = e.code === 'ENOENT' ? 'apt-get is not available on this machine' : (e.stderr || e.message).trim().split('\n').pop();
      throw new ReshootError(
        `cannot download opencv-doc (${why}); set RESHOOT_SHARED_DATASETS to a folder holding the files`,
        { cause: err },
      );
    }
    const deb = (await readdir(work)).find((f) => /^opencv-doc_.*\.deb$/.test(f));
    if (!deb) throw new ReshootError(`apt-get download opencv-doc produced no .deb in ${work}`);
    log(`unpacking ${deb}`);
    const unpacked = join(work, 'x');
    try {
      await execFileP('dpkg-deb', ['-x', join(work, deb), unpacked], { maxBuffer: 16 << 20 });
    } catch (err) {
      throw new ReshootError(`dpkg-deb -x ${deb} failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    const dataDir = join(unpacked, rel);
    if (!existsSync(dataDir)) throw new ReshootError(`opencv-doc package has no ${rel} folder`);
    return { dataDir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Makes every requested clip available, verified, in the cache:
 * already cached with the right SHA-256 → kept; else copied from the shared
 * folder; else taken from Debian's opencv-doc package (downloaded once per
 * call). Every copy is verified and renamed into place atomically.
 */
export async function fetchDatasets(opts: FetchOptions = {}): Promise<FetchResult[]> {
  const log = opts.log ?? (() => {});
  const clips = opts.ids ? opts.ids.map((id) => findClip(id)) : loadManifest().clips;
  const cache = resolve(opts.cacheDir ?? datasetsCacheDir());
  const shared = opts.sharedDir === null ? undefined : opts.sharedDir !== undefined ? resolve(opts.sharedDir) : defaultSharedDir();
  if (opts.sharedDir && !existsSync(opts.sharedDir)) {
    throw new ReshootError(`shared datasets folder ${opts.sharedDir} does not exist`);
  }
  await ensureDir(cache);

  const results: FetchResult[] = [];
  const missing: { clip: ClipEntry; dest: string; index: number }[] = [];
  let done = 0;
  const total = clips.length;

  for (const clip of clips) {
    const dest = join(cache, clip.file);
    if (await isValidCopy(dest, clip)) {
      log(`${clip.id}: cached ${dest}`);
      results.push({ id: clip.id, path: dest, source: 'cache' });
      done += 1;
      opts.onProgress?.(done, total);
      continue;
    }
    if (isFile(dest)) log(`${clip.id}: cached copy ${dest} is stale or corrupt; replacing it`);
    const found = shared ? locate(shared, clip.file) : undefined;
    if (found) {
      log(`${clip.id}: copying ${found.path}`);
      await copyVerified(found.path, dest, clip, found.gz);
      results.push({ id: clip.id, path: dest, source: 'shared' });
      done += 1;
      opts.onProgress?.(done, total);
      continue;
    }
    missing.push({ clip, dest, index: results.length });
    results.push({ id: clip.id, path: dest, source: 'opencv-doc' });
  }

  if (missing.length > 0) {
    if (opts.download === false) {
      throw new ReshootError(
        `dataset files not found${shared ? ` in ${shared}` : ''} and download disabled: ${missing.map((m) => m.clip.file).join(', ')}`,
      );
    }
    const { dataDir, cleanup } = await downloadOpencvDoc(log);
    try {
      for (const { clip, dest } of missing) {
        const found = locate(dataDir, clip.file);
        if (!found) throw new ReshootError(`opencv-doc has no ${clip.file} in its data folder`);
        log(`${clip.id}: copying from opencv-doc`);
        await ensureDir(dirname(dest));
        await copyVerified(found.path, dest, clip, found.gz);
        done += 1;
        opts.onProgress?.(done, total);
      }
    } finally {
      await cleanup();
    }
  }
  return results;
}

/**
 * Path of a clip's file in the cache. Throws a ReshootError telling the user
 * to run `reshoot datasets fetch` when it is missing or has the wrong size.
 */
export function datasetPath(id: string, opts: { cacheDir?: string } = {}): string {
  const clip = findClip(id);
  const path = join(resolve(opts.cacheDir ?? datasetsCacheDir()), clip.file);
  if (!isFile(path)) {
    throw new ReshootError(`dataset ${clip.id} (${clip.file}) is not in the cache ${dirname(path)}; run \`reshoot datasets fetch\``);
  }
  if (statSync(path).size !== clip.bytes) {
    throw new ReshootError(`cached ${path} has the wrong size (corrupt?); run \`reshoot datasets fetch\` to replace it`);
  }
  return path;
}
