/** Karras et al. 2022, Eq. 5: σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, descending. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  if (!(sigmaMin > 0) || !(sigmaMax >= sigmaMin)) throw new Error(`karras sigmas: need 0 < sigma_min ≤ sigma_max, got ${sigmaMin}, ${sigmaMax}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`karras sigmas: steps must be a positive integer, got ${n}`);
  const lo = sigmaMin ** (1 / rho);
  const hi = sigmaMax ** (1 / rho);
  return Array.from({ length: n }, (_, i) => (hi + (n === 1 ? 0 : i / (n - 1)) * (lo - hi)) ** rho);
}
