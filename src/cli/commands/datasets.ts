import { join, resolve } from 'node:path';
import { fetchDatasets, getSynthPreset, listSynthPresets, loadManifest, synthesizeClip } from '../../datasets/index.js';
import { ReshootError } from '../../util/errors.js';
import { ensureDir } from '../../util/atomic.js';
import { withProgress } from '../progress.js';

export function datasetsListCommand(): void {
  const manifest = loadManifest();
  const lines = ['Real clips (datasets/manifest.json; `reshoot datasets fetch`):'];
  for (const c of manifest.clips) {
    const size = `${c.width}x${c.height}${c.fps ? ` ${c.fps.num}/${c.fps.den} fps, ${c.frames} frames` : ''}`;
    lines.push(`  ${c.id.padEnd(14)} ${c.file.padEnd(18)} ${size.padEnd(30)} ${c.description.split('.')[0]}`);
  }
  lines.push('', 'Synthetic presets (`reshoot datasets synth <preset> -o DIR`):');
  for (const p of listSynthPresets()) lines.push(`  ${p.name.padEnd(20)} ${p.description}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function datasetsFetchCommand(ids: string[], opts: { from?: string }): Promise<void> {
  const results = await withProgress(
    'fetch',
    (onProgress) =>
      fetchDatasets({
        ids: ids.length > 0 ? ids : undefined,
        sharedDir: opts.from,
        onProgress,
        log: (msg) => process.env.RESHOOT_VERBOSE && process.stderr.write(`${msg}\n`),
      }),
    'files',
  );
  for (const r of results) process.stdout.write(`${r.id.padEnd(14)} ${r.source.padEnd(10)} ${r.path}\n`);
}

export interface SynthCliOptions {
  all?: boolean;
  out: string;
  seed?: number;
  frames?: number;
  overwrite?: boolean;
}

export async function datasetsSynthCommand(presets: string[], opts: SynthCliOptions): Promise<void> {
  const names = opts.all ? listSynthPresets().map((p) => p.name) : presets;
  if (names.length === 0) {
    throw new ReshootError(`name a preset or pass --all; presets: ${listSynthPresets().map((p) => p.name).join(', ')}`);
  }
  const specs = names.map((name) => getSynthPreset(name)); // validates every name before any work
  const outDir = resolve(opts.out);
  await ensureDir(outDir);
  // The photos and clips the presets are made from: copied into the cache if not there yet.
  await fetchDatasets({ ids: [...new Set(specs.map((s) => s.source))] });
  for (const spec of specs) {
    const out = join(outDir, `${spec.name}.mp4`);
    const gt = await withProgress(spec.name, (onProgress) =>
      synthesizeClip({ ...spec, ...(opts.seed !== undefined && { seed: opts.seed }), ...(opts.frames !== undefined && { frames: opts.frames }) }, out, {
        overwrite: opts.overwrite,
        onProgress,
      }),
    );
    process.stdout.write(`${out}  (${gt.frames} frames, ${gt.width}x${gt.height}, seed ${gt.seed}; ground truth ${out.replace(/\.mp4$/, '.gt.json')})\n`);
  }
}
