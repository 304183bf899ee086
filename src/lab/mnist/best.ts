import type { RowResult } from './results.js';

/** The autoguidance row with the best outcome: minority share closest to 50 % for a pair, lowest FD otherwise. */
export function bestAutoguidanceOf(rows: readonly RowResult[], pair: boolean): RowResult | undefined {
  const ag = rows.filter((r) => r.id.startsWith('autoguidance-'));
  if (ag.length === 0) return undefined;
  const score = (r: RowResult) => (pair ? Math.abs((r.metrics.minorityOfPair ?? 0) - 0.5) : r.metrics.frechet);
  return ag.reduce((a, b) => (score(b) < score(a) ? b : a));
}
