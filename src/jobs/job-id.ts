import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal content always has equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`job content: non-finite number ${value}`);
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Pattern every job id matches: a kind prefix and 32 hex digits of SHA-256 (no ':' for BullMQ, no '/' or '.' for paths). */
export const JOB_ID_PATTERN = '^[a-z]{1,8}-[0-9a-f]{32}$';
const JOB_ID = new RegExp(JOB_ID_PATTERN);

/**
 * The id of a job is derived from its content: enqueuing the same work twice names the same job (BullMQ
 * ignores an add whose id exists), and the result file named by the id can only ever be written once.
 */
export function contentId(prefix: string, content: unknown): string {
  if (!/^[a-z]{1,8}$/.test(prefix)) throw new Error(`internal: job id prefix ${JSON.stringify(prefix)}`);
  return `${prefix}-${createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 32)}`;
}

export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}
