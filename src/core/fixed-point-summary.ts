import type { FixedPointReport } from './reflection.js';

/** A run's fixed-point inversions in one record, for summaries and JSON. */
export interface FixedPointSummary {
  readonly inversions: number;
  /** Weak-model evaluations the solver spent, summed over the run (each iteration is one batched call). */
  readonly iterations: number;
  readonly tolerance: number;
  /** Steps at which the iteration stopped at its cap with items above tolerance. */
  readonly unconvergedSteps: readonly number[];
  /** Items above tolerance, summed over those inversions. */
  readonly unconvergedItems: number;
  /** The largest relative residual returned by any inversion of the run (converged items included). */
  readonly maxRelativeResidual: number;
}

/** Collects FixedPointReports; `summary()` is undefined when no fixed-point inversion ran. */
export function fixedPointCollector(): { report: (r: FixedPointReport) => void; summary(): FixedPointSummary | undefined } {
  const reports: FixedPointReport[] = [];
  return {
    report: (r) => reports.push(r),
    summary() {
      if (reports.length === 0) return undefined;
      const bad = reports.filter((r) => r.unconverged > 0);
      return {
        inversions: reports.length,
        iterations: reports.reduce((a, r) => a + r.iterations, 0),
        tolerance: reports[0].tolerance,
        unconvergedSteps: [...new Set(bad.map((r) => r.step))],
        unconvergedItems: bad.reduce((a, r) => a + r.unconverged, 0),
        maxRelativeResidual: reports.reduce((a, r) => Math.max(a, r.maxRelativeResidual), 0),
      };
    },
  };
}

/** One line for a summary: converged, or where and by how much it did not. */
export function describeFixedPoint(s: FixedPointSummary): string {
  const head = `fixed-point inversion: ${s.inversions} inversions, ${s.iterations} solver evaluations, max relative residual ${s.maxRelativeResidual.toExponential(2)} (tolerance ${s.tolerance})`;
  if (s.unconvergedSteps.length === 0) return `${head}, all converged`;
  return `${head}; stopped at the iteration cap with ${s.unconvergedItems} item-inversions above tolerance at steps ${s.unconvergedSteps.join(', ')}`;
}
