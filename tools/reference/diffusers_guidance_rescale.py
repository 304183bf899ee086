#!/usr/bin/env python3
"""Reference values of diffusers' guidance_rescale (rescale_noise_cfg), written as a JSON test fixture.

Run (Debian's python3 with python3-torch; no diffusers install needed):

    /usr/bin/python3 tools/reference/diffusers_guidance_rescale.py --diffusers /path/to/diffusers/src [--commit <sha>]

Only the function `rescale_noise_cfg` is taken from diffusers' pipeline_stable_diffusion.py: its definition is
located with `ast` and executed with torch, so the module's other imports (transformers, ...) are not needed and
no diffusers code is copied here. The guided output is formed as the pipeline does before calling it,
noise_pred_uncond + guidance_scale · (noise_pred_text − noise_pred_uncond), in float32.

Writes test/fixtures/diffusers/guidance_rescale.json.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import torch


def load_rescale(src: Path):
    path = src / "diffusers" / "pipelines" / "stable_diffusion" / "pipeline_stable_diffusion.py"
    tree = ast.parse(path.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "rescale_noise_cfg")
    namespace: dict = {"torch": torch}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), namespace)
    return namespace["rescale_noise_cfg"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--diffusers", required=True, type=Path, help="the folder that holds the diffusers package")
    ap.add_argument("--commit", default="", help="diffusers commit, recorded in the fixture")
    args = ap.parse_args()
    rescale = load_rescale(args.diffusers)
    g = torch.Generator().manual_seed(20231)
    cases = []
    for shape, scale, phi in [((2, 4, 3, 3), 7.5, 0.7), ((1, 4, 2, 5), 5.5, 0.3), ((3, 4, 2, 2), 2.0, 1.0)]:
        text = torch.randn(shape, generator=g, dtype=torch.float32)
        uncond = torch.randn(shape, generator=g, dtype=torch.float32) * 0.5 + 0.1
        guided = uncond + scale * (text - uncond)
        out = rescale(guided, text, guidance_rescale=phi)
        cases.append({
            "shape": list(shape),
            "guidance_scale": scale,
            "guidance_rescale": phi,
            "noise_pred_text": text.flatten().tolist(),
            "noise_pred_uncond": uncond.flatten().tolist(),
            "rescaled": out.flatten().tolist(),
        })
    meta = {"source": "diffusers pipeline_stable_diffusion.rescale_noise_cfg", "commit": args.commit, "torch": torch.__version__}
    out_path = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "diffusers" / "guidance_rescale.json"
    out_path.write_text(json.dumps({"meta": meta, "cases": cases}) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
