import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

// No import.meta here: tslab notebooks compile imported modules in a mode that
// rejects it, so the package root is found by walking up from known places.

function isReshootRoot(dir: string): boolean {
  const pkg = join(dir, 'package.json');
  if (!existsSync(pkg)) return false;
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'reshoot';
  } catch {
    return false;
  }
}

function walkUp(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (isReshootRoot(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function scriptDir(): string | undefined {
  try {
    return process.argv[1] ? dirname(realpathSync(process.argv[1])) : undefined;
  } catch {
    return undefined;
  }
}

let cachedRoot: string | undefined;

/** The reshoot package folder (holds package.json, datasets/, models/). */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  const candidates = [process.env.RESHOOT_ROOT, scriptDir(), process.cwd()];
  for (const c of candidates) {
    if (!c) continue;
    const found = walkUp(c);
    if (found) return (cachedRoot = found);
  }
  throw new Error('cannot locate the reshoot package folder; set RESHOOT_ROOT');
}

/** Git-ignored cache folder (datasets, converted models). RESHOOT_CACHE overrides. */
export function cacheDir(...parts: string[]): string {
  const base = process.env.RESHOOT_CACHE ? resolve(process.env.RESHOOT_CACHE) : join(packageRoot(), '.cache');
  return join(base, ...parts);
}
