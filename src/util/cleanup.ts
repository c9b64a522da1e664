import { rmSync } from 'node:fs';

/**
 * Paths to delete if the process dies (SIGINT, SIGTERM, uncaught error) before
 * their owner removes or renames them: temporary outputs, FrameStore files.
 * Removal on normal completion is the owner's job; this is the safety net.
 */
const pending = new Set<string>();
let installed = false;

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

/** Number of paths currently registered (for tests). */
export function pendingCleanupCount(): number {
  return pending.size;
}
