"""The discrete VP noise schedule the models are trained on, its diffusers-style config, and a DDIM sampler.

The TypeScript side builds its schedule from scheduler_config.json; the sampler here only serves the
sanity metrics in the cards (it follows the same config: leading spacing, steps_offset, final alpha).
"""
import torch

SCHEDULER_CONFIG = {
    '_class_name': 'DDIMScheduler',
    'num_train_timesteps': 1000,
    'beta_schedule': 'linear',
    'beta_start': 0.0001,
    'beta_end': 0.02,
    'prediction_type': 'epsilon',
    'timestep_spacing': 'leading',
    'steps_offset': 1,
    'set_alpha_to_one': False,
    'clip_sample': False,
    'thresholding': False,
    'rescale_betas_zero_snr': False,
}


def alphas_cumprod(config=SCHEDULER_CONFIG):
    if config['beta_schedule'] != 'linear':
        raise ValueError(f"beta_schedule {config['beta_schedule']!r}: only 'linear' is used for these models")
    betas = torch.linspace(config['beta_start'], config['beta_end'], config['num_train_timesteps'], dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


def ddim_timesteps(steps, config=SCHEDULER_CONFIG):
    """diffusers' 'leading' spacing: t = i * (T // steps) + steps_offset, descending."""
    ratio = config['num_train_timesteps'] // steps
    return [i * ratio + config['steps_offset'] for i in reversed(range(steps))]


@torch.no_grad()
def ddim_sample(eps_fn, noise, steps=50, config=SCHEDULER_CONFIG):
    """Deterministic DDIM (eta = 0). eps_fn(x, t_float_tensor) -> eps. Returns x0 in data space (unclipped)."""
    ac = alphas_cumprod(config).to(noise.device)
    final = torch.tensor(1.0, dtype=torch.float64) if config['set_alpha_to_one'] else ac[0]
    ts = ddim_timesteps(steps, config)
    ratio = config['num_train_timesteps'] // steps
    x = noise.double()
    for t in ts:
        a_t = ac[t]
        prev = t - ratio
        a_prev = ac[prev] if prev >= 0 else final
        tt = torch.full((x.shape[0],), float(t), device=x.device)
        eps = eps_fn(x.float(), tt).double()
        x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return x.float()
