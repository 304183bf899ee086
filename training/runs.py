"""Every training run behind a shipped model, in one table, so a card can name the run that made it.

Steps are planned for one H200 shared by all runs in parallel (`train.py all`); a wall-clock cap
(--max-seconds) stops a run early if the machine is slower than planned, and the card then records
the step actually reached.
"""

DATA_SEED = 0  # chooses the class subsets; separate from the training seeds
MAJORITY, MINORITY = 0, 7  # the imbalance pair's digits (the paper's horse and car)

FULL_ARCH = {'ch': 32, 'mult': [1, 2, 2], 'num_res': 2, 'attn_levels': [2], 'heads': 4}
SMALL_ARCH = {'ch': 16, 'mult': [1, 2, 2], 'num_res': 2, 'attn_levels': [2], 'heads': 4}
SMOKE_ARCH = {'ch': 8, 'mult': [1, 2, 2], 'num_res': 1, 'attn_levels': [2], 'heads': 2}

COMMON = {'dataset': 'mnist', 'batch': 256, 'lr': 3e-4, 'warmup': 200, 'ema': 0.999, 'label_dropout': 0.1,
          'grad_clip': 1.0}


def diffusion(**kw):
    run = dict(COMMON, kind='diffusion', subset=None, conditioning='class', dropout=0.0)
    run.update(kw)
    return run


def imbalance(minority_count, seed):
    return diffusion(subset={MAJORITY: 5000, MINORITY: minority_count}, conditioning='unconditional',
                     arch=FULL_ARCH, steps=6000, seed=seed, dropout=0.1,
                     checkpoints={f'mnist-imbalance-{5000 // minority_count}to1': 6000})


RUNS = {
    # One run, three checkpoints at 1 : 3 : 5 of its length (the paper's 100/300/500 epochs).
    'full': diffusion(arch=FULL_ARCH, steps=12000, seed=1,
                      checkpoints={'mnist-full-early': 2400, 'mnist-full-mid': 7200, 'mnist-full-final': 12000}),
    # Autoguidance-style weak model: a quarter of the parameters and a quarter of the steps.
    'small': diffusion(arch=SMALL_ARCH, steps=3000, seed=2, checkpoints={'mnist-small': 3000}),
    # Same seed for all three: same initial weights and noise stream, only the minority count differs.
    'imbalance-2to1': imbalance(2500, seed=3),
    'imbalance-10to1': imbalance(500, seed=3),
    'imbalance-1to1': imbalance(5000, seed=3),
    'classifier': dict(kind='classifier', dataset='mnist', batch=256, lr=2e-3, steps=1400, seed=5,
                       checkpoints={'mnist-classifier': 1400}),
    # CI smoke: a tiny network, a few CPU iterations; proves the training and export path, not quality.
    'smoke': diffusion(arch=SMOKE_ARCH, steps=20, batch=16, warmup=5, seed=7, checkpoints={'mnist-smoke': 20}),
}


def run_of_model(model_name):
    for run_name, run in RUNS.items():
        if model_name in run['checkpoints']:
            return run_name, run
    raise KeyError(f'model {model_name!r} is made by no run in training/runs.py')
