/**
 * Input protection: an output path must never resolve to a file the command reads,
 * with or without --overwrite. Paths are compared by what they resolve to: the
 * real path (symlinks followed, also for an output that does not exist yet but
 * sits in a symlinked folder) and, for existing files, device + inode (hard links).
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ReshootError } from './errors.js';

interface Identity {
  real: string;
  devIno?: string;
}

/** Real path of `p`; for a missing file, the real path of its nearest existing folder plus the rest. */
function realish(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(realish(parent), basename(abs));
  }
}

function identity(p: string): Identity {
  const id: Identity = { real: realish(p) };
  try {
    const st = statSync(p);
    id.devIno = `${st.dev}:${st.ino}`;
  } catch {
    // Not there (yet): only the path can match.
  }
  return id;
}

/**
 * Throws ReshootError when `output` is, or links to, any of `inputs`: same path,
 * a symlink to it (either way round), or a hard link to it. `what` names the output
 * in the message (e.g. "output", "run folder").
 */
export function assertNotAnInput(output: string, inputs: Iterable<string | undefined>, what = 'output'): void {
  const out = identity(output);
  for (const input of inputs) {
    if (!input) continue;
    const inp = identity(input);
    const same = out.real === inp.real || (out.devIno !== undefined && out.devIno === inp.devIno);
    if (same) {
      const how = resolve(output) === resolve(input) ? 'is' : 'resolves to';
      throw new ReshootError(`${what} ${output} ${how} the input ${input}: refusing to write over an input (choose another path)`);
    }
  }
}

/**
 * Throws ReshootError when the folder `dir` (e.g. a run folder that will be
 * written and may be cleared) is an input or holds one.
 */
export function assertFolderHoldsNoInput(dir: string, inputs: Iterable<string | undefined>, what = 'run folder'): void {
  const d = realish(dir);
  for (const input of inputs) {
    if (!input) continue;
    const r = realish(input);
    if (r === d || r.startsWith(`${d}/`)) {
      throw new ReshootError(`${what} ${dir} holds the input ${input}: choose another folder`);
    }
  }
}
