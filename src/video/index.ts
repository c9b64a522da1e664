/** Video I/O: probe, decode, disk-backed frame store and H.264 encode (see README.md). */
export type { Frame, GrayFrame, Rational, VideoInfo, ProgressFn } from './types.js';
export { resolveFfmpeg, resolveFfprobe, ffmpegCommand, lastStderrLine, rationalArg } from './ffmpeg.js';
export type { BinaryOptions } from './ffmpeg.js';
export { probeVideo, ffprobeJson, parseRational } from './probe.js';
export type { ProbeOptions, FfprobeStream, FfprobeResult } from './probe.js';
export { decodeFrames, decodeAll } from './decode.js';
export type { DecodeOptions } from './decode.js';
export { FrameStore } from './frame-store.js';
export type { FrameStoreCreateOptions, FrameStoreFromVideoOptions } from './frame-store.js';
export { encodeFrames } from './encode.js';
export type { EncodeOptions } from './encode.js';
