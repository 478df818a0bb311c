"""Windows per second of the model-zoo plug-ins on CPU, printed (never asserted).

    .venv/bin/python benchmarks/model_zoo_speed.py                 # every model, 2 threads
    .venv/bin/python benchmarks/model_zoo_speed.py --models tirex,ttm --windows 16

Each model gets one-channel 32-s windows at its recommended input rate
(``default_input_hz``: the length the core's ``input_hz`` resampling will hand it), white
noise (speed does not depend on content). Weights are random, of the published
architecture's size: the pretrained files are not on this machine. Moirai 2.0, TimesFM
2.5 and TiRex run their adapters here; MOMENT, Toto and TTM run in their own environments
(``make plugin-envs``), where a child script builds the published configuration and calls
the same plug-in's ``embed`` (a checkpoint written to a temporary directory first, since
those plug-ins load checkpoints only). Reported: windows/s after one warm-up batch, the
model's parameter count, tokens per window.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WINDOW_S = 32.0

MAIN_ENV = {
    "moirai2": ("physio_bench.models.moirai2", "Moirai2Model"),
    "timesfm": ("physio_bench.models.timesfm", "TimesFMModel"),
    "tirex": ("physio_bench.models.tirex", "TiRexModel"),
}
# Published configurations, for random weights of the real size.
MOMENT_LARGE_T5 = {"d_model": 1024, "d_ff": 2816, "d_kv": 64, "num_heads": 16,
                   "num_layers": 24, "feed_forward_proj": "gated-gelu", "vocab_size": 32128,
                   "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
                   "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6, "is_encoder_decoder": True,
                   "model_type": "t5"}
CHILD_SETUP = {
    "moment": f"""
import json, torch
from momentfm import MOMENTPipeline
config = {{"task_name": "reconstruction", "model_name": "MOMENT",
  "transformer_type": "encoder_only", "d_model": None, "seq_len": 512, "patch_len": 8,
  "patch_stride_len": 8, "transformer_backbone": "google/flan-t5-large",
  "t5_config": {MOMENT_LARGE_T5!r}, "revin_affine": False,
  "add_positional_embedding": True, "value_embedding_bias": False, "orth_gain": 1.41,
  "mask_ratio": 0.3, "freeze_embedder": True, "freeze_encoder": True, "freeze_head": False,
  "enable_gradient_checkpointing": True, "randomly_initialize_backbone": False}}
MOMENTPipeline(config, model_kwargs={{"task_name": "reconstruction"}}).save_pretrained(CK)
from physio_bench_moment.model import MomentModel as Model
""",
    "toto": """
import json, pathlib, torch
from safetensors.torch import save_file
from toto.model.toto import Toto
config = {"patch_size": 64, "stride": 64, "embed_dim": 768, "num_layers": 12, "num_heads": 12,
  "mlp_hidden_dim": 3072, "dropout": 0.1, "spacewise_every_n_layers": 12,
  "spacewise_first": False, "scaler_cls": "<class 'model.scaler.CausalPatchStdMeanScaler'>",
  "output_distribution_classes": ["<class 'model.distribution.MixtureOfStudentTsOutput'>"],
  "output_distribution_kwargs": {"k_components": 24}, "use_memory_efficient_attention": False}
pathlib.Path(CK).mkdir()
json.dump(config, open(CK + "/config.json", "w"))
save_file(Toto(**config).state_dict(), CK + "/model.safetensors")
from physio_bench_toto.model import TotoModel as Model
""",
    "ttm": """
import torch
from tsfm_public.models.tinytimemixer import TinyTimeMixerConfig, TinyTimeMixerForPrediction
config = TinyTimeMixerConfig(context_length=512, patch_length=64, patch_stride=64,
  prediction_length=96, d_model=192, num_layers=2, expansion_factor=2,
  adaptive_patching_levels=3, decoder_d_model=128, decoder_num_layers=2, scaling="std")
TinyTimeMixerForPrediction(config).save_pretrained(CK)
from physio_bench_ttm.model import TTMModel as Model
""",
}
CHILD_RUN = """
import sys, tempfile, time, numpy as np, torch
torch.set_num_threads(THREADS)
CK = tempfile.mkdtemp() + "/ck"
torch.manual_seed(0)
SETUP
model = Model(name="speed", weights=CK, device="cpu", batch_size=BATCH)
x = np.random.default_rng(0).standard_normal((WINDOWS, 1, SAMPLES)).astype(np.float32)
out = model.embed(x[:BATCH], RATE)
start = time.perf_counter()
out = model.embed(x, RATE)
wall = time.perf_counter() - start
info = model.describe()
print(json.dumps({"windows_per_s": WINDOWS / wall, "n_parameters": info["n_parameters"],
                  "tokens": int(out["token_spans"].shape[0])}))
"""
DEFAULT_HZ = {"moment": 16.0, "toto": 128.0, "ttm": 16.0}


def main_env(name: str, windows: int, batch: int) -> dict:
    import importlib

    module, cls = MAIN_ENV[name]
    factory = getattr(importlib.import_module(module), cls)
    model = factory(name=name, seed=0, weights="random", device="cpu", batch_size=batch,
                    progress=False)
    rate = factory.default_input_hz
    samples = round(WINDOW_S * rate)
    x = np.random.default_rng(0).standard_normal((windows, 1, samples)).astype(np.float32)
    model.embed(x[:batch], rate)
    start = time.perf_counter()
    out = model.embed(x, rate)
    wall = time.perf_counter() - start
    return {"windows_per_s": windows / wall, "n_parameters": model.describe().n_parameters,
            "tokens": int(out.token_spans.shape[0]), "rate_hz": rate, "samples": samples}


def own_env(name: str, windows: int, batch: int, threads: int) -> dict:
    python = REPO / "plugins" / f"physio-bench-{name}" / ".venv" / "bin" / "python"
    if not python.exists():
        return {"error": "environment not built (make plugin-envs)"}
    rate = DEFAULT_HZ[name]
    samples = round(WINDOW_S * rate)
    script = "import json\n" + CHILD_RUN.replace("SETUP", CHILD_SETUP[name]).replace(
        "THREADS", str(threads)).replace("BATCH", str(batch)).replace(
        "WINDOWS", str(windows)).replace("SAMPLES", str(samples)).replace("RATE", str(rate))
    done = subprocess.run([str(python), "-W", "ignore", "-c", script], capture_output=True,
                          text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "rate_hz": rate,
            "samples": samples}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="moirai2,timesfm,tirex,moment,toto,ttm")
    parser.add_argument("--windows", type=int, default=32, help="windows timed per model")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    print(f"CPU, {args.threads} torch threads, one-channel {WINDOW_S:g}-s windows at each "
          f"model's default_input_hz, random weights of the published size")
    print(f"{'model':10} {'input':>12} {'tokens':>7} {'parameters':>12} {'windows/s':>10}")
    for name in args.models.split(","):
        if name in MAIN_ENV:
            row = main_env(name, args.windows, args.batch)
        else:
            row = own_env(name, args.windows, args.batch, args.threads)
        if "error" in row:
            print(f"{name:10} {row['error']}")
            continue
        print(f"{name:10} {row['samples']:>5} @{row['rate_hz']:>4g} Hz {row['tokens']:>7} "
              f"{row['n_parameters']:>12,} {row['windows_per_s']:>10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
