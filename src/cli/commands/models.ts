import { relative } from 'node:path';
import { cachedModelInfo, isModelId, listModels, prepareModel, type ModelId } from '../../models/index.js';
import { ReshootError } from '../../util/errors.js';

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(1)} MB`;
}

export function modelsListCommand(opts: { json?: boolean }): void {
  const rows = listModels().map((m) => {
    const c = cachedModelInfo(m);
    return {
      id: m.id,
      package: m.package,
      file: m.files.graph,
      licence: m.licence,
      input: { shape: m.input.shape, dtype: m.input.dtype, range: m.input.range },
      outputs: m.outputs.map((o) => ({ name: o.name, shape: o.shape })),
      cached: c.cached,
      onnxPath: c.onnxPath,
      onnxBytes: c.onnxBytes ?? null,
    };
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const lines = ['Models (models/manifest.json; `reshoot models prepare` converts them to ONNX into the cache):'];
  for (const r of rows) {
    const input = `${r.input.dtype}[${r.input.shape.join(',')}]`;
    lines.push(
      `  ${r.id.padEnd(18)} ${`${r.package}/${r.file}`.padEnd(52)} ${input.padEnd(22)} ${(r.cached ? `cached ${mb(r.onnxBytes ?? undefined)}` : 'not cached').padEnd(17)} ${r.licence.split(' (')[0]}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function modelsPrepareCommand(ids: string[], opts: { all?: boolean; force?: boolean }): Promise<void> {
  const chosen: string[] = opts.all || ids.length === 0 ? listModels().map((m) => m.id) : ids;
  const bad = chosen.filter((id) => !isModelId(id));
  if (bad.length) throw new ReshootError(`unknown model${bad.length > 1 ? 's' : ''} ${bad.join(', ')}; known models: ${listModels().map((m) => m.id).join(', ')}`);
  for (const [k, id] of chosen.entries()) {
    process.stderr.write(`[${k + 1}/${chosen.length}] ${id}: preparing...\n`);
    const p = await prepareModel(id as ModelId, { force: opts.force });
    const how = p.fromCache
      ? `cached, verified in ${p.ms.toFixed(0)} ms`
      : `converted in ${p.ms.toFixed(0)} ms${p.rebuiltBecause ? ` (rebuilt: ${p.rebuiltBecause})` : ''}`;
    process.stdout.write(`${id.padEnd(18)} ${how.padEnd(34)} ${mb(p.onnxBytes).padStart(8)}  ${relative(process.cwd(), p.onnxPath) || p.onnxPath}\n`);
  }
}
