/*
 * Report statistics: means with Student-t 95 % intervals over prompts, and paired win rates with percentile
 * bootstrap intervals that resample prompts (the seeds of a prompt move together, since images of one prompt
 * are not independent).
 */

/** ln Γ(x), Lanczos (g = 7, n = 9), |error| < 1e-13 for x > 0. */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the CDF to 1e-12). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new Error(`t quantile: p ${p}, df ${df}`);
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface MeanCi {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  /** Units the interval is over (prompts). */
  readonly n: number;
}

/** Mean with the two-sided 95 % Student-t interval (n < 2: the interval is the point). */
export function meanCi(values: readonly number[]): MeanCi {
  const n = values.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: mean, hi: mean, n };
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (studentTQuantile(0.975, n - 1) * sd) / Math.sqrt(n);
  return { mean, lo: mean - half, hi: mean + half, n };
}

/** Outcomes of one paired unit (a prompt, all its seeds): counts of wins, ties and losses and the summed difference. */
export interface PairedUnit {
  readonly wins: number;
  readonly ties: number;
  readonly losses: number;
  readonly diffSum: number;
}

export interface WinRate {
  /** Shares of all paired images; win + tie + loss = 1. */
  readonly win: number;
  readonly tie: number;
  readonly loss: number;
  /** 95 % percentile-bootstrap interval of `win`, resampling prompts. */
  readonly winLo: number;
  readonly winHi: number;
  /** Mean paired difference (method − baseline) and its bootstrap interval. */
  readonly diff: number;
  readonly diffLo: number;
  readonly diffHi: number;
  readonly pairs: number;
  readonly prompts: number;
}

/** xorshift32 in [0, 1): a fixed seed makes reports reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Lower and upper 2.5 % order statistics of B sorted values: sorted[⌊0.025·B⌋], sorted[⌈0.975·B⌉ − 1]. */
export function percentileInterval(values: readonly number[]): [number, number] {
  const s = [...values].sort((a, b) => a - b);
  const B = s.length;
  return [s[Math.floor(0.025 * B)], s[Math.ceil(0.975 * B) - 1]];
}

export function pairedWinRate(units: readonly PairedUnit[], opts: { resamples?: number; seed?: number } = {}): WinRate {
  const P = units.length;
  const tot = (u: readonly PairedUnit[]) => u.reduce((a, x) => ({ w: a.w + x.wins, t: a.t + x.ties, l: a.l + x.losses, d: a.d + x.diffSum }), { w: 0, t: 0, l: 0, d: 0 });
  const all = tot(units);
  const n = all.w + all.t + all.l;
  if (n === 0) return { win: NaN, tie: NaN, loss: NaN, winLo: NaN, winHi: NaN, diff: NaN, diffLo: NaN, diffHi: NaN, pairs: 0, prompts: P };
  const B = opts.resamples ?? 2000;
  const next = rng(opts.seed ?? 20250201);
  const wins: number[] = [];
  const diffs: number[] = [];
  for (let b = 0; b < B; b++) {
    let w = 0;
    let m = 0;
    let d = 0;
    for (let i = 0; i < P; i++) {
      const u = units[Math.floor(next() * P)];
      w += u.wins;
      m += u.wins + u.ties + u.losses;
      d += u.diffSum;
    }
    wins.push(w / m);
    diffs.push(d / m);
  }
  const [winLo, winHi] = percentileInterval(wins);
  const [diffLo, diffHi] = percentileInterval(diffs);
  return { win: all.w / n, tie: all.t / n, loss: all.l / n, winLo, winHi, diff: all.d / n, diffLo, diffHi, pairs: n, prompts: P };
}
