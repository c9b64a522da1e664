/**
 * The interactive path: Debian's classic notebook server (`jupyter-notebook`,
 * apt package jupyter-notebook; Debian 12 has no JupyterLab) rooted at the
 * project, with the committed tslab kernel spec (JUPYTER_PATH=<root>/jupyter).
 * `npm run lab` starts it for people; test/browser/jupyter-server.test.ts
 * starts one on a free port, runs a notebook's cells through the kernel's
 * WebSocket channel and stops it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ReshootError } from '../util/errors.js';
import { freePort } from '../util/free-port.js';
import { packageRoot } from '../util/paths.js';

export const NOTEBOOK_SERVER_INSTALL = 'apt-get install -y --no-install-recommends jupyter-notebook';

/** The notebook server executable: $JUPYTER_NOTEBOOK, /usr/bin/jupyter-notebook, or on PATH. */
export function findNotebookServer(): string {
  for (const c of [process.env.JUPYTER_NOTEBOOK, '/usr/bin/jupyter-notebook']) if (c && existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v jupyter-notebook'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new ReshootError(`jupyter-notebook not found; install Debian's classic notebook server with: ${NOTEBOOK_SERVER_INSTALL}`);
}

/** Arguments that start the server rooted at `root` with the project's kernel spec. */
export function notebookServerArgs(opts: { root?: string; port?: number; token?: string; ip?: string; openBrowser?: boolean } = {}): { args: string[]; env: NodeJS.ProcessEnv } {
  const root = opts.root ?? packageRoot();
  const args = [`--notebook-dir=${root}`, `--ip=${opts.ip ?? '127.0.0.1'}`];
  if (opts.port) args.push(`--port=${opts.port}`, '--port-retries=0');
  if (opts.token !== undefined) args.push(`--NotebookApp.token=${opts.token}`);
  if (!opts.openBrowser) args.push('--no-browser');
  // CI machines and containers run as root, which the server refuses without this flag.
  if (process.getuid?.() === 0) args.push('--allow-root');
  return { args, env: { ...process.env, JUPYTER_PATH: join(root, 'jupyter') } };
}

export interface RunningServer {
  url: string;
  token: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a server on a free port with a random token; resolves once its REST API answers. */
export async function startNotebookServer(opts: { root?: string; timeoutMs?: number } = {}): Promise<RunningServer> {
  const exe = findNotebookServer();
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const { args, env } = notebookServerArgs({ root: opts.root, port, token });
  const child = spawn(exe, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref();
    });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new ReshootError(`jupyter-notebook exited (${child.exitCode}): ${log.trim().split('\n').pop()}`);
    try {
      const r = await fetch(`${url}/api/kernelspecs?token=${token}`);
      if (r.ok) return { url, token, process: child, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  throw new ReshootError(`jupyter-notebook did not answer on ${url} within ${opts.timeoutMs ?? 60_000} ms`);
}

export interface CellResult {
  status: 'ok' | 'error' | 'aborted';
  /** ename: evalue of an error reply. */
  error?: string;
  /** MIME types of the display_data / execute_result outputs, in order. */
  outputs: string[];
  /** The text/html outputs. */
  html: string[];
}

/**
 * A kernel started through the server's REST API, driven over its WebSocket
 * channel (Jupyter messaging protocol 5.3): what the browser front end does.
 */
export class ServerKernel {
  private constructor(
    private readonly server: RunningServer,
    readonly id: string,
    private readonly ws: WebSocket,
    private readonly session: string,
  ) {}

  static async start(server: RunningServer, kernelName = 'tslab'): Promise<ServerKernel> {
    const r = await fetch(`${server.url}/api/kernels?token=${server.token}`, { method: 'POST', body: JSON.stringify({ name: kernelName }), headers: { 'content-type': 'application/json' } });
    if (!r.ok) throw new ReshootError(`could not start kernel ${kernelName}: HTTP ${r.status} ${await r.text()}`);
    const { id } = (await r.json()) as { id: string };
    const session = randomUUID();
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/kernels/${id}/channels?session_id=${session}&token=${server.token}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new ServerKernel(server, id, ws, session);
  }

  /** Executes code and waits for its reply, collecting the outputs it displayed. */
  execute(code: string, timeoutMs = 300_000): Promise<CellResult> {
    const msgId = randomUUID();
    const result: CellResult = { status: 'ok', outputs: [], html: [] };
    return new Promise((resolve, reject) => {
      let replied = false;
      let idle = false;
      const timer = setTimeout(() => {
        this.ws.off('message', onMessage);
        reject(new ReshootError(`cell did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        if (!replied || !idle) return;
        clearTimeout(timer);
        this.ws.off('message', onMessage);
        resolve(result);
      };
      const onMessage = (raw: WebSocket.RawData) => {
        const msg = JSON.parse(raw.toString()) as { channel: string; msg_type: string; parent_header: { msg_id?: string }; content: Record<string, unknown> };
        if (msg.parent_header?.msg_id !== msgId) return;
        if (msg.msg_type === 'display_data' || msg.msg_type === 'execute_result') {
          const data = msg.content.data as Record<string, unknown>;
          result.outputs.push(...Object.keys(data));
          if (typeof data['text/html'] === 'string') result.html.push(data['text/html']);
        } else if (msg.msg_type === 'error') {
          result.error = `${String(msg.content.ename)}: ${String(msg.content.evalue)}`;
        } else if (msg.msg_type === 'status' && msg.content.execution_state === 'idle') {
          idle = true;
        } else if (msg.msg_type === 'execute_reply') {
          replied = true;
          result.status = msg.content.status as CellResult['status'];
          if (result.status === 'error' && !result.error) result.error = `${String(msg.content.ename)}: ${String(msg.content.evalue)}`;
        }
        finish();
      };
      this.ws.on('message', onMessage);
      this.ws.send(
        JSON.stringify({
          header: { msg_id: msgId, username: 'reshoot', session: this.session, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
          parent_header: {},
          metadata: {},
          content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          channel: 'shell',
          buffers: [],
        }),
      );
    });
  }

  /** Closes the channel and shuts the kernel down through the REST API. */
  async shutdown(): Promise<void> {
    this.ws.close();
    await fetch(`${this.server.url}/api/kernels/${this.id}?token=${this.server.token}`, { method: 'DELETE' });
  }
}
