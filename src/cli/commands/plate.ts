import { extname, resolve } from 'node:path';
import { computePlate, openPlateSource, slidingPlates, type InpaintMethod } from '../../background/index.js';
import { writePng } from '../../generate/images.js';
import { assertCanWrite, withAtomicOutput } from '../../util/atomic.js';
import { ReshootError } from '../../util/errors.js';
import { encodeFrames, probeVideo, type Frame, type GrayFrame } from '../../video/index.js';
import { progressBar } from '../progress.js';

export interface PlateCliOptions {
  masks?: string;
  transforms?: string;
  out: string;
  confidence?: string;
  holes?: string;
  window?: number;
  samples: number;
  smoothing: number;
  step: number;
  stride: number;
  inpaint: string;
  dilate: number;
  maskThreshold: number;
  overwrite?: boolean;
}

const grayToRgb = (g: GrayFrame): Frame => {
  const data = new Uint8Array(g.width * g.height * 3);
  for (let i = 0; i < g.data.length; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = g.data[i];
  return { width: g.width, height: g.height, data };
};

/** A one-slot async queue: lets one producer feed two encoders at the pace of the slower. */
class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private closed = false;
  private error: unknown;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;
  async push(item: T): Promise<void> {
    while (this.items.length >= 2) await new Promise<void>((r) => (this.wakeWriter = r));
    this.items.push(item);
    this.wakeReader?.();
  }
  close(error?: unknown): void {
    this.closed = true;
    this.error = error;
    this.wakeReader?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      // A failed producer must fail the encoder too, so no partial video is renamed into place.
      if (this.error !== undefined) throw this.error;
      if (this.items.length) {
        yield this.items.shift() as T;
        this.wakeWriter?.();
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((r) => (this.wakeReader = r));
    }
  }
}

export async function plateCommand(video: string, opts: PlateCliOptions): Promise<void> {
  if (!['telea', 'ns', 'none'].includes(opts.inpaint)) throw new ReshootError(`--inpaint must be telea, ns or none; got "${opts.inpaint}"`);
  const sliding = opts.window !== undefined;
  const outputs = [opts.out, opts.confidence, opts.holes].filter((p): p is string => !!p).map((p) => resolve(p));
  for (const p of outputs) {
    const ext = extname(p).toLowerCase();
    if (sliding && ext !== '.mp4') throw new ReshootError(`with --window every output is a video: ${p} must end in .mp4`);
    if (!sliding && ext !== '.png') throw new ReshootError(`${p} must end in .png (a per-frame plate video needs --window)`);
    assertCanWrite(p, { overwrite: opts.overwrite });
  }
  const common = {
    inpaint: opts.inpaint as InpaintMethod,
    dilate: opts.dilate,
    maskThreshold: opts.maskThreshold,
  };
  const decodeBar = progressBar('decode');
  let source;
  try {
    source = await openPlateSource(resolve(video), opts.masks ? resolve(opts.masks) : undefined, {
      onProgress: decodeBar.update,
      transforms: opts.transforms ? resolve(opts.transforms) : undefined,
    });
  } finally {
    decodeBar.stop();
  }
  const bar = progressBar('plate');
  try {
    if (!sliding) {
      const p = await computePlate(source, { ...common, maxSamples: opts.samples, onProgress: bar.update });
      bar.stop();
      await withAtomicOutput(resolve(opts.out), (tmp) => writePng(tmp, p.plate), { overwrite: opts.overwrite });
      if (opts.confidence) await withAtomicOutput(resolve(opts.confidence), (tmp) => writePng(tmp, p.confidence), { overwrite: opts.overwrite });
      if (opts.holes) await withAtomicOutput(resolve(opts.holes), (tmp) => writePng(tmp, p.holes), { overwrite: opts.overwrite });
      const meanConf = p.confidence.data.reduce((a, b) => a + b, 0) / p.confidence.data.length / 255;
      process.stdout.write(
        [
          `plate      ${resolve(opts.out)} (${source.width}x${source.height}, median of ${p.samples.length} of ${source.length} frames${opts.masks ? ', person masked out' : ', no masks'})`,
          `inpainted  ${(100 * p.inpaintedFraction).toFixed(2)}% of the frame (${opts.inpaint})`,
          `confidence mean ${meanConf.toFixed(3)}${opts.confidence ? ` -> ${resolve(opts.confidence)}` : ''}`,
        ].join('\n') + '\n',
      );
      return;
    }
    const info = await probeVideo(resolve(video));
    const plates = new Channel<Frame>();
    const confs = new Channel<Frame>();
    const holes = new Channel<Frame>();
    const encodes = [encodeFrames(plates, resolve(opts.out), { fps: info.fps, overwrite: opts.overwrite })];
    if (opts.confidence) encodes.push(encodeFrames(confs, resolve(opts.confidence), { fps: info.fps, overwrite: opts.overwrite }));
    if (opts.holes) encodes.push(encodeFrames(holes, resolve(opts.holes), { fps: info.fps, overwrite: opts.overwrite }));
    let inpainted = 0;
    let n = 0;
    const produce = async () => {
      let failure: unknown;
      try {
        for await (const fp of slidingPlates(source, { ...common, window: opts.window, smoothing: opts.smoothing, step: opts.step, stride: opts.stride, onProgress: bar.update })) {
          await plates.push(fp.plate);
          if (opts.confidence) await confs.push(grayToRgb(fp.confidence));
          if (opts.holes) await holes.push(grayToRgb(fp.holes));
          inpainted += fp.inpaintedFraction;
          n++;
        }
      } catch (err) {
        failure = err;
        throw err;
      } finally {
        plates.close(failure);
        confs.close(failure);
        holes.close(failure);
      }
    };
    await Promise.all([produce(), ...encodes]);
    bar.stop();
    process.stdout.write(
      [
        `plates     ${resolve(opts.out)} (${n} frames, window ${opts.window}, smoothing ${opts.smoothing}, step ${opts.step}, stride ${opts.stride})`,
        `inpainted  ${(100 * (inpainted / Math.max(1, n))).toFixed(2)}% of the frame on average (${opts.inpaint})`,
      ].join('\n') + '\n',
    );
  } finally {
    bar.stop();
    await source.close();
  }
}
