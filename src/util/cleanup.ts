import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Paths to delete if the process dies (SIGINT, SIGTERM, uncaught error) before
 * their owner removes or renames them: temporary outputs, FrameStore files.
 * Removal on normal completion is the owner's job; this is the safety net.
 */
const pending = new Set<string>();
let installed = false;
let interruptMessage: string | undefined;

function removeAll(): void {
  for (const path of pending) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Best effort: we are exiting anyway.
    }
  }
  pending.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', removeAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      removeAll();
      if (interruptMessage) {
        const what = signal === 'SIGINT' ? interruptMessage : interruptMessage.replace(/^interrupted/, `stopped by ${signal}`);
        try {
          process.stderr.write(`reshoot: ${what}\n`);
        } catch {
          // stderr may be gone (closed terminal).
        }
      }
      // Conventional exit status for death by signal: 128 + signal number.
      const code = signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129;
      process.exit(code);
    });
  }
}

/** Registers a path for removal at exit; returns a function that unregisters it. */
export function removeOnExit(path: string): () => void {
  install();
  pending.add(path);
  return () => {
    pending.delete(path);
  };
}

/**
 * Installs the exit and signal handlers now (the CLI does this at start-up, so Ctrl-C
 * always prints its line and exits 130). Also removes onnxruntime-node 1.30's empty
 * `mat-debug-<pid>.log`: its bundled telemetry library creates that file in the temp
 * folder whenever a session is created, and offers no switch to stop it.
 */
export function installExitCleanup(): void {
  install();
  removeOrtDebugLogAtExit();
}

/** Registers onnxruntime's `<tmpdir>/mat-debug-<pid>.log` of this process for removal at exit. */
export function removeOrtDebugLogAtExit(): void {
  removeOnExit(join(tmpdir(), `mat-debug-${process.pid}.log`));
}

/** The line printed (after "reshoot: ") when a signal ends the process; undefined prints nothing. */
export function setInterruptMessage(message: string | undefined): void {
  interruptMessage = message;
}

/** Number of paths currently registered (for tests). */
export function pendingCleanupCount(): number {
  return pending.size;
}
