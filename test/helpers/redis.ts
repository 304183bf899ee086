/**
 * A real Redis (Debian's redis-server) for tests and benchmarks: a free loopback port, its data in a temp
 * folder with the append-only file on — the setup docs/SCALE.md prescribes (fsync every second: a restart or
 * a crash of Redis loses nothing; `always` is there for comparison). Stopped (and its folder removed) by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** SIGTERM, wait for the exit, start again on the same port and data folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const REDIS_SERVER = process.env.W2SD_REDIS_SERVER ?? 'redis-server';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, fsync: AofFsync): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', fsync, '--save', '',
    // BullMQ's keys must never be evicted
    '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--loglevel', 'notice',
  ];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} not ready in 10 s: ${log}`)), 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const onData = (d: Buffer) => {
      log += d.toString();
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    child.on('error', (e) => fail(new Error(`cannot start ${REDIS_SERVER} (Debian package redis-server): ${e.message}`)));
    child.on('exit', (code) => fail(new Error(`redis-server exited with ${code}: ${log}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export type AofFsync = 'everysec' | 'always';

/** Starts redis-server and waits for its ready line. */
export async function startRedis(o: { fsync?: AofFsync } = {}): Promise<RedisServer> {
  const fsync = o.fsync ?? 'everysec';
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-redis-'));
  const port = await freePort();
  let child = await launch(port, dir, fsync);
  const stopChild = async () => {
    child.removeAllListeners('exit');
    const done = exited(child);
    child.kill('SIGTERM');
    await done;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async restart() {
      await stopChild();
      child = await launch(port, dir, fsync);
    },
    async stop() {
      await stopChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
