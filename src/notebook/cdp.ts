/**
 * A headless Chromium page driven over the DevTools protocol (WebSocket, `ws`):
 * navigate, reload, evaluate, wait for a condition. For tests that need what a
 * plain `--dump-dom` cannot do, such as reloading a page while a notebook
 * kernel lives on, or loading a page once for both its DOM and a screenshot
 * (scripts/run-notebooks.ts). Chromium from findChromium (Debian's `chromium`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ReshootError } from '../util/errors.js';

export function findChromium(): string {
  const candidates = [process.env.RESHOOT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new ReshootError('Chromium not found: install it (apt-get install -y --no-install-recommends chromium) or set RESHOOT_CHROMIUM');
}

export class BrowserPage {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly ws: WebSocket,
    private readonly profile: string,
  ) {
    ws.on('message', (raw: WebSocket.RawData) => {
      const msg = JSON.parse(raw.toString()) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result ?? {});
    });
  }

  /** Starts Chromium headless with a fresh profile and attaches to its first page. */
  static async launch(timeoutMs = 60_000): Promise<BrowserPage> {
    const profile = mkdtempSync(join(tmpdir(), 'reshoot-cdp-'));
    const child = spawn(
      findChromium(),
      [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank',
      ],
      { stdio: 'ignore' },
    );
    const portFile = join(profile, 'DevToolsActivePort');
    const deadline = Date.now() + timeoutMs;
    try {
      while (!existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2) {
        if (Date.now() > deadline) throw new Error('Chromium did not open its DevTools port');
        if (child.exitCode !== null) throw new Error(`Chromium exited (${child.exitCode})`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const port = Number(readFileSync(portFile, 'utf8').split('\n')[0]);
      let target: { type: string; webSocketDebuggerUrl: string } | undefined;
      while (!target) {
        if (Date.now() > deadline) throw new Error('Chromium has no page target');
        const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
        target = list.find((t) => t.type === 'page');
        if (!target) await new Promise((r) => setTimeout(r, 100));
      }
      const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const page = new BrowserPage(child, ws, profile);
      await page.send('Page.enable');
      await page.send('Runtime.enable');
      return page;
    } catch (err) {
      child.kill('SIGKILL');
      rmSync(profile, { recursive: true, force: true });
      throw err;
    }
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** The value of a JavaScript expression in the page (promises awaited). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
      result: { value?: T; description?: string };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** Polls `expression` until it is truthy; throws `what` after the timeout. */
  async waitFor(expression: string, what: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let ok = false;
      try {
        ok = Boolean(await this.evaluate(expression));
      } catch {
        // the page is between documents (navigation, reload)
      }
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async navigate(url: string): Promise<void> {
    await this.send('Page.navigate', { url });
  }

  /** PNG of the viewport (set its size with viewport()). */
  async screenshot(): Promise<Buffer> {
    const r = (await this.send('Page.captureScreenshot', { format: 'png' })) as { data: string };
    return Buffer.from(r.data, 'base64');
  }

  /** Lays the page out at width x height CSS px (scale 1), as --window-size does. */
  async viewport(width: number, height: number): Promise<void> {
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
  }

  async reload(): Promise<void> {
    await this.send('Page.reload', { ignoreCache: true });
  }

  async close(): Promise<void> {
    this.ws.close();
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
      setTimeout(() => this.child.exitCode === null && this.child.kill('SIGKILL'), 5000).unref();
    });
    // Chromium's helper processes can still write into the profile for a moment after the browser exits
    // (ENOTEMPTY at load 10 even after 10 retries). A left temp folder must not fail the caller, whose own
    // cleanup (a notebook server) would then never run: retry for up to ~10 s, then leave it.
    for (let attempt = 0; ; attempt++) {
      try {
        rmSync(this.profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
        return;
      } catch (e) {
        if (attempt >= 4) {
          console.warn(`could not remove the Chromium profile ${this.profile}: ${(e as Error).message}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
