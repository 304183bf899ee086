import { autoguided, equalCompute, equalComputeSplit, plain, s2wd, selfReflection, w2sd, type FixedPointOptions, type InversionKind, type Method } from '../../core/index.js';
import type { SamplingProblem as ToyProblem } from './problem.js';

/** The reflection settings a toy run uses: λ as a number or "T − 1" (undefined), and the inversion. */
export interface ReflectSettings {
  readonly lambda?: number;
  readonly inversion: InversionKind;
  /** The fixed-point solver's options (strict: stopping at the cap is an error). */
  readonly fixedPoint?: FixedPointOptions;
}

const lambdaOf = (r: ReflectSettings) => r.lambda ?? ((steps: number) => steps - 1);

export function plainStrong(p: ToyProblem): Method {
  return plain('plain strong', p.denoisers.strong);
}

export function plainWeak(p: ToyProblem): Method {
  return plain('plain weak', p.denoisers.weak);
}

export function plainIdeal(p: ToyProblem): Method {
  return plain('plain ideal model', p.denoisers.ideal);
}

function legs(p: ToyProblem) {
  return { main: p.denoisers.strong, strong: p.denoisers.strong, weak: p.denoisers.weak };
}

export function w2sdRow(p: ToyProblem, r: ReflectSettings, name = `W2SD (${r.inversion})`): Method {
  return w2sd(name, legs(p), { lambda: lambdaOf(r), inversion: r.inversion, fixedPoint: r.fixedPoint });
}

export function selfReflectionRow(p: ToyProblem, r: ReflectSettings): Method {
  return selfReflection(`self-reflection (${r.inversion})`, legs(p), { lambda: lambdaOf(r), inversion: r.inversion, fixedPoint: r.fixedPoint });
}

export function s2wdRow(p: ToyProblem, r: ReflectSettings): Method {
  return s2wd(`S2WD (${r.inversion})`, legs(p), { lambda: lambdaOf(r), inversion: r.inversion, fixedPoint: r.fixedPoint });
}

/** W2SD spending exactly plain strong's T evaluations (every toy leg costs one per item): T' steps, λ ≈ T'/2. */
export function equalComputeRow(p: ToyProblem, r: ReflectSettings, steps: number): Method {
  const sp = equalComputeSplit(steps);
  return equalCompute(`W2SD equal-compute (${r.inversion}, T'=${sp.steps}, λ=${sp.lambda})`, legs(p), { inversion: r.inversion, fixedPoint: r.fixedPoint });
}

export function autoguidanceRow(p: ToyProblem, w: number, note = ''): Method {
  return autoguided(`autoguidance w=${w}${note}`, p.denoisers.strong, p.denoisers.weak, w);
}
