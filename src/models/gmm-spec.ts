import { cholesky } from '../core/linalg.js';

/** One Gaussian component: weight, mean and full covariance (row-major rows). */
export interface ComponentSpec {
  readonly weight: number;
  readonly mean: readonly number[];
  readonly cov: readonly (readonly number[])[];
  /** Optional label used in tables ("bottom-left"). */
  readonly name?: string;
}

export interface MixtureSpec {
  readonly dim: number;
  readonly components: readonly ComponentSpec[];
}

/** The three mixtures of a toy experiment: the target, and the two models of a W2SD pair. */
export interface MixtureTriple {
  readonly ideal: MixtureSpec;
  readonly strong: MixtureSpec;
  readonly weak: MixtureSpec;
}

/** A mixture description that cannot be used; the message names the file/field and what was expected. */
export class MixtureSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MixtureSpecError';
  }
}

/** Weights must sum to one within this: loose enough for hand-written decimals like 0.333333. */
export const WEIGHT_SUM_TOLERANCE = 1e-6;

function fail(where: string, what: string): never {
  throw new MixtureSpecError(`${where}: ${what}`);
}

function finiteNumber(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `expected a finite number, got ${JSON.stringify(v)}`);
  return v;
}

function numberArray(v: unknown, where: string, length?: number): number[] {
  if (!Array.isArray(v)) fail(where, `expected an array of numbers, got ${JSON.stringify(v)}`);
  if (length !== undefined && v.length !== length) fail(where, `expected ${length} numbers (the mixture's dimension), got ${v.length}`);
  return v.map((e, i) => finiteNumber(e, `${where}[${i}]`));
}

/**
 * Checks one component (object with weight, mean and either `cov` (d×d matrix) or `std` (isotropic)).
 * Returns it with a full covariance.
 */
function validateComponent(v: unknown, where: string, dim: number): ComponentSpec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'expected an object {weight, mean, cov | std}');
  const o = v as Record<string, unknown>;
  if (!('weight' in o)) fail(where, 'missing field "weight"');
  if (!('mean' in o)) fail(where, 'missing field "mean"');
  const weight = finiteNumber(o.weight, `${where}.weight`);
  if (weight < 0) fail(`${where}.weight`, `must be >= 0, got ${weight}`);
  const mean = numberArray(o.mean, `${where}.mean`, dim);
  let cov: number[][];
  if ('cov' in o && 'std' in o) fail(where, 'give either "cov" or "std", not both');
  if ('std' in o) {
    const std = finiteNumber(o.std, `${where}.std`);
    if (!(std > 0)) fail(`${where}.std`, `must be > 0, got ${std}`);
    cov = Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (_, j) => (i === j ? std * std : 0)));
  } else if ('cov' in o) {
    if (!Array.isArray(o.cov) || o.cov.length !== dim) fail(`${where}.cov`, `expected a ${dim}×${dim} matrix (array of ${dim} rows)`);
    cov = (o.cov as unknown[]).map((row, i) => numberArray(row, `${where}.cov[${i}]`, dim));
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j < i; j++) {
        const a = cov[i][j];
        const b = cov[j][i];
        if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) {
          fail(`${where}.cov`, `must be symmetric: [${i}][${j}] = ${a} but [${j}][${i}] = ${b}`);
        }
      }
    }
    if (cholesky(Float64Array.from(cov.flat()), dim) === null) fail(`${where}.cov`, 'must be positive definite');
  } else {
    fail(where, 'missing field "cov" (a d×d covariance) or "std" (isotropic standard deviation)');
  }
  const out: ComponentSpec = { weight, mean, cov };
  if ('name' in o) {
    if (typeof o.name !== 'string') fail(`${where}.name`, 'expected a string');
    return { ...out, name: o.name };
  }
  return out;
}

/**
 * Validates a mixture given as an array of components or as {components: [...]}. The dimension comes
 * from `dim` when given, otherwise from the first component's mean.
 */
export function validateMixture(v: unknown, where: string, dim?: number): MixtureSpec {
  let list: unknown = v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (!('components' in o)) fail(where, 'missing field "components"');
    list = o.components;
    if ('dim' in o) {
      const d = finiteNumber(o.dim, `${where}.dim`);
      if (dim !== undefined && d !== dim) fail(`${where}.dim`, `dimension mismatch: ${d} here, ${dim} expected`);
      dim = d;
    }
  }
  if (!Array.isArray(list) || list.length === 0) fail(where, 'expected a non-empty array of components');
  if (dim === undefined) {
    const first = list[0] as Record<string, unknown> | null;
    if (typeof first !== 'object' || first === null || !Array.isArray(first.mean)) {
      fail(`${where}[0]`, 'expected an object with a "mean" array (it sets the dimension)');
    }
    dim = first.mean.length;
  }
  if (!Number.isInteger(dim) || dim < 1) fail(where, `dimension must be a positive integer, got ${dim}`);
  const components = list.map((c, i) => validateComponent(c, `${where}[${i}]`, dim!));
  const sum = components.reduce((s, c) => s + c.weight, 0);
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
    fail(where, `weights must sum to 1 (within ${WEIGHT_SUM_TOLERANCE}), they sum to ${sum}`);
  }
  return { dim, components };
}

/**
 * Parses a user file {dim?, ideal, strong, weak}; every mixture must have the same dimension.
 * `source` names the file in messages.
 */
export function parseMixtureFile(text: string, source: string): MixtureTriple {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MixtureSpecError(`${source}: malformed JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail(source, 'expected an object with fields "ideal", "strong" and "weak"');
  }
  const o = json as Record<string, unknown>;
  for (const k of ['ideal', 'strong', 'weak']) if (!(k in o)) fail(source, `missing field "${k}"`);
  let dim: number | undefined;
  if ('dim' in o) {
    const d = finiteNumber(o.dim, `${source}: dim`);
    if (!Number.isInteger(d) || d < 1) fail(`${source}: dim`, `must be a positive integer, got ${d}`);
    dim = d;
  }
  const ideal = validateMixture(o.ideal, `${source}: ideal`, dim);
  const strong = validateMixture(o.strong, `${source}: strong`, ideal.dim);
  const weak = validateMixture(o.weak, `${source}: weak`, ideal.dim);
  return { ideal, strong, weak };
}
