/**
 * Worker threads whose entry is a TypeScript file of this package. Node 20 does not apply --import
 * hooks to a worker's own entry file, so the worker starts from a bootstrap that registers tsx's ESM
 * hooks (its public tsx/esm/api) and then imports the TypeScript file.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from './paths.js';

/** Starts `relativePath` (from the package root, e.g. 'src/flow/flow-worker.ts') in a worker thread. */
export function startTsWorker(relativePath: string, workerData: unknown): Worker {
  const file = join(packageRoot(), relativePath);
  const tsxApi = pathToFileURL(join(packageRoot(), 'node_modules', 'tsx', 'dist', 'esm', 'api', 'index.mjs')).href;
  if (!existsSync(new URL(tsxApi))) throw new Error(`tsx not found at ${tsxApi}; it is needed to start TypeScript worker threads`);
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
