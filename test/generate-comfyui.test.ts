/**
 * The comfyui: generator against a ComfyUI protocol stand-in: a small local HTTP + WebSocket server
 * in this file that follows ComfyUI's documented messages (server.py: /upload/image, /prompt, /ws,
 * /history, /view, /interrupt). It is a stand-in, not ComfyUI: its "model" inverts the uploaded frames,
 * so the expected output (255 - input) is known independently of the client.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { WebSocketServer, type WebSocket } from 'ws';
import { createComfyUIGenerator, fillComfyWorkflow, readComfyWorkflow } from '../src/generate/comfyui/index.js';
import type { SegmentInput } from '../src/generate/types.js';
import { isReshootError } from '../src/util/errors.js';
import { encodeFrames, type Frame } from '../src/video/index.js';

type Mode = 'ok' | 'error' | 'drop' | 'hang' | 'video' | 'short';

/** ComfyUI protocol stand-in. */
class ComfyStandIn {
  server!: Server;
  wss!: WebSocketServer;
  url = '';
  mode: Mode = 'ok';
  uploads = new Map<string, Buffer>();
  outputs = new Map<string, Buffer>();
  history: Record<string, unknown> = {};
  prompts: Array<Record<string, { class_type: string; inputs: Record<string, unknown> }>> = [];
  interrupts = 0;
  sockets = new Map<string, WebSocket>();
  dir = mkdtempSync(join(tmpdir(), 'comfy-standin-'));
  running: { id: string; client: string } | null = null;

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.route(req, res).catch((e) => {
      res.writeHead(500);
      res.end(String(e));
    }));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, sock, head) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname !== '/ws') return sock.destroy();
      this.wss.handleUpgrade(req, sock, head, (ws) => {
        const id = u.searchParams.get('clientId') ?? randomUUID();
        this.sockets.set(id, ws);
        ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: 0 } }, sid: id } }));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const a = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${a.port}`;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets.values()) ws.terminate();
    this.wss.close();
    await new Promise((r) => this.server.close(r));
  }

  private send(client: string, type: string, data: Record<string, unknown>): void {
    this.sockets.get(client)?.send(JSON.stringify({ type, data }));
  }

  private async route(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const u = new URL(req.url!, 'http://x');
    const body = Buffer.concat(await (async () => { const c: Buffer[] = []; for await (const d of req) c.push(d as Buffer); return c; })());
    const json = (code: number, v: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (req.method === 'POST' && u.pathname === '/upload/image') {
      const form = await new Response(body, { headers: { 'content-type': req.headers['content-type']! } }).formData();
      const file = form.get('image') as File;
      const sub = String(form.get('subfolder') ?? '');
      this.uploads.set(`${sub}/${file.name}`, Buffer.from(await file.arrayBuffer()));
      return json(200, { name: file.name, subfolder: sub, type: 'input' });
    }
    if (req.method === 'POST' && u.pathname === '/prompt') {
      const { prompt, client_id } = JSON.parse(body.toString()) as { prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>; client_id: string };
      this.prompts.push(prompt);
      const bad = Object.entries(prompt).find(([, n]) => n.class_type === 'CheckpointLoaderSimple');
      if (bad) {
        return json(400, {
          error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
          node_errors: { [bad[0]]: { errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: 'ckpt_name: missing.safetensors not in []' }], dependent_outputs: [], class_type: 'CheckpointLoaderSimple' } },
        });
      }
      const id = randomUUID();
      json(200, { prompt_id: id, number: this.prompts.length, node_errors: {} });
      void this.execute(id, client_id, prompt);
      return;
    }
    if (req.method === 'POST' && u.pathname === '/interrupt') {
      this.interrupts++;
      if (this.running) this.send(this.running.client, 'execution_interrupted', { prompt_id: this.running.id, node_id: '2', node_type: 'Invert', executed: [] });
      this.running = null;
      return json(200, {});
    }
    if (req.method === 'GET' && u.pathname.startsWith('/history/')) {
      const id = decodeURIComponent(u.pathname.slice('/history/'.length));
      return json(200, this.history[id] ? { [id]: this.history[id] } : {});
    }
    if (req.method === 'GET' && u.pathname === '/view') {
      const key = `${u.searchParams.get('type')}/${u.searchParams.get('subfolder')}/${u.searchParams.get('filename')}`;
      const b = this.outputs.get(key);
      if (!b) return json(404, { error: 'not found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(b);
      return;
    }
    json(404, { error: `no route ${req.method} ${u.pathname}` });
  }

  /** The stand-in's "model": invert every uploaded frame of the folder the load node names. */
  private async execute(id: string, client: string, prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>): Promise<void> {
    await new Promise((r) => setTimeout(r, 20));
    this.running = { id, client };
    this.send(client, 'execution_start', { prompt_id: id, timestamp: Date.now() });
    this.send(client, 'executing', { node: '1', display_node: '1', prompt_id: id });
    if (this.mode === 'hang') return; // until /interrupt
    const dir = String(Object.values(prompt).find((n) => n.class_type === 'VHS_LoadImages')!.inputs.directory);
    const names = [...this.uploads.keys()].filter((k) => k.startsWith(`${dir}/`)).sort();
    for (let i = 1; i <= 4; i++) {
      this.send(client, 'progress', { value: i, max: 4, prompt_id: id, node: '2' });
      if (this.mode === 'drop' && i === 2) {
        this.sockets.get(client)?.terminate();
        return;
      }
    }
    if (this.mode === 'error') {
      this.send(client, 'execution_error', { prompt_id: id, node_id: '2', node_type: 'Invert', exception_message: 'CUDA out of memory. Tried to allocate 2.00 GiB\nmore', exception_type: 'torch.OutOfMemoryError', traceback: [] });
      this.running = null;
      return;
    }
    const frames: Frame[] = [];
    for (const n of this.mode === 'short' ? names.slice(1) : names) {
      const { data, info } = await sharp(this.uploads.get(n)!).raw().toBuffer({ resolveWithObject: true });
      const inv = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) inv[i] = 255 - data[i];
      frames.push({ width: info.width, height: info.height, data: inv });
    }
    let outputs: Record<string, unknown>;
    if (this.mode === 'video') {
      // VHS_VideoCombine's history entry: "gifs" with a format; frames at twice the size (a model's own resolution).
      const file = join(this.dir, `${id}.mp4`);
      const big = frames.map((f) => upscale2(f));
      await encodeFrames(big, file, { fps: { num: 10, den: 1 }, crf: 0, preset: 'ultrafast', overwrite: true });
      const { readFileSync } = await import('node:fs');
      this.outputs.set(`output/reshoot/${id}.mp4`, readFileSync(file));
      outputs = { '9': { gifs: [{ filename: `${id}.mp4`, subfolder: 'reshoot', type: 'output', format: 'video/h264-mp4', frame_rate: 10 }] } };
    } else {
      const images = [];
      for (let i = 0; i < frames.length; i++) {
        const filename = `out_${String(i).padStart(5, '0')}_.png`;
        this.outputs.set(`output//${filename}`, await sharp(Buffer.from(frames[i].data), { raw: { width: frames[i].width, height: frames[i].height, channels: 3 } }).png().toBuffer());
        images.push({ filename, subfolder: '', type: 'output' });
      }
      // A preview node's temp images must be ignored by the client.
      this.outputs.set('temp//preview.png', await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer());
      outputs = { '9': { images }, '10': { images: [{ filename: 'preview.png', subfolder: '', type: 'temp' }] } };
    }
    this.history[id] = { prompt: [], outputs, status: { status_str: 'success', completed: true, messages: [] } };
    this.send(client, 'executed', { node: '9', output: outputs['9'], prompt_id: id });
    this.send(client, 'executing', { node: null, prompt_id: id });
    this.running = null;
  }
}

function upscale2(f: Frame): Frame {
  const w = f.width * 2;
  const h = f.height * 2;
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = f.data[((y >> 1) * f.width + (x >> 1)) * 3 + c];
  return { width: w, height: h, data: d };
}

const stand = new ComfyStandIn();
const tmp = mkdtempSync(join(tmpdir(), 'comfy-test-'));
const W = 64;
const H = 48;
const N = 6;
const workflowPath = join(tmp, 'wf.json');
writeFileSync(
  workflowPath,
  JSON.stringify({
    '1': { class_type: 'VHS_LoadImages', inputs: { directory: '{{reshoot.frames_dir}}', image_load_cap: '{{reshoot.frame_count}}' } },
    '2': { class_type: 'Invert', inputs: { images: ['1', 0], seed: '{{reshoot.seed}}', note: 'segment {{reshoot.segment}} at {{reshoot.fps}} fps' } },
    '7': { class_type: 'LoadImage', inputs: { image: '{{reshoot.reference}}' } },
    '9': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: '{{reshoot.prefix}}' } },
  }),
);

/** Frames with a gradient and a per-frame offset, so every frame and pixel differs. */
function segment(signal?: AbortSignal): SegmentInput & { progress: Array<[number, number]> } {
  const frames: Frame[] = [];
  for (let k = 0; k < N; k++) {
    const d = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      d[3 * i] = (i % W) * 3 + k;
      d[3 * i + 1] = Math.floor(i / W) * 4;
      d[3 * i + 2] = 200 - k * 10;
    }
    frames.push({ width: W, height: H, data: d });
  }
  const progress: Array<[number, number]> = [];
  return { segmentIndex: 2, label: 'hold', start: 40, frames, plate: null, reference: frames[0], fps: { num: 10, den: 1 }, workDir: join(tmp, `seg-${randomUUID().slice(0, 6)}`), signal, onProgress: (d, t) => progress.push([d, t ?? 0]), progress };
}

async function expectError(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isReshootError(e), `a ReshootError, got ${String(e)}`);
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `one line: ${msg}`);
    assert.match(msg, re);
    return true;
  });
}

before(() => stand.start());
after(() => stand.stop());

test('stand-in: frames uploaded, placeholders filled with types, progress followed, image outputs downloaded (temp previews ignored)', async () => {
  stand.mode = 'ok';
  const gen = createComfyUIGenerator(stand.url, { workflow: workflowPath, seed: 7 });
  const input = segment();
  const out = await gen.generate(input);
  assert.equal(out.length, N);
  for (let k = 0; k < N; k++) {
    // The stand-in inverts: 255 - input, through lossless PNG both ways.
    for (let i = 0; i < W * H * 3; i += 97) assert.equal(out[k].data[i], 255 - input.frames[k].data[i], `frame ${k} byte ${i}`);
  }
  const prompt = stand.prompts.at(-1)!;
  assert.equal(prompt['2'].inputs.seed, 9, 'seed = run seed 7 + segment 2, as a number');
  assert.equal(prompt['1'].inputs.image_load_cap, N);
  assert.equal(prompt['2'].inputs.note, 'segment 2 at 10 fps');
  const dir = String(prompt['1'].inputs.directory);
  assert.match(dir, /^reshoot\/[0-9a-f]{8}\/seg-02\/frames$/);
  assert.equal([...stand.uploads.keys()].filter((k) => k.startsWith(`${dir}/`)).length, N);
  assert.equal(prompt['7'].inputs.image, `${dir.replace(/\/frames$/, '')}/reference.png`);
  const values = input.progress.map(([d]) => d);
  assert.deepEqual(input.progress.at(-1), [N, N]);
  assert.ok(values.some((v) => v > 0 && v < N), `intermediate progress from the socket: ${values}`);
  for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], 'progress never goes back');
});

test('stand-in: a VHS_VideoCombine video at another size is decoded and resized back', async () => {
  stand.mode = 'video';
  const gen = createComfyUIGenerator(stand.url, { workflow: workflowPath });
  const input = segment();
  const out = await gen.generate(input);
  assert.equal(out.length, N);
  assert.deepEqual([out[0].width, out[0].height], [W, H]);
  // H.264 (crf 0, yuv420p) + 2x up and down: close to 255 - input away from colour edges.
  let sum = 0;
  let n = 0;
  for (let i = 0; i < W * H * 3; i += 3) {
    sum += Math.abs(out[3].data[i + 1] - (255 - input.frames[3].data[i + 1]));
    n++;
  }
  assert.ok(sum / n < 6, `mean |error| of the green channel ${(sum / n).toFixed(2)}`);
});

test('stand-in: node_errors (HTTP 400) become one line naming the node', async () => {
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ '3': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'missing.safetensors' } }, '1': { class_type: 'VHS_LoadImages', inputs: { directory: '{{reshoot.frames_dir}}' } } }));
  const gen = createComfyUIGenerator(stand.url, { workflow: bad });
  await expectError(gen.generate(segment()), /refused \(HTTP 400\): node 3 \(CheckpointLoaderSimple\): Value not in list \(ckpt_name: missing\.safetensors not in \[\]\)/);
});

test('stand-in: execution_error becomes one line with the node and the first line of the exception', async () => {
  stand.mode = 'error';
  const gen = createComfyUIGenerator(stand.url, { workflow: workflowPath });
  await expectError(gen.generate(segment()), /failed in node 2 \(Invert\): CUDA out of memory\. Tried to allocate 2\.00 GiB$/);
});

test('stand-in: a dropped WebSocket before the end is an error', async () => {
  stand.mode = 'drop';
  const gen = createComfyUIGenerator(stand.url, { workflow: workflowPath });
  await expectError(gen.generate(segment()), /WebSocket .* dropped .* before prompt [0-9a-f-]+ finished/);
});

test('stand-in: Ctrl-C (abort) sends /interrupt; a timeout does too', async () => {
  stand.mode = 'hang';
  const gen = createComfyUIGenerator(stand.url, { workflow: workflowPath });
  const ac = new AbortController();
  const before = stand.interrupts;
  setTimeout(() => ac.abort(), 300);
  await expectError(gen.generate(segment(ac.signal)), /cancelled; sent \/interrupt/);
  assert.equal(stand.interrupts, before + 1);
  const slow = createComfyUIGenerator(stand.url, { workflow: workflowPath, timeoutMs: 300 });
  await expectError(slow.generate(segment()), /timed out after 0\.3 s \(sent \/interrupt\)/);
  assert.equal(stand.interrupts, before + 2);
});

test('stand-in: fewer frames than the segment is refused', async () => {
  stand.mode = 'short';
  const gen = createComfyUIGenerator(stand.url, { workflow: workflowPath });
  await expectError(gen.generate(segment()), /returned 5 frames for segment 2 of 6/);
});

test('unreachable server, bad workflow files and unknown placeholders are one-line errors', async () => {
  const gen = createComfyUIGenerator('http://127.0.0.1:9', { workflow: workflowPath });
  await expectError(gen.generate(segment()), /cannot reach http:\/\/127\.0\.0\.1:9/);
  const ui = join(tmp, 'ui.json');
  writeFileSync(ui, JSON.stringify({ nodes: [], links: [] }));
  assert.throws(() => readComfyWorkflow(ui), /UI format: save it with "Export \(API\)"/);
  const unk = join(tmp, 'unk.json');
  writeFileSync(unk, JSON.stringify({ '1': { class_type: 'X', inputs: { a: '{{reshoot.nope}}' } } }));
  assert.throws(() => readComfyWorkflow(unk), /unknown placeholder \{\{reshoot\.nope\}\}/);
  assert.throws(() => fillComfyWorkflow({ a: '{{reshoot.plate}}' }, {}), /uses \{\{reshoot\.plate\}\} but this segment has none/);
});
