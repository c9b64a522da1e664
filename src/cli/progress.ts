import cliProgress from 'cli-progress';
import type { ProgressFn } from '../video/types.js';

export interface Progress {
  update: ProgressFn;
  stop(): void;
}

/**
 * A progress bar on stderr (so --json output on stdout stays clean). Off when
 * stderr is not a terminal (CI logs) unless RESHOOT_PROGRESS=1, and when
 * RESHOOT_PROGRESS=0.
 */
export function progressBar(label: string, unit = 'frames'): Progress {
  const forced = process.env.RESHOOT_PROGRESS;
  const enabled = forced === '1' || (forced !== '0' && process.stderr.isTTY === true);
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(12)} {bar} {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: forced === '1' && !process.stderr.isTTY,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total ?? 0, done);
        started = true;
      } else {
        if (total !== undefined) bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Runs `work` with a progress bar and always stops the bar, also on errors. */
export async function withProgress<T>(label: string, work: (update: ProgressFn) => Promise<T>, unit?: string): Promise<T> {
  const p = progressBar(label, unit);
  try {
    return await work(p.update);
  } finally {
    p.stop();
  }
}
