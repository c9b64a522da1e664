import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(process.cwd());

/**
 * A real clip or photo by file name (e.g. 'vtest.avi'): from the dataset cache
 * that `reshoot datasets fetch` fills (npm test runs it first), else the shared
 * folder. A missing file fails the test with the fix in the message.
 */
export function mediaFile(name: string): string {
  const places = [
    join(process.env.RESHOOT_CACHE ? resolve(process.env.RESHOOT_CACHE) : join(ROOT, '.cache'), 'datasets'),
    process.env.RESHOOT_SHARED_DATASETS,
    resolve(ROOT, '..', 'shared', 'datasets'),
  ];
  for (const dir of places) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`test input ${name} not found in the dataset cache or ../shared/datasets: run \`reshoot datasets fetch\``);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would (node bin/reshoot.js ...), with progress bars off. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'reshoot.js'), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, RESHOOT_PROGRESS: '0', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`reshoot ${args.join(' ')} timed out`));
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A standing COCO-17 figure centred at (cx, cy), s px per unit (about 6 s tall): synthetic keypoints for tracker tests. */
export function figure(cx: number, cy: number, s: number, score = 0.9): { x: number; y: number; score: number; valid: boolean }[] {
  const rel: [number, number][] = [
    [0, -3], [-0.2, -3.1], [0.2, -3.1], [-0.4, -3], [0.4, -3],
    [-0.8, -2.2], [0.8, -2.2], [-1, -1.2], [1, -1.2], [-1, -0.3], [1, -0.3],
    [-0.5, 0], [0.5, 0], [-0.5, 1.5], [0.5, 1.5], [-0.5, 3], [0.5, 3],
  ];
  return rel.map(([x, y]) => ({ x: cx + x * s, y: cy + y * s, score, valid: true }));
}
