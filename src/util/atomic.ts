import { existsSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, access, constants } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ReshootError } from './errors.js';
import { removeOnExit } from './cleanup.js';

export interface AtomicOptions {
  /** Replace an existing file at the destination. Default false: refuse. */
  overwrite?: boolean;
}

/** Fails with a clear message when `path` exists and overwriting was not asked for. */
export function assertCanWrite(path: string, options: AtomicOptions = {}): void {
  if (!options.overwrite && existsSync(path)) {
    throw new ReshootError(`output ${path} already exists (pass --overwrite to replace it)`);
  }
}

/** Fails with a clear message when the folder of `path` cannot be written. */
export async function assertWritableDir(path: string): Promise<void> {
  const dir = dirname(path);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ReshootError(`output folder ${dir} is not a folder`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    if (!existsSync(dir)) throw new ReshootError(`output folder ${dir} does not exist`);
    throw new ReshootError(`output folder ${dir} is not writable`);
  }
}

/**
 * Produces `path` atomically: `produce` writes to a temporary sibling (same
 * extension, so tools like ffmpeg pick the right muxer) which is renamed onto
 * `path` only when `produce` resolves. On failure or interruption the
 * temporary file is removed, so no partial output is ever left behind.
 */
export async function withAtomicOutput<T>(
  path: string,
  produce: (tempPath: string) => Promise<T>,
  options: AtomicOptions = {},
): Promise<T> {
  assertCanWrite(path, options);
  await assertWritableDir(path);
  const ext = extname(path);
  const tempPath = join(
    dirname(path),
    `.${basename(path, ext)}.${process.pid}.${randomBytes(4).toString('hex')}.partial${ext}`,
  );
  const unregister = removeOnExit(tempPath);
  try {
    const result = await produce(tempPath);
    await rename(tempPath, path);
    return result;
  } catch (err) {
    // Never let a cleanup failure hide the error that matters.
    await rm(tempPath, { force: true, recursive: true }).catch(() => undefined);
    throw writeError(path, err);
  } finally {
    unregister();
  }
}

const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
};

/** A file-system failure while writing `path` as one clear ReshootError; anything else unchanged. */
export function writeError(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && code in WRITE_ERRORS && !(err instanceof ReshootError)) {
    return new ReshootError(`cannot write ${path}: ${WRITE_ERRORS[code]} (${code})`, { cause: err });
  }
  return err;
}

/** Writes text (e.g. JSON) atomically. */
export async function writeFileAtomic(
  path: string,
  contents: string | Uint8Array,
  options: AtomicOptions = {},
): Promise<void> {
  await withAtomicOutput(path, (tmp) => writeFile(tmp, contents), options);
}

/** Writes `value` as pretty JSON atomically. */
export async function writeJsonAtomic(path: string, value: unknown, options: AtomicOptions = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** mkdir -p that reports a clear error. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new ReshootError(`cannot create folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
}
