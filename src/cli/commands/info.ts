import { probeVideo } from '../../video/index.js';
import type { VideoInfo } from '../../video/types.js';

export function formatInfo(info: VideoInfo): string {
  const fps = info.fps.den === 1 ? `${info.fps.num}` : `${info.fps.num}/${info.fps.den} (${info.fpsValue.toFixed(3)})`;
  const rows: [string, string][] = [
    ['file', info.path],
    ['size', `${info.width}x${info.height}${info.rotation ? ` (stored ${info.codedWidth}x${info.codedHeight}, rotated ${info.rotation} deg)` : ''}`],
    ['fps', `${fps}${info.variableFrameRate ? ` (variable; nominal ${info.nominalFps.num}/${info.nominalFps.den}, decoded at constant rate)` : ''}`],
    ['frames', `${info.frameCount}${info.frameCountSource === 'metadata' ? '' : ` (${info.frameCountSource})`}`],
    ['duration', `${info.duration.toFixed(3)} s`],
    ['codec', `${info.codec}, ${info.pixelFormat}`],
    ['audio', info.hasAudio ? (info.audioCodec ?? 'yes') : 'none'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export async function infoCommand(video: string, opts: { json?: boolean }): Promise<void> {
  const info = await probeVideo(video);
  process.stdout.write(opts.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatInfo(info)}\n`);
}
