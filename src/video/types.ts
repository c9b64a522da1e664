/** A rational number, e.g. a frame rate of 30000/1001. */
export interface Rational {
  num: number;
  den: number;
}

/** One decoded frame: 8-bit RGB, interleaved, row-major, no padding. data.length === width * height * 3. */
export interface Frame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One 8-bit single-channel image (gray frames for flow, masks). data.length === width * height. */
export interface GrayFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** What ffprobe tells about a video file, normalised. */
export interface VideoInfo {
  path: string;
  /** Display size: after applying the rotation metadata (what decode delivers). */
  width: number;
  height: number;
  /** Size as stored in the stream, before rotation. */
  codedWidth: number;
  codedHeight: number;
  /** Clockwise display rotation from the container's metadata / display matrix. */
  rotation: 0 | 90 | 180 | 270;
  /** Frame rate decode delivers (the stream's average rate; VFR input is resampled to it). */
  fps: Rational;
  /** fps.num / fps.den, for convenience. */
  fpsValue: number;
  /** The stream's nominal (r_frame_rate) rate; differs from fps on variable-frame-rate input. */
  nominalFps: Rational;
  /** True when the stream's timestamps are not evenly spaced at fps (see docs/ARCHITECTURE.md). */
  variableFrameRate: boolean;
  /** Frames decode will deliver. */
  frameCount: number;
  /** How frameCount was obtained: read from stream metadata, counted by decoding, or estimated from duration * fps. */
  frameCountSource: 'metadata' | 'counted' | 'estimated';
  /** Seconds. */
  duration: number;
  codec: string;
  pixelFormat: string;
  hasAudio: boolean;
  audioCodec?: string;
}

/** Progress callback: `done` units of `total` (total undefined when unknown). */
export type ProgressFn = (done: number, total?: number) => void;
