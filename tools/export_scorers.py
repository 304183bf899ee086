#!/usr/bin/env python3
"""Export the public reward-model checkpoints to the folders `w2sd score` reads (docs/EVAL.md).

NOT RUNNABLE IN THIS REPOSITORY'S SANDBOX OR CI: it downloads checkpoints from the Hugging Face Hub and GitHub.
Run it on your own machine with internet access:

    pip install torch transformers "optimum[exporters]" open_clip_torch huggingface_hub
    python tools/export_scorers.py pickscore out/scorers/pickscore
    python tools/export_scorers.py clip-l14  out/scorers/clip-l14     # CLIPScore + LAION aesthetic head
    python tools/export_scorers.py hpsv2     out/scorers/hpsv2
    python tools/export_scorers.py dino      out/scorers/dino
    # optional: --fp16 halves the files (ONNX Runtime CPU runs fp16 graphs slower; use it for GPUs)

Each folder gets optimum's CLIP layout: model.onnx (inputs input_ids, pixel_values, attention_mask; outputs
logits_per_image, logits_per_text, text_embeds, image_embeds), preprocessor_config.json, tokenizer files and
config.json; clip-l14 also gets aesthetic.onnx (input [B, 768] L2-normalised image embedding -> [B, 1]).

Checkpoints (licences are the owners'):
  PickScore_v1        yuvalkirstain/PickScore_v1 (processor: laion/CLIP-ViT-H-14-laion2B-s32B-b79K)
  CLIP ViT-L/14       openai/clip-vit-large-patch14
  LAION aesthetic     sac+logos+ava1-l14-linearMSE.pth from christophschuhmann/improved-aesthetic-predictor
  HPS v2.1            xswu/HPSv2 HPS_v2.1_compressed.pt on open_clip ViT-H-14 (laion2b_s32b_b79k)
  DINO ViT-S/16       facebook/dino-vits16
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

AESTHETIC_URL = 'https://github.com/christophschuhmann/improved-aesthetic-predictor/raw/main/sac+logos+ava1-l14-linearMSE.pth'
CLIP_IO = dict(
    input_names=['input_ids', 'pixel_values', 'attention_mask'],
    output_names=['logits_per_image', 'logits_per_text', 'text_embeds', 'image_embeds'],
    dynamic_axes={'input_ids': {0: 'text_batch_size', 1: 'sequence_length'}, 'pixel_values': {0: 'image_batch_size'},
                  'attention_mask': {0: 'text_batch_size', 1: 'sequence_length'},
                  'logits_per_image': {0: 'image_batch_size', 1: 'text_batch_size'},
                  'logits_per_text': {0: 'text_batch_size', 1: 'image_batch_size'},
                  'text_embeds': {0: 'text_batch_size'}, 'image_embeds': {0: 'image_batch_size'}},
)


def optimum_clip(model_id, out, fp16):
    """optimum's own CLIP export: exactly the IO names w2sd reads."""
    cmd = ['optimum-cli', 'export', 'onnx', '--model', model_id, '--task', 'zero-shot-image-classification', out]
    if fp16:
        cmd += ['--dtype', 'fp16', '--device', 'cuda']
    subprocess.run(cmd, check=True)


def copy_processor_and_tokenizer(repo_id, out):
    """Processor and tokenizer files of another repo (PickScore_v1 ships none of its own)."""
    from huggingface_hub import hf_hub_download
    for f in ['preprocessor_config.json', 'tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']:
        try:
            shutil.copy(hf_hub_download(repo_id, f), os.path.join(out, f))
        except Exception as err:  # not every repo has every file
            print(f'note: {repo_id} has no {f} ({err.__class__.__name__})')


def export_pickscore(out, fp16):
    optimum_clip('yuvalkirstain/PickScore_v1', out, fp16)
    copy_processor_and_tokenizer('laion/CLIP-ViT-H-14-laion2B-s32B-b79K', out)


def export_clip_l14(out, fp16):
    import torch
    optimum_clip('openai/clip-vit-large-patch14', out, fp16)
    # LAION's improved aesthetic predictor: linear layers with dropout between and no activations
    mlp = torch.nn.Sequential(
        torch.nn.Linear(768, 1024), torch.nn.Dropout(0.2), torch.nn.Linear(1024, 128), torch.nn.Dropout(0.2),
        torch.nn.Linear(128, 64), torch.nn.Dropout(0.1), torch.nn.Linear(64, 16), torch.nn.Linear(16, 1))
    path = os.path.join(out, 'sac+logos+ava1-l14-linearMSE.pth')
    torch.hub.download_url_to_file(AESTHETIC_URL, path)
    state = torch.load(path, map_location='cpu')
    mlp.load_state_dict({k.replace('layers.', ''): v for k, v in state.items()})
    mlp.eval()
    torch.onnx.export(mlp, (torch.zeros(1, 768),), os.path.join(out, 'aesthetic.onnx'), input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}, opset_version=14)
    os.remove(path)


def export_hpsv2(out, fp16):
    """HPS v2.1 is an open_clip ViT-H-14; it is wrapped so that its ONNX graph has optimum's CLIP IO."""
    import torch
    import open_clip
    from huggingface_hub import hf_hub_download
    model, _, _ = open_clip.create_model_and_transforms('ViT-H-14', pretrained=None, precision='fp32', device='cpu')
    ckpt = torch.load(hf_hub_download('xswu/HPSv2', 'HPS_v2.1_compressed.pt'), map_location='cpu')
    model.load_state_dict(ckpt['state_dict'])
    model.eval()

    class Wrapped(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, pixel_values, attention_mask):
            # open_clip's text tower is causal and pools at the end token (argmax of the ids), so padding after
            # EOS cannot change it; the mask is accepted for the layout (and kept in the graph by a zero term)
            t = self.m.encode_text(input_ids) + 0 * attention_mask.sum().to(torch.float32)
            i = self.m.encode_image(pixel_values)
            t = t / t.norm(dim=-1, keepdim=True)
            i = i / i.norm(dim=-1, keepdim=True)
            lpt = self.m.logit_scale.exp() * t @ i.t()
            return lpt.t(), lpt, t, i

    ids = torch.tensor([[49406, 320, 2368, 49407] + [0] * 73])
    torch.onnx.export(Wrapped(model), (ids, torch.zeros(1, 3, 224, 224), torch.ones_like(ids)), os.path.join(out, 'model.onnx'),
                      opset_version=17, **CLIP_IO)
    # open_clip ViT-H-14 preprocesses like CLIPImageProcessor (224 bicubic shortest edge, center crop, OpenAI mean/std)
    copy_processor_and_tokenizer('laion/CLIP-ViT-H-14-laion2B-s32B-b79K', out)
    json.dump({'architectures': ['CLIPModel'], 'model_type': 'clip', 'note': 'HPS v2.1 (open_clip ViT-H-14) exported by tools/export_scorers.py',
               'text_config': {'max_position_embeddings': 77}}, open(os.path.join(out, 'config.json'), 'w'), indent=2)
    if fp16:
        print('note: --fp16 is not applied to the open_clip export; convert with onnxconverter-common if needed')


def export_dino(out, fp16):
    cmd = ['optimum-cli', 'export', 'onnx', '--model', 'facebook/dino-vits16', '--task', 'feature-extraction', out]
    if fp16:
        cmd += ['--dtype', 'fp16', '--device', 'cuda']
    subprocess.run(cmd, check=True)


EXPORTS = {'pickscore': export_pickscore, 'clip-l14': export_clip_l14, 'hpsv2': export_hpsv2, 'dino': export_dino}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('scorer', choices=sorted(EXPORTS))
    p.add_argument('out')
    p.add_argument('--fp16', action='store_true')
    a = p.parse_args()
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f'{a.out}: exists and is not empty')
    os.makedirs(a.out, exist_ok=True)
    EXPORTS[a.scorer](a.out, a.fp16)
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
