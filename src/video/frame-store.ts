import { randomBytes } from 'node:crypto';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnExit } from '../util/cleanup.js';
import { ReshootError } from '../util/errors.js';
import { decodeFrames } from './decode.js';
import { probeVideo } from './probe.js';
import type { Frame, ProgressFn, VideoInfo } from './types.js';

export interface FrameStoreCreateOptions {
  width: number;
  height: number;
  /** 3 = RGB24 (default), 1 = gray8. */
  channels?: 1 | 3;
  /** Folder for the backing file; default os.tmpdir(). */
  dir?: string;
}

export interface FrameStoreFromVideoOptions {
  info?: VideoInfo;
  onProgress?: ProgressFn;
  dir?: string;
  /** Store gray8 frames (channels = 1). */
  gray?: boolean;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Only store frames start .. start+count-1 (see decodeFrames). */
  start?: number;
  count?: number;
  signal?: AbortSignal;
}

/**
 * Disk-backed random access to frames: one raw file of fixed-size frames
 * (width*height*channels bytes each, frame i at offset i*frameBytes) in a temp
 * folder, registered for removal at exit. Memory use does not depend on the
 * number of frames. Call close() to delete the file.
 */
export class FrameStore {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  /** Bytes per frame. */
  readonly frameBytes: number;
  /** The backing file (deleted by close()). */
  readonly path: string;
  private fh: FileHandle | undefined;
  private count = 0;
  private appendChain: Promise<void> = Promise.resolve();
  private unregister: () => void;
  private closing: Promise<void> | undefined;

  private constructor(path: string, fh: FileHandle, width: number, height: number, channels: 1 | 3, unregister: () => void) {
    this.path = path;
    this.fh = fh;
    this.width = width;
    this.height = height;
    this.channels = channels;
    this.frameBytes = width * height * channels;
    this.unregister = unregister;
  }

  /** An empty store for frames of the given size. */
  static async create(opts: FrameStoreCreateOptions): Promise<FrameStore> {
    const { width, height } = opts;
    const channels = opts.channels ?? 3;
    if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
      throw new ReshootError(`FrameStore: bad frame size ${width}x${height}`);
    }
    if (channels !== 1 && channels !== 3) throw new ReshootError(`FrameStore: channels must be 1 or 3 (got ${channels})`);
    const dir = opts.dir ?? tmpdir();
    try {
      if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
    } catch {
      throw new ReshootError(`FrameStore: folder ${dir} does not exist`);
    }
    const path = join(dir, `reshoot-frames-${process.pid}-${randomBytes(6).toString('hex')}.raw`);
    const unregister = removeOnExit(path);
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx+');
    } catch (err) {
      unregister();
      throw new ReshootError(`FrameStore: cannot create ${path}: ${(err as Error).message}`, { cause: err });
    }
    return new FrameStore(path, fh, width, height, channels, unregister);
  }

  /**
   * Decodes `path` (all frames, or start/count) into a new store. On any failure
   * (bad input, ffmpeg error, abort) the backing file is deleted before rethrowing.
   */
  static async fromVideo(path: string, opts: FrameStoreFromVideoOptions = {}): Promise<FrameStore> {
    const info = opts.info ?? (await probeVideo(path, { ffprobePath: opts.ffprobePath, signal: opts.signal }));
    const store = await FrameStore.create({ width: info.width, height: info.height, channels: opts.gray ? 1 : 3, dir: opts.dir });
    try {
      const start = opts.start ?? 0;
      const total = opts.count !== undefined ? Math.min(opts.count, Math.max(0, info.frameCount - start)) : Math.max(0, info.frameCount - start);
      opts.onProgress?.(0, total);
      for await (const frame of decodeFrames(path, {
        info,
        start: opts.start,
        count: opts.count,
        gray: opts.gray,
        ffmpegPath: opts.ffmpegPath,
        signal: opts.signal,
      })) {
        await store.append(frame);
        opts.onProgress?.(store.length, total);
      }
      if (opts.signal?.aborted) throw new ReshootError(`decoding ${path} was cancelled`);
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** Number of frames stored. */
  get length(): number {
    return this.count;
  }

  private handle(): FileHandle {
    if (!this.fh) throw new ReshootError('FrameStore is closed');
    return this.fh;
  }

  /** Appends one frame (must be width x height, channels bytes per pixel). */
  async append(frame: Frame): Promise<void> {
    if (frame.width !== this.width || frame.height !== this.height || frame.data.length !== this.frameBytes) {
      throw new ReshootError(
        `FrameStore: frame is ${frame.width}x${frame.height} (${frame.data.length} bytes), store holds ${this.width}x${this.height}x${this.channels}`,
      );
    }
    const run = this.appendChain.then(async () => {
      const fh = this.handle();
      const offset = this.count * this.frameBytes;
      let written = 0;
      while (written < this.frameBytes) {
        const { bytesWritten } = await fh.write(frame.data, written, this.frameBytes - written, offset + written);
        written += bytesWritten;
      }
      this.count++;
    });
    // Keep the chain alive after a failure; the caller still sees the error.
    this.appendChain = run.catch(() => undefined);
    return run;
  }

  /** Frame `index` (0 <= index < length), read from disk into a fresh buffer. */
  async get(index: number): Promise<Frame> {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new ReshootError(`FrameStore: frame index ${index} out of range (0..${this.count - 1})`);
    }
    const fh = this.handle();
    const data = new Uint8Array(this.frameBytes);
    let got = 0;
    while (got < this.frameBytes) {
      const { bytesRead } = await fh.read(data, got, this.frameBytes - got, index * this.frameBytes + got);
      if (bytesRead === 0) throw new ReshootError(`FrameStore: ${this.path} is shorter than expected at frame ${index}`);
      got += bytesRead;
    }
    return { width: this.width, height: this.height, data };
  }

  /** Frames start .. end-1 in order (defaults: all). */
  async *frames(start = 0, end = this.count): AsyncGenerator<Frame> {
    const e = Math.min(end, this.count);
    for (let i = Math.max(0, start); i < e; i++) yield await this.get(i);
  }

  /** Closes and deletes the backing file. Safe to call more than once. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await this.appendChain;
        const fh = this.fh;
        this.fh = undefined;
        try {
          await fh?.close();
        } finally {
          await rm(this.path, { force: true });
          this.unregister();
        }
      })();
    }
    return this.closing;
  }
}
