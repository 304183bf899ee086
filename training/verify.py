"""Check exported models against PyTorch: same inputs through the checkpoint (torch) and the ONNX file
(onnxruntime-node, training/verify_onnx.mjs). Usage: python3 training/verify.py [--models DIR] [--ckpt-dir DIR] [NAMES]"""
import argparse
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402


def tensor_json(t):
    return {'dtype': 'int64' if t.dtype == torch.int64 else 'float32', 'shape': list(t.shape),
            'data': t.flatten().tolist()}


def reference(ckpt_path, out_path, batch=3):
    model, record = train.load_ckpt(ckpt_path, 'cpu')
    g = torch.Generator().manual_seed(99)
    if record['kind'] == 'classifier':
        inputs = {'image': torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1}
        with torch.no_grad():
            logits, feats = model(inputs['image'])
        outputs = {'logits': logits, 'features': feats}
    else:
        inputs = {'sample': torch.randn(batch, 1, 28, 28, generator=g),
                  'timestep': torch.tensor([1.0, 500.0, 999.0])[:batch],
                  'class_labels': torch.tensor([0, 7, train.NULL_CLASS])[:batch]}
        with torch.no_grad():
            outputs = {'out_sample': model(inputs['sample'], inputs['timestep'], inputs['class_labels'])}
    with open(out_path, 'w') as f:
        json.dump({'inputs': {k: tensor_json(v) for k, v in inputs.items()},
                   'outputs': {k: tensor_json(v) for k, v in outputs.items()}}, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--models', default=os.path.join(train.data.ROOT, 'models'))
    p.add_argument('--ckpt-dir', default=train.CKPT_DIR)
    p.add_argument('names', nargs='*')
    args = p.parse_args()
    names = args.names or sorted(f[:-3] for f in os.listdir(args.ckpt_dir) if f.endswith('.pt'))
    ref_dir = os.path.join(train.data.DATA_DIR, 'verify')
    os.makedirs(ref_dir, exist_ok=True)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'verify_onnx.mjs')
    reports = {}
    for name in names:
        ref = os.path.join(ref_dir, name + '.json')
        reference(os.path.join(args.ckpt_dir, name + '.pt'), ref)
        out = subprocess.run(['node', script, os.path.join(args.models, name), ref], check=True,
                             capture_output=True, text=True, cwd=train.data.ROOT)
        reports[name] = json.loads(out.stdout)
        print(out.stdout.strip(), flush=True)
    train.write_json(os.path.join(ref_dir, 'report.json'), reports)


if __name__ == '__main__':
    main()
