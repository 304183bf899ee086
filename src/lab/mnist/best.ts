import { bestBalanced } from '../../eval/best-w.js';
import type { RowResult } from './results.js';

const autoguidanceRows = (rows: readonly RowResult[]) => rows.filter((r) => r.id.startsWith('autoguidance-'));

/**
 * The autoguidance row at its best w. For a class pair the experiment's own question decides (minority share
 * closest to 50 %); otherwise the balanced criterion of eval/best-w (min(precision, recall) up to its error, then FD), which
 * neither blur (precision falls) nor collapse (recall falls) can win.
 */
export function bestAutoguidanceOf(rows: readonly RowResult[], pair: boolean, prCount: number): RowResult | undefined {
  const ag = autoguidanceRows(rows);
  if (ag.length === 0) return undefined;
  if (pair) {
    const score = (r: RowResult) => Math.abs((r.metrics.minorityOfPair ?? 0) - 0.5);
    return ag.reduce((a, b) => (score(b) < score(a) ? b : a));
  }
  return balancedAutoguidanceOf(rows, prCount);
}

/** The autoguidance row picked by BEST_W_CRITERION, FD breaking ties; `prCount`: samples P/R were measured on. */
export function balancedAutoguidanceOf(rows: readonly RowResult[], prCount: number): RowResult | undefined {
  const ag = autoguidanceRows(rows);
  return ag.length ? bestBalanced(ag, (r) => r.metrics, (r) => r.metrics.frechet, prCount).best : undefined;
}

/** The autoguidance row with the lowest FD (what the lab picked before; rewards neither failure explicitly). */
export function lowestFdAutoguidanceOf(rows: readonly RowResult[]): RowResult | undefined {
  const ag = autoguidanceRows(rows);
  return ag.length ? ag.reduce((a, b) => (b.metrics.frechet < a.metrics.frechet ? b : a)) : undefined;
}
