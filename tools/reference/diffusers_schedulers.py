#!/usr/bin/env python3
"""Reference values from Hugging Face diffusers' scheduler code, written as JSON test fixtures.

Run (Debian's python3 with python3-torch; no diffusers install needed):

    /usr/bin/python3 tools/reference/diffusers_schedulers.py --diffusers /path/to/diffusers/src

`--diffusers` is the folder that holds the `diffusers` package (a checkout's `src`). Only the scheduler
modules and `configuration_utils.py` are executed; the Hub / packaging / logging dependencies of the
package are replaced by small stand-ins below (they are not on any code path the fixtures use).

Writes test/fixtures/diffusers/*.json (see test/fixtures/diffusers/README.md for the format).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import re
import subprocess
import sys
import types
import typing
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "test" / "fixtures" / "diffusers"
SHARED_CONFIGS = REPO / "test" / "fixtures" / "hf" / "configs"

SHAPE = [2, 2, 2, 1]
N = 8

# --------------------------------------------------------------------------------------------------
# Loading diffusers' scheduler modules with minimal stand-ins for the package's non-torch dependencies
# --------------------------------------------------------------------------------------------------


def _stub(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    sys.modules[name] = mod
    return mod


def _load_file(modname: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


class RandnNotPatched(RuntimeError):
    pass


def _randn_unpatched(*args, **kwargs):
    raise RandnNotPatched("randn_tensor called but the fixture generator did not provide stored noise")


def load_diffusers(src: Path) -> types.ModuleType:
    root = src / "diffusers" if (src / "diffusers").is_dir() else src
    if not (root / "schedulers" / "scheduling_ddim.py").is_file():
        raise SystemExit(f"no diffusers package under {src}")
    init_text = (root / "__init__.py").read_text()
    version = re.search(r'__version__\s*=\s*"([^"]+)"', init_text).group(1)

    # huggingface_hub / typing_extensions: names imported at module level, never called here.
    class _HubError(Exception):
        pass

    def _no_hub(*a, **k):
        raise RuntimeError("Hub access is not available in the fixture generator")

    _stub("huggingface_hub", DDUFEntry=object, create_repo=_no_hub, hf_hub_download=_no_hub)
    _stub(
        "huggingface_hub.utils",
        EntryNotFoundError=_HubError,
        HfHubHTTPError=_HubError,
        RepositoryNotFoundError=_HubError,
        RevisionNotFoundError=_HubError,
        validate_hf_hub_args=lambda f: f,
    )
    if "typing_extensions" not in sys.modules:
        try:
            import typing_extensions  # noqa: F401
        except ImportError:
            _stub("typing_extensions", Self=typing.Self)

    # The `diffusers` package: real source folder, but its __init__ (lazy import machinery) is not run.
    pkg = types.ModuleType("diffusers")
    pkg.__path__ = [str(root)]
    pkg.__version__ = version
    sys.modules["diffusers"] = pkg

    # scheduler class name -> module, from schedulers/__init__.py, so that diffusers' own compatible-class
    # lookup (getattr(diffusers, name)) in ConfigMixin.extract_init_dict works as in the real package.
    sched_init = (root / "schedulers" / "__init__.py").read_text()
    class_to_module = {}
    for m in re.finditer(r'_import_structure\["(scheduling_\w+)"\]\s*=\s*\[([^\]]*)\]', sched_init):
        for name in re.findall(r'"(\w+)"', m.group(2)):
            class_to_module[name] = m.group(1)

    def _pkg_getattr(name):
        modname = class_to_module.get(name)
        if modname is None:
            raise AttributeError(name)
        try:
            mod = importlib.import_module(f"diffusers.schedulers.{modname}")
        except Exception as e:  # missing optional dependency (scipy, torchsde, ...)
            raise AttributeError(f"{name}: {e}") from None
        return getattr(mod, name)

    pkg.__getattr__ = _pkg_getattr

    utils = types.ModuleType("diffusers.utils")
    utils.__path__ = [str(root / "utils")]
    sys.modules["diffusers.utils"] = utils
    pkg.utils = utils

    def _is_torch_version(op, ver):
        def key(v):
            return tuple(int(p) for p in re.findall(r"\d+", v)[:3])

        a, b = key(torch.__version__), key(ver)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]

    import_utils = _stub(
        "diffusers.utils.import_utils",
        is_torch_available=lambda: True,
        is_torch_version=_is_torch_version,
        is_scipy_available=lambda: False,
    )
    utils.import_utils = import_utils
    import logging as _logging

    log_mod = _stub("diffusers.utils.logging", get_logger=lambda name=None: _logging.getLogger(name))
    outputs = _load_file("diffusers.utils.outputs", root / "utils" / "outputs.py")
    torch_utils = _stub("diffusers.utils.torch_utils", randn_tensor=_randn_unpatched)

    def _deprecate(*args, **kwargs):
        warnings.warn(f"diffusers deprecate() called: {args[:1]}")

    class _PushToHubMixin:
        pass

    class _DummyObject(type):
        pass

    for k, v in dict(
        BaseOutput=outputs.BaseOutput,
        PushToHubMixin=_PushToHubMixin,
        DummyObject=_DummyObject,
        deprecate=_deprecate,
        logging=log_mod,
        torch_utils=torch_utils,
        is_scipy_available=lambda: False,
        HUGGINGFACE_CO_RESOLVE_ENDPOINT="https://huggingface.co",
        extract_commit_hash=lambda *a, **k: None,
        http_user_agent=lambda *a, **k: "",
    ).items():
        setattr(utils, k, v)

    importlib.import_module("diffusers.configuration_utils")
    sched = types.ModuleType("diffusers.schedulers")
    sched.__path__ = [str(root / "schedulers")]
    sys.modules["diffusers.schedulers"] = sched
    pkg.schedulers = sched
    importlib.import_module("diffusers.schedulers.scheduling_utils")
    return pkg


def git_commit(src: Path) -> str | None:
    for cwd in (src, src.parent):
        try:
            out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True)
            if out.returncode == 0:
                return out.stdout.strip()
        except OSError:
            pass
    return None


# --------------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------------


def num(v):
    """A float64 for JSON; non-finite values become the strings "Infinity", "-Infinity", "NaN"."""
    if isinstance(v, torch.Tensor):
        v = v.item()
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return v
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def arr(t):
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu()
        if t.dtype in (torch.int64, torch.int32):
            return [int(v) for v in t.reshape(-1).tolist()]
        t = t.to(torch.float64).reshape(-1).tolist()
    elif isinstance(t, np.ndarray):
        t = t.reshape(-1).tolist()
    return [num(v) for v in t]


def jsonable(v):
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (torch.Tensor, np.ndarray)):
        return arr(v)
    if isinstance(v, (float, np.floating, np.integer)):
        return num(v)
    return v


def effective_config(s) -> dict:
    cfg = dict(s.config)
    if "_use_default_values" in cfg:  # built from a set: sort for reproducible files
        cfg["_use_default_values"] = sorted(cfg["_use_default_values"])
    return jsonable(cfg)


def write_json(name: str, obj) -> int:
    text = json.dumps(obj, indent=1, allow_nan=False, separators=(",", ":"))
    # keep numeric arrays on one line each (smaller and still diffable)
    text = re.sub(r"\[\n\s*([-0-9.eE\",\s]+?)\n\s*\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)) + "]", text)
    path = OUT_DIR / name
    path.write_text(text + "\n")
    return len(text) + 1


# --------------------------------------------------------------------------------------------------
# The analytic model (documented in the README; TypeScript replicates it)
# --------------------------------------------------------------------------------------------------

MODEL_FORMULA = (
    "out[j] = 0.4 * x[j] * cos(t / 300 + 0.7 * j) + 0.25 * sin(0.013 * t * (j + 1)) - 0.1 * x[(j + 1) % n]"
)
MODEL_NOTE = (
    "x: the tensor handed to the model (after scale_model_input), flattened in row-major order over the whole "
    "batch (n = 8 values, j = 0..7); t: the timestep handed to the model as a float64 number (the float32 or "
    "int64 value diffusers holds, widened exactly). Evaluated left to right in float64 with scalar libm "
    "cos/sin (JavaScript: the same expression with Math.cos/Math.sin; libm differences are at most ~1 ulp). "
    "The output's meaning follows the scheduler's prediction_type (epsilon / v / x0)."
)


def model_fn(x: torch.Tensor, t) -> torch.Tensor:
    t = float(t.item() if isinstance(t, torch.Tensor) else t)
    xs = x.detach().to(torch.float64).reshape(-1).tolist()
    n = len(xs)
    out = [
        0.4 * xs[j] * math.cos(t / 300 + 0.7 * j) + 0.25 * math.sin(0.013 * t * (j + 1)) - 0.1 * xs[(j + 1) % n]
        for j in range(n)
    ]
    return torch.tensor(out, dtype=torch.float64).reshape(x.shape)


def normal(seed: int, n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def noise_tensor(seed: int) -> torch.Tensor:
    return torch.from_numpy(normal(seed)).to(torch.float64).reshape(SHAPE)


# --------------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------------

SD = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)


def trained_betas_50() -> list[float]:
    # a custom, non-standard schedule: betas = 0.002 + 0.3 * (i/49)^2 rounded to 6 decimals
    return [round(0.002 + 0.3 * (i / 49) ** 2, 6) for i in range(50)]


def load_configs() -> dict[str, dict]:
    sd15 = json.loads((SHARED_CONFIGS / "sd15" / "scheduler" / "scheduler_config.json").read_text())
    turbo = json.loads((SHARED_CONFIGS / "sdxl-turbo" / "scheduler" / "scheduler_config.json").read_text())
    return {
        "sd15": sd15,
        "sd15_offset0": {**sd15, "steps_offset": 0},
        "sd15_alpha_one": {**sd15, "set_alpha_to_one": True},
        "sd15_trailing": {**sd15, "timestep_spacing": "trailing"},
        "sdxl_turbo": turbo,
        "linear_linspace": {
            "beta_schedule": "linear",
            "beta_start": 0.0001,
            "beta_end": 0.02,
            "timestep_spacing": "linspace",
            "clip_sample": False,
        },
        "cosine_leading": {
            "beta_schedule": "squaredcos_cap_v2",
            "timestep_spacing": "leading",
            "steps_offset": 1,
            "set_alpha_to_one": False,
            "clip_sample": False,
        },
        "trained_betas_50": {
            "num_train_timesteps": 50,
            "trained_betas": trained_betas_50(),
            "timestep_spacing": "leading",
            "steps_offset": 0,
            "set_alpha_to_one": False,
            "clip_sample": False,
        },
        "zero_snr_trailing_v": {
            **SD,
            "rescale_betas_zero_snr": True,
            "timestep_spacing": "trailing",
            "prediction_type": "v_prediction",
            "set_alpha_to_one": False,
            "clip_sample": False,
        },
        "sd15_karras": {**sd15, "use_karras_sigmas": True},
        "linear_linspace_karras": {
            "beta_schedule": "linear",
            "beta_start": 0.0001,
            "beta_end": 0.02,
            "timestep_spacing": "linspace",
            "use_karras_sigmas": True,
        },
        "class_defaults": {},
    }


# --------------------------------------------------------------------------------------------------
# Instrumentation
# --------------------------------------------------------------------------------------------------


class LoggedSeq:
    """Wraps scheduler.alphas_cumprod so that the indices step() reads are recorded."""

    def __init__(self, base: torch.Tensor):
        self.base = base
        self.log: list[int] = []

    def __getitem__(self, i):
        self.log.append(int(i))
        return self.base[i]

    def __len__(self):
        return len(self.base)


def make(cls, cfg: dict):
    return cls.from_config(dict(cfg))


# --------------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------------

STEPS = [1, 4, 7, 10, 50]
FULL_CONFIGS = {"sd15", "sdxl_turbo", "linear_linspace", "sd15_karras"}  # the only ones also given at T = 50


def schedule_records(D, configs) -> dict:
    recs = []
    configs_out = {}
    sched_classes = {
        "DDIMScheduler": D.DDIMScheduler,
        "DDIMInverseScheduler": D.DDIMInverseScheduler,
        "EulerDiscreteScheduler": D.EulerDiscreteScheduler,
        "HeunDiscreteScheduler": D.HeunDiscreteScheduler,
        "EulerAncestralDiscreteScheduler": D.EulerAncestralDiscreteScheduler,
        "DPMSolverMultistepScheduler": D.DPMSolverMultistepScheduler,
    }
    plan = {
        "DDIMScheduler": [
            "sd15", "sd15_offset0", "sd15_alpha_one", "sd15_trailing", "sdxl_turbo", "linear_linspace",
            "cosine_leading", "trained_betas_50", "zero_snr_trailing_v", "class_defaults",
        ],
        "DDIMInverseScheduler": [
            "sd15", "sd15_offset0", "sd15_alpha_one", "sdxl_turbo", "linear_linspace", "trained_betas_50",
            "zero_snr_trailing_v", "class_defaults",
        ],
        "EulerDiscreteScheduler": [
            "sd15", "sd15_offset0", "sdxl_turbo", "linear_linspace", "cosine_leading", "trained_betas_50",
            "zero_snr_trailing_v", "sd15_karras", "linear_linspace_karras", "class_defaults",
        ],
        "HeunDiscreteScheduler": ["sd15", "sdxl_turbo", "linear_linspace", "sd15_karras", "class_defaults"],
        "EulerAncestralDiscreteScheduler": [
            "sd15", "sdxl_turbo", "linear_linspace", "zero_snr_trailing_v", "class_defaults",
        ],
        "DPMSolverMultistepScheduler": [
            "sd15", "sdxl_turbo", "linear_linspace", "cosine_leading", "zero_snr_trailing_v", "sd15_karras",
            "class_defaults",
        ],
    }
    for cname, cfg_names in plan.items():
        cls = sched_classes[cname]
        for cfg_name in cfg_names:
            cfg = configs[cfg_name]
            try:
                s = make(cls, cfg)
            except Exception as e:
                recs.append({"scheduler": cname, "config": cfg_name, "error": f"{type(e).__name__}: {e}"})
                continue
            configs_out.setdefault(cfg_name, {"input": jsonable(cfg), "effective": {}})
            configs_out[cfg_name]["effective"][cname] = effective_config(s)
            ntrain = s.config.num_train_timesteps
            for T in STEPS:
                if T > ntrain or (T == 50 and cfg_name not in FULL_CONFIGS and ntrain != 50):
                    continue
                s = make(cls, cfg)
                rec = {"scheduler": cname, "config": cfg_name, "num_inference_steps": T}
                try:
                    s.set_timesteps(T)
                except Exception as e:
                    rec["error"] = f"{type(e).__name__}: {e}"
                    recs.append(rec)
                    continue
                rec["timesteps"] = arr(s.timesteps)
                rec["timesteps_dtype"] = str(s.timesteps.dtype).replace("torch.", "")
                ac = s.alphas_cumprod
                if cname == "DDIMScheduler":
                    ratio = ntrain // T
                    prev = [int(t) - ratio for t in s.timesteps]
                    rec["step_ratio"] = ratio
                    rec["alphas_cumprod_t"] = [num(ac[int(t)]) for t in s.timesteps]
                    rec["prev_timesteps"] = prev
                    rec["alphas_cumprod_prev"] = [num(ac[p]) if p >= 0 else num(s.final_alpha_cumprod) for p in prev]
                    rec["final_alpha_cumprod"] = num(s.final_alpha_cumprod)
                    rec["init_noise_sigma"] = num(s.init_noise_sigma)
                elif cname == "DDIMInverseScheduler":
                    ratio = ntrain // T
                    src = [min(int(t) - ratio, ntrain - 1) for t in s.timesteps]
                    rec["step_ratio"] = ratio
                    rec["source_timesteps"] = src
                    rec["alphas_cumprod_source"] = [
                        num(ac[p]) if p >= 0 else num(s.initial_alpha_cumprod) for p in src
                    ]
                    rec["alphas_cumprod_t"] = [num(ac[int(t)]) for t in s.timesteps]
                    rec["initial_alpha_cumprod"] = num(s.initial_alpha_cumprod)
                else:
                    rec["sigmas"] = arr(s.sigmas)
                    rec["init_noise_sigma"] = num(s.init_noise_sigma)
                    if cname == "DPMSolverMultistepScheduler":
                        rec["final_sigmas_type"] = s.config.final_sigmas_type
                        rec["lower_order_final"] = s.config.lower_order_final
                        rec["euler_at_final"] = s.config.euler_at_final
                recs.append(rec)
    return {"configs": configs_out, "records": recs}


def alphas_cumprod_reference(D, configs) -> dict:
    out = {}
    for cfg_name in ["sd15", "linear_linspace", "cosine_leading", "trained_betas_50", "zero_snr_trailing_v"]:
        s = make(D.DDIMScheduler, configs[cfg_name])
        ac = s.alphas_cumprod
        rec = {
            "config": cfg_name,
            "dtype": str(ac.dtype).replace("torch.", ""),
            "length": len(ac),
            "sum": num(ac.to(torch.float64).sum()),
            "betas_sum": num(s.betas.to(torch.float64).sum()),
        }
        if cfg_name in ("sd15", "trained_betas_50", "zero_snr_trailing_v"):
            rec["alphas_cumprod"] = arr(ac)
        else:
            idx = [0, 1, 2, 10, 100, 250, 500, 750, 998, 999]
            rec["entries"] = {str(i): num(ac[i]) for i in idx}
        if cfg_name == "sd15":
            rec["betas"] = arr(s.betas)
            rec["betas_note"] = (
                "torch.linspace(sqrt(beta_start), sqrt(beta_end), 1000, dtype=float32) ** 2. torch's float32 "
                "linspace is vectorised (CPU-capability- and build-dependent rounding, about 1 ulp); torch.cumprod "
                "on CPU accumulates in float64 and rounds each prefix product to float32: with these betas, "
                "alphas_cumprod[i] = fround(prod_{k<=i} fround(1 - betas[k])) (product in float64) is exact."
            )
            # the same quantity in float64 throughout, to show how far diffusers' float32 path is from it
            b = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
            ac64 = np.cumprod(1 - b)
            rel = np.abs(ac.to(torch.float64).numpy() - ac64) / ac64
            rec["float64_reference_note"] = (
                "betas = linspace(sqrt(0.00085), sqrt(0.012), 1000)^2 and cumprod computed in float64 instead"
            )
            rec["float64_max_rel_diff"] = num(rel.max())
            rec["float64_rel_diff_at"] = {str(i): num(rel[i]) for i in [0, 499, 999]}
        if cfg_name == "zero_snr_trailing_v":
            e = make(D.EulerDiscreteScheduler, configs[cfg_name])
            rec["euler_alphas_cumprod_last"] = num(e.alphas_cumprod[-1])
            rec["euler_sigma_max"] = num(e.sigmas.max())
            rec["note"] = (
                "rescale_betas_zero_snr makes alphas_cumprod[-1] exactly 0 (DDIM keeps it: beta[-1] = 1); "
                "Euler/EulerAncestral/DPM overwrite alphas_cumprod[-1] = 2**-24 so the largest sigma is finite."
            )
        out[cfg_name] = rec
    return out


# --------------------------------------------------------------------------------------------------
# Trajectories
# --------------------------------------------------------------------------------------------------


def run_loop(D, cls_name, cfg, T, *, noise_seed=1, step_kwargs=None, variance_noise_seed=None,
             ancestral_noise_seed=None, start=None):
    """The ordinary diffusers loop; returns a JSON record."""
    cls = getattr(D, cls_name)
    s = make(cls, cfg)
    s.set_timesteps(T)
    step_kwargs = dict(step_kwargs or {})
    mod = sys.modules[cls.__module__]
    noise = noise_tensor(noise_seed)
    rec = {
        "scheduler": cls_name,
        "config_input": jsonable(cfg),
        "config_effective": effective_config(s),
        "num_inference_steps": T,
        "step_kwargs": jsonable(step_kwargs),
        "shape": SHAPE,
        "timesteps": arr(s.timesteps),
    }
    if hasattr(s, "sigmas") and cls_name not in ("DDIMScheduler",):
        rec["sigmas"] = arr(s.sigmas)
    init_sigma = s.init_noise_sigma
    rec["init_noise_sigma"] = num(init_sigma)
    if start is None:
        latent = noise * init_sigma
        rec["noise"] = arr(noise)
        rec["noise_seed"] = noise_seed
        rec["latent_init_note"] = "latent_init = noise * init_noise_sigma (as the diffusers pipelines do)"
    else:
        latent = start.clone()
    rec["latent_init"] = arr(latent)

    # stored randomness
    anc_rng = np.random.default_rng(ancestral_noise_seed) if ancestral_noise_seed is not None else None
    var_rng = np.random.default_rng(variance_noise_seed) if variance_noise_seed is not None else None
    drawn = []

    def fake_randn(shape, generator=None, device=None, dtype=None, layout=None):
        if anc_rng is None:
            raise RandnNotPatched("unexpected randn_tensor call")
        z = torch.from_numpy(anc_rng.standard_normal(int(np.prod(shape)))).to(torch.float64).reshape(shape)
        drawn.append(z)
        return z.to(dtype) if dtype is not None else z

    mod.randn_tensor = fake_randn

    # DPM: which update was used per step
    used = []
    if cls_name == "DPMSolverMultistepScheduler":
        for meth in ("dpm_solver_first_order_update", "multistep_dpm_solver_second_order_update",
                     "multistep_dpm_solver_third_order_update"):
            orig = getattr(s, meth)

            def wrapped(*a, __orig=orig, __name=meth, **k):
                used.append(__name)
                return __orig(*a, **k)

            setattr(s, meth, wrapped)
    if cls_name == "DDIMScheduler":
        s.alphas_cumprod = LoggedSeq(s.alphas_cumprod)

    calls = []
    for i, t in enumerate(s.timesteps):
        call = {"i": i, "t": num(t)}
        if hasattr(s, "step_index"):
            call["step_index_before"] = s.step_index
        if cls_name == "HeunDiscreteScheduler":
            call["heun_stage"] = "first" if s.state_in_first_order else "second"
        x_in = s.scale_model_input(latent, t)
        if cls_name == "DPMSolverMultistepScheduler":
            call["sigma"] = num(s.sigmas[i])  # DPM's step_index is set by step(); it equals i here
        elif hasattr(s, "step_index"):
            call["sigma"] = num(s.sigmas[s.step_index])
        out = model_fn(x_in, t)
        kw = dict(step_kwargs)
        if var_rng is not None:
            vn = torch.from_numpy(var_rng.standard_normal(N)).to(torch.float64).reshape(SHAPE)
            kw["variance_noise"] = vn
            call["variance_noise"] = arr(vn)
        n_drawn = len(drawn)
        n_used = len(used)
        if cls_name == "DDIMScheduler":
            s.alphas_cumprod.log.clear()
        res = s.step(out, t, latent, **kw)
        call["x_in"] = arr(x_in)
        call["model_out"] = arr(out)
        if getattr(res, "pred_original_sample", None) is not None:
            call["pred_original_sample"] = arr(res.pred_original_sample)
        if len(drawn) > n_drawn:
            call["ancestral_noise"] = arr(drawn[-1])
        if len(used) > n_used:
            call["dpm_update"] = used[-1].replace("multistep_dpm_solver_", "").replace("dpm_solver_", "")
        if cls_name == "DDIMScheduler":
            ratio = s.config.num_train_timesteps // s.num_inference_steps
            prev_t = int(t) - ratio
            idx = s.alphas_cumprod.log
            call["prev_timestep"] = prev_t
            call["alpha_indices_read"] = list(idx)
            call["alpha_prod_t"] = num(s.alphas_cumprod.base[int(t)])
            call["alpha_prod_t_prev"] = num(
                s.alphas_cumprod.base[prev_t] if prev_t >= 0 else s.final_alpha_cumprod
            )
        latent = res.prev_sample
        call["latent_after"] = arr(latent)
        calls.append(call)
    rec["calls"] = calls
    rec["final"] = arr(latent)
    mod.randn_tensor = _randn_unpatched
    return rec


def ddim_trajectories(D, configs) -> list:
    sd15 = configs["sd15"]
    cases = []

    def add(name, cfg, T, **kw):
        r = run_loop(D, "DDIMScheduler", cfg, T, **kw)
        cases.append({"name": name, **r})

    add("ddim_sd15_eps_T10", sd15, 10)
    add("ddim_sd15_eps_T50", sd15, 50)
    add("ddim_sd15_v_T10", {**sd15, "prediction_type": "v_prediction"}, 10)
    add("ddim_sd15_sample_T10", {**sd15, "prediction_type": "sample"}, 10)
    add("ddim_sd15_eta0.5_T10", sd15, 10, step_kwargs={"eta": 0.5}, variance_noise_seed=11)
    add("ddim_sd15_alpha_one_T10", configs["sd15_alpha_one"], 10)
    add("ddim_sd15_offset0_T10", configs["sd15_offset0"], 10)
    add("ddim_sd15_clip0.5_T10", {**sd15, "clip_sample": True, "clip_sample_range": 0.5}, 10)
    add(
        "ddim_sd15_threshold_T10",
        {**sd15, "thresholding": True, "dynamic_thresholding_ratio": 0.9, "sample_max_value": 1.5},
        10,
    )
    add("ddim_sdxl_turbo_eps_T4", configs["sdxl_turbo"], 4)
    add("ddim_linear_linspace_eps_T7", configs["linear_linspace"], 7)
    add("ddim_zero_snr_trailing_v_T10", configs["zero_snr_trailing_v"], 10)
    add("ddim_trained_betas_eps_T10", configs["trained_betas_50"], 10)
    add("ddim_class_defaults_eps_T10", {}, 10)
    return cases


def inverse_trajectory(D, cfg, T, start):
    s = make(D.DDIMInverseScheduler, cfg)
    s.set_timesteps(T)
    base = s.alphas_cumprod
    s.alphas_cumprod = LoggedSeq(base)
    latent = start.clone()
    rec = {
        "scheduler": "DDIMInverseScheduler",
        "config_input": jsonable(cfg),
        "config_effective": effective_config(s),
        "num_inference_steps": T,
        "shape": SHAPE,
        "timesteps": arr(s.timesteps),
        "initial_alpha_cumprod": num(s.initial_alpha_cumprod),
        "latent_init": arr(latent),
        "loop": "for t in inverse.timesteps: out = model(latent, t); latent = inverse.step(out, t, latent).prev_sample",
    }
    ntrain = s.config.num_train_timesteps
    ratio = ntrain // T
    calls = []
    for i, t in enumerate(s.timesteps):
        x_in = s.scale_model_input(latent, t)
        out = model_fn(x_in, t)
        s.alphas_cumprod.log.clear()
        res = s.step(out, t, latent)
        src = min(int(t) - ratio, ntrain - 1)
        log = list(s.alphas_cumprod.log)
        # code path: alpha_prod_t = alphas_cumprod[src] if src >= 0 else initial_alpha_cumprod,
        #            alpha_prod_t_prev = alphas_cumprod[t]   (the destination)
        assert log == ([src, int(t)] if src >= 0 else [int(t)]), (log, src, int(t))
        calls.append({
            "i": i,
            "t": num(t),
            "x_in": arr(x_in),
            "model_out": arr(out),
            "source_index": src if src >= 0 else None,
            "alpha_source": num(base[src] if src >= 0 else s.initial_alpha_cumprod),
            "destination_index": int(t),
            "alpha_destination": num(base[int(t)]),
            "alpha_indices_read": log,
            "pred_original_sample": arr(res.pred_original_sample),
            "latent_after": arr(res.prev_sample),
        })
        latent = res.prev_sample
    rec["calls"] = calls
    rec["final"] = arr(latent)
    return rec


def inverse_trajectories(D, configs) -> list:
    start = noise_tensor(5) * 0.6  # a "clean" latent to invert
    cases = []
    for name, cfg, T in [
        ("ddim_inverse_sd15_eps_T10", configs["sd15"], 10),
        ("ddim_inverse_sd15_alpha_one_T10", configs["sd15_alpha_one"], 10),
        ("ddim_inverse_sd15_v_T10", {**configs["sd15"], "prediction_type": "v_prediction"}, 10),
        ("ddim_inverse_sdxl_turbo_eps_T4", configs["sdxl_turbo"], 4),
        ("ddim_inverse_class_defaults_T10", {}, 10),
    ]:
        cases.append({"name": name, **inverse_trajectory(D, cfg, T, start)})
    return cases


def k_trajectories(D, configs) -> list:
    sd15, turbo = configs["sd15"], configs["sdxl_turbo"]
    lin = configs["linear_linspace"]
    cases = []

    def add(name, cls, cfg, T, **kw):
        cases.append({"name": name, **run_loop(D, cls, cfg, T, **kw)})

    E, H, A = "EulerDiscreteScheduler", "HeunDiscreteScheduler", "EulerAncestralDiscreteScheduler"
    add("euler_sd15_eps_T10", E, sd15, 10)
    add("euler_sd15_v_T10", E, {**sd15, "prediction_type": "v_prediction"}, 10)
    add("euler_sd15_karras_eps_T10", E, configs["sd15_karras"], 10)
    add("euler_linear_linspace_eps_T7", E, lin, 7)
    add("euler_sdxl_turbo_eps_T4", E, turbo, 4)
    add("euler_zero_snr_trailing_v_T10", E, configs["zero_snr_trailing_v"], 10)
    add("heun_sd15_eps_T10", H, sd15, 10)
    add("heun_linear_linspace_eps_T4", H, lin, 4)
    add("heun_sd15_v_T4", H, {**sd15, "prediction_type": "v_prediction"}, 4)
    add("euler_ancestral_sdxl_turbo_eps_T4", A, turbo, 4, ancestral_noise_seed=21)
    add("euler_ancestral_sd15_eps_T10", A, sd15, 10, ancestral_noise_seed=22)
    add("euler_ancestral_linear_linspace_v_T7", A, {**lin, "prediction_type": "v_prediction"}, 7,
        ancestral_noise_seed=23)
    return cases


def dpm_trajectories(D, configs) -> list:
    sd15 = configs["sd15"]
    base = {"algorithm_type": "dpmsolver++", "solver_order": 2}
    cases = []

    def add(name, cfg, T):
        cases.append({"name": name, **run_loop(D, "DPMSolverMultistepScheduler", {**cfg, **base}, T)})

    add("dpmpp2m_sd15_eps_T10", sd15, 10)
    add("dpmpp2m_sd15_eps_T20", sd15, 20)  # >= 15 steps: lower_order_second no longer applies
    add("dpmpp2m_sd15_v_T10", {**sd15, "prediction_type": "v_prediction"}, 10)
    add("dpmpp2m_sd15_karras_T10", configs["sd15_karras"], 10)
    add("dpmpp2m_linear_linspace_T7", configs["linear_linspace"], 7)
    add("dpmpp2m_sdxl_turbo_T4", configs["sdxl_turbo"], 4)
    # final_sigmas_type "zero" always forces a first-order last step; with "sigma_min" it is second order
    # unless euler_at_final (or lower_order_final with < 15 steps) asks for first order.
    add("dpmpp2m_sd15_sigma_min_T20", {**sd15, "final_sigmas_type": "sigma_min"}, 20)
    add("dpmpp2m_sd15_sigma_min_euler_at_final_T20",
        {**sd15, "final_sigmas_type": "sigma_min", "euler_at_final": True}, 20)
    return cases


def official_w2sd_facts(D, configs) -> dict:
    """DDIM (sd15, T=50) and what DDIMInverseScheduler.step(eps, timesteps[i+1], x) does."""
    cfg = configs["sd15"]
    T = 50
    ddim = make(D.DDIMScheduler, cfg)
    ddim.set_timesteps(T)
    inv = D.DDIMInverseScheduler.from_config(ddim.config)
    inv.set_timesteps(T)
    base = inv.alphas_cumprod
    inv.alphas_cumprod = LoggedSeq(base)
    ts = [int(t) for t in ddim.timesteps]
    x = noise_tensor(7)
    eps = noise_tensor(8) * 0.5
    probes = []
    for i in [0, 1, 24, 47, 48]:
        tau = ts[i + 1]
        inv.alphas_cumprod.log.clear()
        out = inv.step(eps, torch.tensor(tau), x).prev_sample
        src = tau - 1000 // T
        probes.append({
            "i": i,
            "timestep_i": ts[i],
            "tau": tau,
            "source_index": src if src >= 0 else None,
            "alpha_source": num(base[src] if src >= 0 else inv.initial_alpha_cumprod),
            "destination_index": tau,
            "alpha_destination": num(base[tau]),
            "alpha_indices_read": list(inv.alphas_cumprod.log),
            "x": arr(x),
            "eps": arr(eps),
            "out": arr(out),
        })
    return {
        "description": (
            "The official W2SD code inverts with a diffusers (>= 0.22) DDIMInverseScheduler built from the DDIM "
            "scheduler's config and calls inverse.step(eps, timesteps[i + 1], x) after the DDIM step "
            "timesteps[i] -> timesteps[i + 1]. DDIMInverseScheduler.step(out, tau, x) maps from "
            "alpha_source = alphas_cumprod[tau - N // T] (initial_alpha_cumprod when negative) to "
            "alpha_destination = alphas_cumprod[tau], i.e. from one index *below* tau up to tau, not from "
            "timesteps[i + 1] up to timesteps[i]. The probes call it on a fixed x and eps (epsilon "
            "prediction, clip_sample false) and record the output."
        ),
        "config_input": jsonable(cfg),
        "inverse_config_effective": effective_config(inv),
        "num_inference_steps": T,
        "ddim_timesteps": ts,
        "inverse_timesteps": arr(inv.timesteps),
        "initial_alpha_cumprod": num(inv.initial_alpha_cumprod),
        "final_alpha_cumprod": num(ddim.final_alpha_cumprod),
        "probes": probes,
    }


def official_w2sd_variants(D, configs) -> dict:
    """The official inverse call for prediction types and spacings beyond official_w2sd_facts, with clipping.

    For each case a DDIMScheduler is built from the config, DDIMInverseScheduler.from_config(ddim.config), and
    inverse.step(out, timesteps[i + 1], x) is recorded for a few i, where `out` is the raw network output
    (epsilon, v or x0 by prediction_type). Inputs are scaled so that clip_sample, where on, is active.
    linspace spacing is recorded as the error DDIMInverseScheduler raises.
    """
    sd15 = configs["sd15"]
    cases_in = [
        ("v_prediction_leading_T50", {**sd15, "prediction_type": "v_prediction"}, 50, [0, 24, 48], 1.0),
        ("epsilon_trailing_T20", {**sd15, "timestep_spacing": "trailing"}, 20, [0, 9, 18], 1.0),
        ("v_prediction_trailing_T10", {**sd15, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}, 10, [0, 4, 8], 1.0),
        ("sample_leading_T25", {**sd15, "prediction_type": "sample"}, 25, [0, 12, 23], 1.0),
        ("epsilon_leading_clip_T20", {**sd15, "clip_sample": True, "clip_sample_range": 1.0}, 20, [0, 10, 18], 3.0),
        ("v_prediction_trailing_clip_T10",
         {**sd15, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "clip_sample": True, "clip_sample_range": 0.5},
         10, [0, 4, 8], 3.0),
        ("epsilon_leading_thresholding_clip_T20",
         {**sd15, "thresholding": True, "clip_sample": True, "clip_sample_range": 1.0}, 20, [0, 10, 18], 3.0),
    ]
    cases = []
    for name, cfg, T, idx, scale in cases_in:
        ddim = make(D.DDIMScheduler, cfg)
        ddim.set_timesteps(T)
        inv = D.DDIMInverseScheduler.from_config(ddim.config)
        inv.set_timesteps(T)
        ts = [int(t) for t in ddim.timesteps]
        x = noise_tensor(11) * scale
        out = noise_tensor(12) * (0.5 * scale)
        probes = []
        for i in idx:
            tau = ts[i + 1]
            res = inv.step(out, torch.tensor(tau), x).prev_sample
            probes.append({"i": i, "timestep_i": ts[i], "tau": tau, "x": arr(x), "model_output": arr(out), "out": arr(res)})
        cases.append({
            "name": name,
            "config_input": jsonable(cfg),
            "inverse_config_effective": effective_config(inv),
            "num_inference_steps": T,
            "ddim_timesteps": ts,
            "initial_alpha_cumprod": num(inv.initial_alpha_cumprod),
            "probes": probes,
        })
    linspace = make(D.DDIMScheduler, {**sd15, "timestep_spacing": "linspace"})
    try:
        D.DDIMInverseScheduler.from_config(linspace.config).set_timesteps(20)
        linspace_error = None
    except ValueError as e:
        linspace_error = str(e)
    return {
        "description": (
            "DDIMInverseScheduler.step(model_output, timesteps[i + 1], x) of the official W2SD call for "
            "v_prediction, sample prediction, trailing spacing and clip_sample (the inverse scheduler has no "
            "thresholding: a thresholding config only clips). model_output is the raw network output; x the "
            "latent x_t. linspace_error: what DDIMInverseScheduler raises for timestep_spacing linspace."
        ),
        "cases": cases,
        "linspace_error": linspace_error,
    }


# --------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--diffusers", required=True, type=Path, help="folder holding the diffusers package (src)")
    ap.add_argument("--commit", default=None, help="diffusers commit to record (default: git rev-parse)")
    ap.add_argument("--only", choices=["official-variants"], default=None,
                    help="write only this fixture (official-variants: official_w2sd_variants.json)")
    args = ap.parse_args()
    import logging as _logging

    _logging.getLogger("diffusers").setLevel(_logging.ERROR)  # "config attributes ... will be ignored"
    D = load_diffusers(args.diffusers.resolve())
    for modname in ("scheduling_ddim", "scheduling_ddim_inverse", "scheduling_euler_discrete",
                    "scheduling_heun_discrete", "scheduling_euler_ancestral_discrete",
                    "scheduling_dpmsolver_multistep"):
        importlib.import_module(f"diffusers.schedulers.{modname}")
    configs = load_configs()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    meta = {
        "generator": "tools/reference/diffusers_schedulers.py",
        "command": "/usr/bin/python3 tools/reference/diffusers_schedulers.py --diffusers <diffusers checkout>/src",
        "diffusers_version": D.__version__,
        "diffusers_commit": args.commit or git_commit(args.diffusers.resolve()),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "number_format": "float64 (JSON numbers, shortest round-trip repr); non-finite as strings",
    }
    model = {"formula": MODEL_FORMULA, "note": MODEL_NOTE, "shape": SHAPE, "n": N}
    sizes = {}
    if args.only == "official-variants":
        sizes["official_w2sd_variants.json"] = write_json(
            "official_w2sd_variants.json", {"meta": meta, **official_w2sd_variants(D, configs)})
        for k, v in sizes.items():
            print(f"{v:8d}  {OUT_DIR / k}")
        return
    sizes["schedules.json"] = write_json("schedules.json", {
        "meta": meta,
        "alphas_cumprod": alphas_cumprod_reference(D, configs),
        **schedule_records(D, configs),
    })
    sizes["trajectories_ddim.json"] = write_json(
        "trajectories_ddim.json", {"meta": meta, "model": model, "cases": ddim_trajectories(D, configs)})
    sizes["trajectories_ddim_inverse.json"] = write_json(
        "trajectories_ddim_inverse.json", {"meta": meta, "model": model, "cases": inverse_trajectories(D, configs)})
    sizes["trajectories_k.json"] = write_json(
        "trajectories_k.json", {"meta": meta, "model": model, "cases": k_trajectories(D, configs)})
    sizes["trajectories_dpm.json"] = write_json(
        "trajectories_dpm.json", {"meta": meta, "model": model, "cases": dpm_trajectories(D, configs)})
    sizes["official_w2sd.json"] = write_json(
        "official_w2sd.json", {"meta": meta, **official_w2sd_facts(D, configs)})
    sizes["official_w2sd_variants.json"] = write_json(
        "official_w2sd_variants.json", {"meta": meta, **official_w2sd_variants(D, configs)})
    for k, v in sizes.items():
        print(f"{v:8d}  {OUT_DIR / k}")
    print(f"{sum(sizes.values()):8d}  total")


if __name__ == "__main__":
    main()
