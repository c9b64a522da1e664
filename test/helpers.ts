import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(process.cwd());

/** The real clips: the fetched cache when present, else ../shared/datasets. */
export const SHARED = process.env.RESHOOT_SHARED_DATASETS ?? resolve(ROOT, '..', 'shared', 'datasets');
export function sharedFile(name: string): string {
  const p = join(SHARED, name);
  if (!existsSync(p)) throw new Error(`test input ${p} missing: run \`reshoot datasets fetch\` or set RESHOOT_SHARED_DATASETS`);
  return p;
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
