/**
 * A private redis-server for tests and the bench: a free localhost port, a temp folder, AOF on (the setting
 * reshoot documents: jobs survive a restart), no RDB snapshots. Never the system's redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { ReshootError } from '../util/errors.js';
import { freePort } from '../util/free-port.js';

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops it (SIGTERM: redis flushes the AOF and exits). */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port and folder (the AOF is reloaded). */
  restart(): Promise<void>;
}

const REDIS_SERVER = process.env.RESHOOT_REDIS_SERVER ?? '/usr/bin/redis-server';

export async function startPrivateRedis(dir: string): Promise<PrivateRedis> {
  if (!existsSync(REDIS_SERVER)) throw new ReshootError(`${REDIS_SERVER} not found: apt-get install redis-server (or set RESHOOT_REDIS_SERVER)`);
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' });
    // Ready when it answers PING.
    const t0 = Date.now();
    for (;;) {
      const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined); // refused while it starts: the loop retries
      try {
        await c.connect();
        if ((await c.ping()) === 'PONG') return;
      } catch {
        if (Date.now() - t0 > 10000) throw new ReshootError(`redis-server on port ${port} did not start within 10 s`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        c.disconnect();
      }
    }
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGTERM');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, dir, stop, restart: async () => (await stop(), await start()) };
}
