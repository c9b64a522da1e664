/**
 * A small client for a running ComfyUI server's HTTP + WebSocket API (ComfyUI server.py):
 * POST /upload/image, POST /prompt, WebSocket /ws?clientId=, GET /history/{id}, GET /view,
 * POST /interrupt. Node's own fetch; `ws` for the socket. Every failure is one ReshootError line.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ReshootError } from '../../util/errors.js';

/** One file ComfyUI produced, as /history lists it and /view takes it. */
export interface ComfyFile {
  filename: string;
  subfolder: string;
  type: string;
  /** VHS_VideoCombine adds a MIME type (video/h264-mp4, image/gif, ...). */
  format?: string;
}

export interface ComfyHistoryEntry {
  outputs: Record<string, { images?: ComfyFile[]; gifs?: ComfyFile[]; [k: string]: unknown }>;
  status?: { status_str?: string; completed?: boolean; messages?: unknown[] };
}

/** What a queued prompt's socket said, in reshoot's terms. */
export interface ComfyProgress {
  node: string | null;
  value: number;
  max: number;
}

export interface RunPromptOptions {
  /** Whole prompt, queue wait included. */
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (p: ComfyProgress) => void;
  /** Called with the prompt id once queued. */
  onQueued?: (promptId: string) => void;
}

/** In-flight prompts, interrupted synchronously if reshoot exits (Ctrl-C ends the process from src/util/cleanup). */
const inFlight = new Set<string>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const base of inFlight) {
      // An exit handler cannot await: a short child process sends POST /interrupt and is waited for.
      spawnSync(process.execPath, ['-e', `fetch(${JSON.stringify(`${base}/interrupt`)}, { method: 'POST', signal: AbortSignal.timeout(2000) }).catch(() => {})`], { timeout: 3000, stdio: 'ignore' });
    }
  });
}

export class ComfyUIClient {
  readonly base: string;
  readonly clientId = randomUUID();

  constructor(url: string) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ReshootError(`comfyui: "${url}" is not a URL (e.g. http://127.0.0.1:8188)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ReshootError(`comfyui: ${url} must be http:// or https://`);
    this.base = u.toString().replace(/\/+$/, '');
  }

  private async request(path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
    const signal = AbortSignal.timeout(init.timeoutMs ?? 60_000);
    try {
      return await fetch(`${this.base}${path}`, { ...init, signal: init.signal ? AbortSignal.any([init.signal, signal]) : signal });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' ? 'timed out' : e.cause?.code ?? e.message;
      throw new ReshootError(`comfyui: cannot reach ${this.base}${path} (${why})`);
    }
  }

  /** POST /upload/image (multipart: image, subfolder, type=input, overwrite=true); returns the name LoadImage takes ("subfolder/file.png"). */
  async uploadImage(png: Uint8Array, filename: string, subfolder: string): Promise<string> {
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), filename);
    form.append('subfolder', subfolder);
    form.append('type', 'input');
    form.append('overwrite', 'true');
    const r = await this.request('/upload/image', { method: 'POST', body: form });
    if (!r.ok) throw new ReshootError(`comfyui: upload of ${subfolder}/${filename} failed: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    const j = (await r.json()) as { name?: string; subfolder?: string };
    const sub = j.subfolder ?? subfolder;
    return sub ? `${sub}/${j.name ?? filename}` : (j.name ?? filename);
  }

  async interrupt(): Promise<void> {
    await this.request('/interrupt', { method: 'POST', timeoutMs: 5000 }).catch(() => undefined);
  }

  async history(promptId: string): Promise<ComfyHistoryEntry | null> {
    const r = await this.request(`/history/${encodeURIComponent(promptId)}`);
    if (!r.ok) throw new ReshootError(`comfyui: GET /history/${promptId}: HTTP ${r.status}`);
    const j = (await r.json()) as Record<string, ComfyHistoryEntry>;
    return j[promptId] ?? null;
  }

  /** GET /view for one output file. */
  async view(f: ComfyFile): Promise<Uint8Array> {
    const q = new URLSearchParams({ filename: f.filename, subfolder: f.subfolder ?? '', type: f.type ?? 'output' });
    const r = await this.request(`/view?${q}`, { timeoutMs: 600_000 });
    if (!r.ok) throw new ReshootError(`comfyui: GET /view of ${f.subfolder ? `${f.subfolder}/` : ''}${f.filename}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }

  /**
   * Opens the socket, queues the prompt, follows its messages until it finished, and returns its
   * /history entry. node_errors (HTTP 400), execution_error, execution_interrupted, a socket that
   * drops before the end (unless /history says it completed), the timeout and the abort signal
   * (which sends POST /interrupt) each end it with one ReshootError line.
   */
  async runPrompt(prompt: Record<string, unknown>, o: RunPromptOptions): Promise<{ promptId: string; history: ComfyHistoryEntry }> {
    const wsUrl = `${this.base.replace(/^http/, 'ws')}/ws?clientId=${encodeURIComponent(this.clientId)}`;
    const ws = new WebSocket(wsUrl);
    const early: Array<{ type: string; data: Record<string, unknown> }> = [];
    let promptId: string | null = null;
    // No error = the prompt finished.
    type Outcome = { error?: ReshootError; interrupt?: boolean; checkHistory?: boolean };
    let settle: ((r: Outcome) => void) | null = null;
    const finished = new Promise<Outcome>((r) => (settle = r));
    const done = (r: Outcome) => {
      const s = settle;
      settle = null;
      s?.(r);
    };
    const handle = (m: { type: string; data: Record<string, unknown> }) => {
      const d = m.data ?? {};
      if (d.prompt_id !== undefined && d.prompt_id !== promptId) return; // another client's prompt
      if (m.type === 'progress') o.onProgress?.({ node: (d.node as string) ?? null, value: Number(d.value), max: Number(d.max) });
      else if (m.type === 'executing' && d.node === null && d.prompt_id === promptId) done({});
      else if (m.type === 'execution_success') done({});
      else if (m.type === 'execution_error') {
        const msg = String(d.exception_message ?? 'unknown error').trim().split('\n')[0];
        done({ error: new ReshootError(`comfyui: prompt ${promptId} failed in node ${String(d.node_id)} (${String(d.node_type)}): ${msg}`) });
      } else if (m.type === 'execution_interrupted') {
        done({ error: new ReshootError(`comfyui: prompt ${promptId} was interrupted on the server (node ${String(d.node_id ?? '?')})`) });
      }
    };
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return; // preview images
      let m: { type: string; data: Record<string, unknown> };
      try {
        m = JSON.parse(raw.toString());
      } catch {
        return;
      }
      if (promptId === null) early.push(m);
      else handle(m);
    });
    ws.on('close', (code) => done({ checkHistory: true, error: new ReshootError(`comfyui: the WebSocket to ${this.base} dropped (code ${code}) before prompt ${promptId ?? '(not queued)'} finished`) }));
    ws.on('error', () => undefined); // 'close' follows and says it
    await new Promise<void>((resolveOpen, reject) => {
      const t = setTimeout(() => reject(new ReshootError(`comfyui: no WebSocket connection to ${wsUrl} within 10 s`)), 10_000);
      ws.once('open', () => {
        clearTimeout(t);
        resolveOpen();
      });
      ws.once('close', () => {
        clearTimeout(t);
        reject(new ReshootError(`comfyui: cannot open the WebSocket ${wsUrl}`));
      });
    });

    const timer = setTimeout(() => done({ interrupt: true, error: new ReshootError(`comfyui: prompt ${promptId ?? ''} timed out after ${o.timeoutMs / 1000} s (sent /interrupt)`) }), o.timeoutMs);
    const onAbort = () => done({ interrupt: true, error: new ReshootError(`comfyui: cancelled; sent /interrupt for prompt ${promptId ?? ''}`) });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    hookExit();
    try {
      const r = await this.request('/prompt', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt, client_id: this.clientId }),
      });
      const text = await r.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch {
        // reported below
      }
      if (!r.ok) throw new ReshootError(`comfyui: the workflow was refused (HTTP ${r.status}): ${describeNodeErrors(body) || text.slice(0, 300)}`);
      if (typeof body.prompt_id !== 'string') throw new ReshootError(`comfyui: POST /prompt answered without a prompt_id: ${text.slice(0, 200)}`);
      if (body.node_errors && Object.keys(body.node_errors as object).length) {
        throw new ReshootError(`comfyui: the workflow was refused: ${describeNodeErrors(body)}`);
      }
      promptId = body.prompt_id;
      o.onQueued?.(promptId);
      inFlight.add(this.base);
      for (const m of early.splice(0)) handle(m);
      const result = await finished;
      if (result.error) {
        if (result.interrupt) await this.interrupt();
        if (result.checkHistory) {
          // The socket may drop right after the end: /history is the record.
          const h = await this.history(promptId).catch(() => null);
          if (h?.status?.completed) return { promptId, history: h };
        }
        throw result.error;
      }
      const h = await this.history(promptId);
      if (!h) throw new ReshootError(`comfyui: prompt ${promptId} finished but /history has no entry for it`);
      if (h.status && h.status.status_str === 'error') throw new ReshootError(`comfyui: prompt ${promptId} ended with status error (see the ComfyUI log)`);
      return { promptId, history: h };
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      inFlight.delete(this.base);
      ws.removeAllListeners('close');
      ws.on('error', () => undefined);
      ws.terminate();
    }
  }
}

/** The first node error of a /prompt 400 answer, as "node 3 (KSampler): Value not in list: ...". */
export function describeNodeErrors(body: Record<string, unknown>): string {
  const ne = body.node_errors as Record<string, { class_type?: string; errors?: Array<{ message?: string; details?: string }> }> | undefined;
  const parts: string[] = [];
  for (const [id, e] of Object.entries(ne ?? {})) {
    const first = e.errors?.[0];
    parts.push(`node ${id} (${e.class_type ?? '?'}): ${first?.message ?? 'error'}${first?.details ? ` (${first.details})` : ''}`);
  }
  const err = body.error as { message?: string } | undefined;
  if (!parts.length && err?.message) parts.push(err.message);
  const more = parts.length > 1 ? ` (+${parts.length - 1} more)` : '';
  return parts.length ? `${parts[0]}${more}` : '';
}
