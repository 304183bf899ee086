import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Addresses only this machine can reach. Anything else, 0.0.0.0 and :: included, is "off loopback". */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::ffff:127.0.0.1';
}

export const MIN_TOKEN_LENGTH = 16;

/**
 * The rule of `w2sd serve`: off loopback the API needs a bearer token (refuse to start without one), and a
 * token must be long enough not to be guessed.
 */
export function checkBindSecurity(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`--token: expected at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 32\`), got ${token.length}`);
  }
  if (!isLoopback(host) && token === undefined) {
    throw new Error(`--host ${host} is reachable from other machines: give an API token (--token or W2SD_API_TOKEN) or bind to 127.0.0.1`);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares `Authorization: Bearer <token>` in constant time (hashes first, so lengths do not leak either). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]), digest(token));
}
