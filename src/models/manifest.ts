/**
 * models/manifest.json: which models reshoot uses, where their weights come
 * from (npm package and files), their licence, the sha256 the package files
 * must have, and the input/output contract of the converted ONNX model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../util/paths.js';
import { ReshootError } from '../util/errors.js';

export const MODEL_IDS = ['movenet-lightning', 'movenet-thunder', 'blazepose-lite', 'blazepose-full', 'blazepose-heavy', 'selfie', 'nanodet'] as const;
export type ModelId = (typeof MODEL_IDS)[number];

export interface ModelSpec {
  id: ModelId;
  package: string;
  files: { graph: string; weights: string[] };
  licence: string;
  sha256: Record<string, string>;
  input: { name?: string; shape: number[]; dtype: 'int32' | 'float32'; range: string; layout: 'NHWC' | 'NCHW' };
  /** In the order of the TFJS model's outputs (its signature) = the ONNX output order; `name` is the ONNX output name. */
  outputs: { name?: string; shape: number[]; meaning: string }[];
}

const specSchema = z.object({
  id: z.enum(MODEL_IDS),
  package: z.string(),
  files: z.object({ graph: z.string(), weights: z.array(z.string()).min(1) }),
  licence: z.string(),
  sha256: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  input: z.object({
    name: z.string().optional(),
    shape: z.array(z.number().int()),
    dtype: z.enum(['int32', 'float32']),
    range: z.string(),
    layout: z.enum(['NHWC', 'NCHW']),
  }),
  outputs: z.array(z.object({ name: z.string().optional(), shape: z.array(z.number().int()), meaning: z.string() })).min(1),
});

const manifestSchema = z.object({
  package: z.object({ name: z.string(), version: z.string(), licence: z.string() }),
  models: z.array(specSchema),
});

export type ModelsManifest = z.infer<typeof manifestSchema>;

let cached: ModelsManifest | undefined;

/** The parsed, validated models/manifest.json. */
export function loadModelsManifest(): ModelsManifest {
  if (cached) return cached;
  const path = join(packageRoot(), 'models', 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ReshootError(`cannot read the models manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new ReshootError(`invalid models manifest ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  for (const m of parsed.data.models) {
    for (const f of [m.files.graph, ...m.files.weights]) {
      if (!m.sha256[f]) throw new ReshootError(`invalid models manifest ${path}: ${m.id} has no sha256 for ${f}`);
    }
  }
  return (cached = parsed.data);
}

/** Every model of the manifest. */
export function listModels(): ModelSpec[] {
  return loadModelsManifest().models as ModelSpec[];
}

export function isModelId(id: string): id is ModelId {
  return (MODEL_IDS as readonly string[]).includes(id);
}

/** The manifest entry of one model; a clear error naming the known ids otherwise. */
export function getModelSpec(id: string): ModelSpec {
  const spec = listModels().find((m) => m.id === id);
  if (!spec) throw new ReshootError(`unknown model "${id}"; known models: ${listModels().map((m) => m.id).join(', ')}`);
  return spec;
}
