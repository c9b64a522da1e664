/**
 * Every ffmpeg child reshoot starts is registered here, so that no child outlives
 * the process: at exit (normal, error or signal) the live ones are killed. Without
 * this, a decoder whose consumer was abandoned (e.g. after a failed encode) stayed
 * blocked writing to its pipe and kept the CLI from ever exiting.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

/** SIGKILLs every registered child still running (synchronous: usable in an 'exit' handler). */
export function killAllChildren(): number {
  let n = 0;
  for (const p of live) {
    if (alive(p)) {
      try {
        p.kill('SIGKILL');
        n++;
      } catch {
        // Already gone.
      }
    }
    // Our ends of its pipes, so nothing keeps the event loop waiting on a dead child.
    p.stdin?.destroy();
    p.stdout?.destroy();
    p.stderr?.destroy();
  }
  live.clear();
  return n;
}

/** Registers `proc` until it exits; killed by killAllChildren() / at process exit if still running. */
export function trackChild(proc: ChildProcess | undefined): void {
  if (!proc) return;
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      killAllChildren();
    });
  }
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
}

/** Registered children still running (for tests and diagnostics). */
export function liveChildCount(): number {
  let n = 0;
  for (const p of live) if (alive(p)) n++;
  return n;
}
