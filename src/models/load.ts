/**
 * Loads a prepared model into an onnxruntime-node InferenceSession.
 * Provider 'auto' takes CUDA when the installed onnxruntime-node can run it
 * (the cuda backend is listed AND its provider library was installed, which
 * needs ONNXRUNTIME_NODE_INSTALL=cuda12 at npm install time), else the CPU.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { packageRoot } from '../util/paths.js';
import { ReshootError } from '../util/errors.js';
import { getModelSpec, type ModelId, type ModelSpec } from './manifest.js';
import { prepareModelBytes, type PreparedModel } from './cache.js';

export type Provider = 'cpu' | 'cuda';

export interface LoadedModel {
  id: ModelId;
  spec: ModelSpec;
  session: ort.InferenceSession;
  provider: Provider;
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** How the ONNX file was obtained (cache hit or conversion, and its time). */
  prepared: PreparedModel;
  /** Milliseconds to create the onnxruntime session. */
  sessionMs: number;
  /** Intra-op threads the session uses. */
  threads: number;
  /** Why 'auto' did not pick CUDA, or why CUDA failed and the CPU was used. */
  providerNote?: string;
  release(): Promise<void>;
}

export interface LoadOptions {
  /** 'auto' (default): CUDA when available, else CPU. */
  provider?: 'auto' | Provider;
  /** Intra-op threads (default: os.availableParallelism()). */
  threads?: number;
  /** Reconvert even when cached. */
  force?: boolean;
  /**
   * Let idle intra-op threads spin-wait (onnxruntime's default, true): lowest
   * latency on a quiet machine; false frees the cores between ops, better when
   * other work (ffmpeg decode, other processes) shares the CPU.
   */
  spinning?: boolean;
}

const CUDA_HINT = 'reinstall onnxruntime-node with its CUDA binaries: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (needs internet and CUDA 12)';

/** Whether the installed onnxruntime-node has a usable CUDA provider, and if not, why. */
export function cudaAvailability(): { available: boolean; reason?: string } {
  const backends = ort.listSupportedBackends?.() ?? [];
  if (!backends.some((b) => b.name === 'cuda')) return { available: false, reason: 'this onnxruntime-node build has no CUDA backend' };
  // The backend is compiled in everywhere on linux-x64 but its provider library is only there after a CUDA install.
  try {
    const req = createRequire(join(packageRoot(), 'package.json'));
    const binDir = join(dirname(req.resolve('onnxruntime-node')), '..', 'bin');
    const found = findFile(binDir, /^libonnxruntime_providers_cuda\.(so|dll)$|^onnxruntime_providers_cuda\.dll$/, 5);
    if (!found) return { available: false, reason: 'the onnxruntime CUDA provider library is not installed (onnxruntime-node was installed without CUDA)' };
  } catch {
    return { available: false, reason: 'cannot locate onnxruntime-node binaries' };
  }
  return { available: true };
}

function findFile(dir: string, pattern: RegExp, depth: number): string | undefined {
  if (depth < 0 || !existsSync(dir)) return undefined;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile() && pattern.test(e.name)) return join(dir, e.name);
    if (e.isDirectory()) {
      const f = findFile(join(dir, e.name), pattern, depth - 1);
      if (f) return f;
    }
  }
  return undefined;
}

function sessionOptions(provider: Provider, threads: number, spinning: boolean): ort.InferenceSession.SessionOptions {
  return {
    ...(!spinning && { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
}

/**
 * Prepares (cache or conversion) and loads a model. The session's inputs and
 * outputs are named as in models/manifest.json, outputs in the manifest order.
 */
export async function loadModel(id: ModelId, opts: LoadOptions = {}): Promise<LoadedModel> {
  const spec = getModelSpec(id);
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new ReshootError(`threads must be a positive integer, got ${threads}`);
  const wanted = opts.provider ?? 'auto';
  if (!['auto', 'cpu', 'cuda'].includes(wanted)) throw new ReshootError(`unknown provider "${wanted}" (auto, cpu or cuda)`);
  const { bytes, ...prepared } = await prepareModelBytes(id, { force: opts.force });

  let provider: Provider = 'cpu';
  let providerNote: string | undefined;
  if (wanted !== 'cpu') {
    const cuda = cudaAvailability();
    if (cuda.available) provider = 'cuda';
    else if (wanted === 'cuda') throw new ReshootError(`CUDA requested but not available: ${cuda.reason}; ${CUDA_HINT}`);
    else providerNote = `CPU: ${cuda.reason}`;
  }

  const t0 = performance.now();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions(provider, threads, opts.spinning ?? true));
  } catch (err) {
    if (provider === 'cuda' && wanted === 'auto') {
      providerNote = `CPU: the CUDA provider failed to start (${(err as Error).message.split('\n')[0]})`;
      provider = 'cpu';
      session = await ort.InferenceSession.create(bytes, sessionOptions(provider, threads, opts.spinning ?? true));
    } else {
      throw new ReshootError(`onnxruntime cannot load ${prepared.onnxPath}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }
  const sessionMs = performance.now() - t0;
  let released = false;
  return {
    id,
    spec,
    session,
    provider,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    prepared,
    sessionMs,
    threads,
    ...(providerNote && { providerNote }),
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}
