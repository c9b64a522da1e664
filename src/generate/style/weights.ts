/**
 * Fast style transfer weights (Johnson et al. 2016, lengstrom's TensorFlow
 * architecture, as shipped by ml5): a folder with manifest.json and one raw
 * little-endian float32 file per checkpoint variable. Everything that can be
 * wrong with the folder is found here, before any model is built or frame run.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { packageRoot } from '../../util/paths.js';
import { ReshootError } from '../../util/errors.js';

/** One layer of the network; `index` is its weight variable, index+1 the norm's shift, index+2 its scale. */
export interface StyleLayer {
  index: number;
  kind: 'conv' | 'convT';
  kernel: number;
  stride: 1 | 2;
  inChannels: number;
  outChannels: number;
  /** ReLU after the instance norm. */
  relu: boolean;
  role: string;
}

/** The architecture from the issue: conv 9/32, 3/64 s2, 3/128 s2, 5 residual blocks, convT 64, 32, conv 9/3. */
export const STYLE_LAYERS: readonly StyleLayer[] = (() => {
  const layers: StyleLayer[] = [];
  let index = 0;
  const add = (kind: 'conv' | 'convT', kernel: number, stride: 1 | 2, inChannels: number, outChannels: number, relu: boolean, role: string) => {
    layers.push({ index, kind, kernel, stride, inChannels, outChannels, relu, role });
    index += 3;
  };
  add('conv', 9, 1, 3, 32, true, 'conv1');
  add('conv', 3, 2, 32, 64, true, 'conv2');
  add('conv', 3, 2, 64, 128, true, 'conv3');
  for (let b = 1; b <= 5; b++) {
    add('conv', 3, 1, 128, 128, true, `residual block ${b} conv a`);
    add('conv', 3, 1, 128, 128, false, `residual block ${b} conv b`);
  }
  add('convT', 3, 2, 128, 64, true, 'transposed conv 1');
  add('convT', 3, 2, 64, 32, true, 'transposed conv 2');
  add('conv', 9, 1, 32, 3, false, 'last conv');
  return layers;
})();

/** Number of checkpoint variables (48). */
export const STYLE_VARIABLE_COUNT = STYLE_LAYERS.length * 3;

/** TensorFlow's name of variable `index`: "Variable", "Variable_1", ... */
export function styleVariableName(index: number): string {
  return index === 0 ? 'Variable' : `Variable_${index}`;
}

/** The shape every variable must have, with what it is (for error messages). */
export function expectedStyleShapes(): { name: string; shape: number[]; role: string }[] {
  const out: { name: string; shape: number[]; role: string }[] = [];
  for (const l of STYLE_LAYERS) {
    // Transposed conv filters are stored [h, w, out, in] (tf.nn.conv2d_transpose), convs HWIO.
    const w = l.kind === 'conv' ? [l.kernel, l.kernel, l.inChannels, l.outChannels] : [l.kernel, l.kernel, l.outChannels, l.inChannels];
    out.push({ name: styleVariableName(l.index), shape: w, role: `${l.role} weights` });
    out.push({ name: styleVariableName(l.index + 1), shape: [l.outChannels], role: `${l.role} norm shift` });
    out.push({ name: styleVariableName(l.index + 2), shape: [l.outChannels], role: `${l.role} norm scale` });
  }
  return out;
}

export interface StyleWeights {
  /** Style name (the folder's name). */
  name: string;
  folder: string;
  /** Variables in index order (0 .. 47), float32. */
  variables: Float32Array[];
  shapes: number[][];
  /** sha256 over manifest.json and the variable files in index order: the cache key. */
  sha256: string;
}

/** Environment variable naming a folder that holds style folders (matta/, ...). */
export const STYLE_MODELS_ENV = 'RESHOOT_STYLE_MODELS';

/**
 * Folders searched for a style given by name: $RESHOOT_STYLE_MODELS, then
 * models/style-transfer in the package, then shared/models/style-transfer next
 * to the package or next to any of its two parent folders (a git worktree
 * one level further down sees the same shared folder).
 */
export function styleModelRoots(): string[] {
  const roots: string[] = [];
  if (process.env[STYLE_MODELS_ENV]) roots.push(resolve(process.env[STYLE_MODELS_ENV]!));
  const root = packageRoot();
  roots.push(join(root, 'models', 'style-transfer'));
  let dir = root;
  for (let k = 0; k < 3; k++) {
    dir = dirname(dir);
    roots.push(join(dir, 'shared', 'models', 'style-transfer'));
  }
  return [...new Set(roots)];
}

/** A style name (matta) or a folder path to the folder holding its manifest.json. */
export function resolveStyleFolder(nameOrFolder: string): string {
  const arg = nameOrFolder.trim();
  if (!arg) throw new ReshootError('generator style: needs a style name or folder, e.g. style:matta');
  const looksLikePath = arg.includes('/') || arg.includes('\\') || arg.startsWith('.');
  if (looksLikePath || existsSync(join(resolve(arg), 'manifest.json'))) {
    const dir = resolve(arg);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ReshootError(`style weights ${dir}: folder not found`);
    return dir;
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(arg)) throw new ReshootError(`style name "${arg}" is not a plain name; give a folder path instead`);
  const roots = styleModelRoots();
  for (const r of roots) if (existsSync(join(r, arg, 'manifest.json'))) return join(r, arg);
  const known = new Set<string>();
  for (const r of roots) {
    if (!existsSync(r)) continue;
    for (const name of ['matta', 'mathura', 'matilde_perez']) if (existsSync(join(r, name, 'manifest.json'))) known.add(name);
  }
  throw new ReshootError(
    `style "${arg}" not found in ${roots.join(', ')}${known.size ? ` (found: ${[...known].join(', ')})` : ''}; pass a folder (style:path/to/folder) or set ${STYLE_MODELS_ENV}`,
  );
}

function shapeText(s: readonly number[]): string {
  return `[${s.join(',')}]`;
}

/** sha256 lines of a SHA256SUMS file ("<hex>  ./folder/file"), keyed by resolved path. */
async function readSums(file: string): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  const text = await readFile(file, 'utf8');
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) sums.set(resolve(dirname(file), m[2]), m[1]);
  }
  return sums;
}

/**
 * Reads and checks a style folder: manifest.json names every variable 0..47
 * with the architecture's shape, every file exists with 4 bytes per value,
 * no value is NaN/Inf, and when a SHA256SUMS sits in the folder or its
 * parent, every listed file matches it. Each failure is one ReshootError line
 * naming the file.
 */
export async function readStyleWeights(folder: string): Promise<StyleWeights> {
  const dir = resolve(folder);
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new ReshootError(`style weights ${manifestPath}: not found (a style folder holds manifest.json and the variable files)`);
  const manifestBytes = await readFile(manifestPath);
  let manifest: Record<string, { filename?: unknown; shape?: unknown }>;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as typeof manifest;
  } catch (err) {
    throw new ReshootError(`style weights ${manifestPath}: not valid JSON (${(err as Error).message})`);
  }
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw new ReshootError(`style weights ${manifestPath}: expected an object of variables`);

  let sums = new Map<string, string>();
  for (const f of [join(dir, 'SHA256SUMS'), join(dirname(dir), 'SHA256SUMS')]) {
    if (existsSync(f)) sums = new Map([...sums, ...(await readSums(f))]);
  }

  const hash = createHash('sha256').update(manifestBytes);
  const variables: Float32Array[] = [];
  const shapes: number[][] = [];
  for (const want of expectedStyleShapes()) {
    const entry = manifest[want.name];
    if (!entry) throw new ReshootError(`style weights ${manifestPath}: no variable ${want.name} (${want.role}, shape ${shapeText(want.shape)}); expected Variable, Variable_1 .. Variable_${STYLE_VARIABLE_COUNT - 1}`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d)) || shapeText(shape as number[]) !== shapeText(want.shape)) {
      throw new ReshootError(`style weights ${manifestPath}: ${want.name} has shape ${Array.isArray(shape) ? shapeText(shape as number[]) : JSON.stringify(shape)}, expected ${shapeText(want.shape)} (${want.role})`);
    }
    if (typeof entry.filename !== 'string' || !entry.filename || entry.filename.includes('..')) {
      throw new ReshootError(`style weights ${manifestPath}: ${want.name} has no usable filename`);
    }
    const file = join(dir, entry.filename);
    if (!existsSync(file)) throw new ReshootError(`style weights ${file}: missing (manifest.json names it for ${want.name}, ${want.role})`);
    const bytes = await readFile(file);
    const count = want.shape.reduce((a, b) => a * b, 1);
    if (bytes.byteLength !== count * 4) {
      throw new ReshootError(`style weights ${file}: ${bytes.byteLength} bytes, expected ${count * 4} (${count} float32 for ${want.name} ${shapeText(want.shape)}); truncated or wrong file`);
    }
    const expectedSum = sums.get(file);
    const sum = createHash('sha256').update(bytes).digest('hex');
    if (expectedSum && expectedSum !== sum) throw new ReshootError(`style weights ${file}: sha256 ${sum.slice(0, 12)}... does not match SHA256SUMS (${expectedSum.slice(0, 12)}...); corrupted file`);
    hash.update(bytes);
    // Copy into an aligned buffer (Buffer pool slices need not be 4-byte aligned); files are little-endian like the hosts we run on.
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(bytes);
    for (let i = 0; i < count; i++) {
      if (!Number.isFinite(values[i])) throw new ReshootError(`style weights ${file}: value ${i} is ${values[i]} (${want.name}); corrupted file`);
    }
    variables.push(values);
    shapes.push([...want.shape]);
  }
  return { name: basename(dir), folder: dir, variables, shapes, sha256: hash.digest('hex') };
}
