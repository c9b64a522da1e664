/**
 * Per-frame person masks of a whole video on disk: `masks.raw` (width*height
 * bytes per frame, frame t at offset t*width*height) plus the `reshoot.masks/1`
 * sidecar `masks.json` that `reshoot masks` also writes. Random access by frame
 * index with synchronous reads, because the stabilizer asks for a mask inside
 * its per-frame callback. The raw file is written under a temporary name and
 * renamed when complete, so a half-written file is never mistaken for a result.
 */
import { closeSync, existsSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { MaskSidecar } from '../person-mask/index.js';
import { removeOnExit } from '../util/cleanup.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { ReshootError } from '../util/errors.js';
import type { GrayFrame } from '../video/types.js';

export class MaskFileWriter {
  private fd: number;
  private count = 0;
  private readonly tmp: string;
  private readonly unregister: () => void;
  readonly frames: MaskSidecar['frames'] = [];

  constructor(
    readonly path: string,
    readonly width: number,
    readonly height: number,
  ) {
    this.tmp = `${path}.partial`;
    this.fd = openSync(this.tmp, 'w');
    this.unregister = removeOnExit(this.tmp);
  }

  append(mask: GrayFrame, found: boolean): void {
    if (mask.width !== this.width || mask.height !== this.height) {
      throw new ReshootError(`mask ${this.count} is ${mask.width}x${mask.height}, expected ${this.width}x${this.height}`);
    }
    let on = 0;
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i] >= 128) on++;
    writeSync(this.fd, mask.data, 0, mask.data.length, this.count * this.width * this.height);
    this.frames.push({ index: this.count, found, coverage: on / mask.data.length });
    this.count++;
  }

  /** Closes the raw file, renames it into place and writes the sidecar. */
  async finish(sidecar: Omit<MaskSidecar, 'frames' | 'storage' | 'schema'>, sidecarPath: string): Promise<void> {
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
    this.unregister();
    await writeJsonAtomic(sidecarPath, { schema: 'reshoot.masks/1', storage: 'raw', ...sidecar, frames: this.frames } satisfies MaskSidecar, { overwrite: true });
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.tmp, { force: true });
    this.unregister();
  }
}

export class MaskFile {
  private fd: number | null;
  private constructor(
    readonly path: string,
    readonly sidecar: MaskSidecar,
  ) {
    this.fd = openSync(path, 'r');
  }

  get width(): number {
    return this.sidecar.source.width;
  }
  get height(): number {
    return this.sidecar.source.height;
  }
  get frameCount(): number {
    return this.sidecar.frames.length;
  }

  static async open(path: string, sidecarPath: string): Promise<MaskFile> {
    if (!existsSync(path) || !existsSync(sidecarPath)) throw new ReshootError(`masks ${path} or ${sidecarPath} missing`);
    const sidecar = JSON.parse(await readFile(sidecarPath, 'utf8')) as MaskSidecar;
    if (sidecar.schema !== 'reshoot.masks/1' || sidecar.storage !== 'raw' || !Array.isArray(sidecar.frames)) {
      throw new ReshootError(`${sidecarPath} is not a raw reshoot.masks/1 sidecar`);
    }
    const bytes = sidecar.source.width * sidecar.source.height * sidecar.frames.length;
    if (statSync(path).size !== bytes) throw new ReshootError(`${path} has ${statSync(path).size} bytes, its sidecar promises ${bytes}`);
    return new MaskFile(path, sidecar);
  }

  found(t: number): boolean {
    return this.sidecar.frames[t]?.found === true;
  }

  read(t: number): GrayFrame {
    if (this.fd === null) throw new Error('MaskFile is closed');
    if (!(t >= 0 && t < this.frameCount)) throw new ReshootError(`mask ${t} out of range 0..${this.frameCount - 1}`);
    const n = this.width * this.height;
    const data = new Uint8Array(n);
    readSync(this.fd, data, 0, n, t * n);
    return { width: this.width, height: this.height, data };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
