/**
 * Crops for labelling contacts by hand (datasets/labels/vtest-contacts.json):
 *
 *   node --import tsx bench/label-crops.ts overview out.png 0,30,60        whole frames at 1/2, 50 px grid
 *   node --import tsx bench/label-crops.ts strip out.png F0 F1 X,Y [W H S]  frames F0..F1 of a W x H window (default 112x56)
 *                                                                          centred on X,Y, zoomed S x (4) nearest-neighbour,
 *                                                                          grid every 4 px, labelled every 20 (original px)
 *   [--clip vtest] [--cols 2] ; a strip may also follow a line: X0,Y0,X1,Y1 moves the window from F0 to F1.
 *
 * Never used on the held-out frames (the strip refuses them).
 */
import sharp from 'sharp';
import { parseArgs } from 'node:util';
import { decodeFrames, probeVideo, type Frame } from '../src/video/index.js';
import { datasetPath } from '../src/datasets/index.js';
import { ReshootError } from '../src/util/errors.js';
import { refuseHeldOut } from '../src/notebook/labels.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { clip: { type: 'string', default: 'vtest' }, cols: { type: 'string' } } });
const [cmd, png, ...a] = positionals;
const path = datasetPath(values.clip as 'vtest');
const info = await probeVideo(path);
const W = info.width, H = info.height;

async function frames(list: number[]): Promise<Map<number, Frame>> {
  // The notebooks apply the same rule (src/notebook/labels.ts).
  if (values.clip === 'vtest') for (const f of list) refuseHeldOut(f, f);
  const lo = Math.min(...list), hi = Math.max(...list);
  const out = new Map<number, Frame>();
  let i = lo;
  for await (const f of decodeFrames(path, { info, start: lo, count: hi - lo + 1 })) {
    if (list.includes(i)) out.set(i, f);
    i++;
  }
  return out;
}

const tile = (f: Frame) => sharp(f.data, { raw: { width: W, height: H, channels: 3 } });
const comps: import('sharp').OverlayOptions[] = [];
let outW = 0, outH = 0;
if (cmd === 'overview') {
  const list = a[0].split(',').map(Number), cols = Number(values.cols ?? 3), s = 0.5, pw = W * s, ph = H * s;
  const got = await frames(list);
  for (const [k, f] of list.entries()) {
    const img = await tile(got.get(f)!).resize(pw, ph).png().toBuffer();
    let svg = `<svg width="${pw}" height="${ph}" xmlns="http://www.w3.org/2000/svg">`;
    for (let x = 0; x < W; x += 50) svg += `<line x1="${x * s}" y1="0" x2="${x * s}" y2="${ph}" stroke="yellow" stroke-opacity="0.35"/>` + (x % 100 ? '' : `<text x="${x * s + 1}" y="9" font-size="9" fill="yellow">${x}</text>`);
    for (let y = 0; y < H; y += 50) svg += `<line x1="0" y1="${y * s}" x2="${pw}" y2="${y * s}" stroke="yellow" stroke-opacity="0.35"/>` + (y % 100 ? '' : `<text x="1" y="${y * s + 9}" font-size="9" fill="yellow">${y}</text>`);
    svg += `<text x="${pw - 40}" y="${ph - 6}" font-size="14" fill="red">${f}</text></svg>`;
    const left = (k % cols) * pw, top = Math.floor(k / cols) * ph;
    comps.push({ input: img, left, top }, { input: Buffer.from(svg), left, top });
  }
  outW = cols * pw;
  outH = Math.ceil(list.length / cols) * ph;
} else if (cmd === 'strip') {
  const f0 = Number(a[0]), f1 = Number(a[1]);
  const [x0, y0, x1 = x0, y1 = y0] = a[2].split(',').map(Number);
  const cw = Number(a[3] ?? 112), ch = Number(a[4] ?? 56), S = Number(a[5] ?? 4);
  const n = f1 - f0 + 1, cols = Math.min(n, Number(values.cols ?? 2));
  const got = await frames(Array.from({ length: n }, (_, k) => f0 + k));
  const pw = cw * S, ph = ch * S + 16;
  for (let k = 0; k < n; k++) {
    const t = n > 1 ? k / (n - 1) : 0;
    const l = Math.max(0, Math.min(W - cw, Math.round(x0 + t * (x1 - x0)) - (cw >> 1)));
    const tp = Math.max(0, Math.min(H - ch, Math.round(y0 + t * (y1 - y0)) - (ch >> 1)));
    const img = await tile(got.get(f0 + k)!).extract({ left: l, top: tp, width: cw, height: ch }).resize(cw * S, ch * S, { kernel: 'nearest' }).png().toBuffer();
    // A grid line at original x sits on the left edge of pixel x (pixel x covers [x - l, x - l + 1) * S).
    let svg = `<svg width="${pw}" height="${ph}" xmlns="http://www.w3.org/2000/svg"><rect x="0" y="${ch * S}" width="${pw}" height="16" fill="black"/>`;
    for (let x = Math.ceil(l / 4) * 4; x < l + cw; x += 4) svg += `<line x1="${(x - l) * S}" y1="0" x2="${(x - l) * S}" y2="${ch * S}" stroke="${x % 20 ? 'cyan' : 'yellow'}" stroke-opacity="${x % 20 ? 0.25 : 0.6}"/>` + (x % 20 ? '' : `<text x="${(x - l) * S + 1}" y="${ch * S + 12}" font-size="11" fill="yellow">${x}</text>`);
    for (let y = Math.ceil(tp / 4) * 4; y < tp + ch; y += 4) svg += `<line x1="0" y1="${(y - tp) * S}" x2="${pw}" y2="${(y - tp) * S}" stroke="${y % 20 ? 'cyan' : 'yellow'}" stroke-opacity="${y % 20 ? 0.25 : 0.6}"/>` + (y % 20 ? '' : `<text x="1" y="${(y - tp) * S - 2}" font-size="11" fill="yellow">${y}</text>`);
    svg += `<text x="${pw - 50}" y="${ch * S + 13}" font-size="14" fill="red">#${f0 + k}</text><rect x="0" y="0" width="${pw}" height="${ph}" fill="none" stroke="white"/></svg>`;
    const left = (k % cols) * pw, top = Math.floor(k / cols) * ph;
    comps.push({ input: img, left, top }, { input: Buffer.from(svg), left, top });
  }
  outW = cols * pw;
  outH = Math.ceil(n / cols) * ph;
} else {
  throw new ReshootError('usage: label-crops.ts overview|strip <png> ...');
}
await sharp({ create: { width: outW, height: outH, channels: 3, background: '#000' } }).composite(comps).png().toFile(png);
