import { Redis } from 'ioredis';

/** What `--queue` accepts: redis://[user:password@]host:port[/db] (rediss:// for TLS). */
export interface QueueUrl {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
}

export function parseQueueUrl(text: string, option = '--queue'): QueueUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`${option}: expected redis://HOST:PORT[/DB], got ${JSON.stringify(text)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`${option}: expected a redis:// or rediss:// URL, got ${JSON.stringify(text)}`);
  if (!u.hostname) throw new Error(`${option}: no host in ${JSON.stringify(text)}`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new Error(`${option}: database must be 0–15, got ${JSON.stringify(dbText)}`);
  return { url: text, host: u.hostname, port, db, tls: u.protocol === 'rediss:' };
}

/**
 * One ioredis connection as BullMQ wants it: commands wait through a reconnect instead of failing
 * (maxRetriesPerRequest null), and reconnection retries forever with a capped delay, so a Redis restart
 * only pauses workers and producers.
 */
export function connect(url: QueueUrl, name: string, log: (line: string) => void = () => {}): Redis {
  const redis = new Redis(url.url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  });
  // one line per outage, not one per reconnect attempt; an 'error' listener also keeps ioredis from
  // printing every refused reconnect
  let down = false;
  let lastError = '';
  redis.on('error', (err: Error) => (lastError = err.message));
  redis.on('reconnecting', () => {
    if (!down) log(`redis ${url.host}:${url.port}: connection lost${lastError ? ` (${lastError})` : ''}; reconnecting`);
    down = true;
  });
  redis.on('ready', () => {
    if (down) log(`redis ${url.host}:${url.port}: connected again`);
    down = false;
  });
  return redis;
}
