// The README's library example, compiled and run by the tests so it cannot rot.
import {
  GaussianMixture, gmmDenoiser, ddim, karrasSchedule, initialLatent, tensor, w2sdSample,
} from '../src/index.js';

export async function example(): Promise<{ plain: Float32Array; w2sd: Float32Array }> {
  // two models over the same 1-D space: the strong one puts 42 % on the left mode, the weak one 25 %
  const model = (left: number) => gmmDenoiser(new GaussianMixture({
    dim: 1,
    components: [
      { weight: left, mean: [-4], cov: [[1]] },
      { weight: 1 - left, mean: [4], cov: [[1]] },
    ],
  }));
  const strong = model(0.42);
  const weak = model(0.25);

  const schedule = karrasSchedule(0.002, 80, 50);     // T = 50 levels, σ from 80 down to 0.002, then 0
  const shape = [1000, 1];                            // 1000 samples of dimension 1
  const x = tensor(initialLatent(0, shape, schedule), shape);

  const plain = await ddim()(strong, x, schedule);
  const w2sd = await w2sdSample(ddim(), { main: strong, strong, weak }, x, schedule, { lambda: 49, inversion: 'ddim' });
  return { plain, w2sd };
}
