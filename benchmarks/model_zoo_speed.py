"""Windows per second of the model-zoo plug-ins on CPU: the stage beside the bare forward.

    .venv/bin/python benchmarks/model_zoo_speed.py                 # every model, 1 and all cores
    .venv/bin/python benchmarks/model_zoo_speed.py --models tirex,ttm --windows 16

Printed, never asserted. Each model gets one-channel 32-s windows at its recommended input
rate (``default_input_hz``: the length the core's ``input_hz`` resampling hands it; Mantis,
which has none, gets the simulation rate, 125 Hz, and resizes every window to 512 samples
itself), white noise (speed does not depend on content), random weights of the published
architecture's size (the pretrained files are not on this machine; Chronos-Bolt: small,
HuBERT-ECG: small, as in config.yaml). A window longer than the model's context (PaPaGei:
10 s) is embedded in one piece, and the input column says so (the embed stage would cut it
into context-long chunks). Each model is timed with 1 torch thread and with all cores
(``os.cpu_count()``), and the 1-minute load average is read before each row (the machine is
shared: a load above the core count means the numbers are lower bounds).

Two numbers per row, same model, same windows, same batch size, same process:

* **stage**: the plug-in's ``embed`` (what the embed stage calls: input checks, packing,
  every layer's hidden states through forward hooks, copies to numpy, spans);
* **bare**: the library's own forward on inputs prepared before the clock starts (packing,
  resizing and normalisation excluded; no hooks, no copies): ``MoiraiModule``/
  ``Moirai2Module.forward`` on packed tokens (with the distribution head), TimesFM's module
  on prepared patches, TiRex's ``_forward_model``, Chronos-Bolt's and Chronos-2's
  ``encode`` (what the pipelines' ``embed()`` calls), ``MantisV1.forward`` on windows
  resized to 512 samples, HuBERT-ECG's ``HubertModel`` on scaled rows, Toto's
  ``TotoBackbone``, TTM's backbone, ``MOMENT.embed``. PaPaGei, Sundial and Timer-XL have no
  package: their bare forward is our transcription of the reference forward (PaPaGei's
  ``ResNet1DMoE.forward`` up to its ``dense`` embedding, without the MoE heads; the
  rewritten THUML decoder) on z-scored / normalised rows.

``stage/bare`` is the ratio of their throughputs (1.0: the adapter adds nothing; below 1:
the adapter's overhead). MOMENT, Toto and TTM run in their own environments (``make
plugin-envs``), where a child script builds the published configuration, writes it to a
temporary directory, loads it through the plug-in and times both. Windows/s after one
warm-up batch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WINDOW_S = 32.0

SUITE_HZ = 125.0  # config.yaml's sampling_rate_hz: the rate a plug-in without default_input_hz gets
# name -> (module, class, options): the plug-ins that run in this interpreter
MAIN_ENV: dict[str, tuple[str, str, dict[str, str]]] = {
    "moirai": ("physio_bench.models.moirai", "MoiraiModel", {}),
    "moirai2": ("physio_bench.models.moirai2", "Moirai2Model", {}),
    "timesfm": ("physio_bench.models.timesfm", "TimesFMModel", {}),
    "tirex": ("physio_bench.models.tirex", "TiRexModel", {}),
    "chronos-bolt": ("physio_bench.models.chronos", "ChronosModel", {"variant": "bolt-small"}),
    "chronos-2": ("physio_bench.models.chronos", "ChronosModel", {"variant": "chronos-2"}),
    "mantis": ("physio_bench.models.mantis", "MantisModel", {}),
    "papagei": ("physio_bench.models.papagei", "PaPaGeiModel", {}),
    "hubert-ecg": ("physio_bench.models.hubert_ecg", "HuBERTECGModel", {}),
    "sundial": ("physio_bench.models.sundial", "SundialModel", {}),
    "timer-xl": ("physio_bench.models.timer_xl", "TimerXLModel", {}),
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
import os, sys, tempfile, time, numpy as np, torch
torch.set_num_threads(THREADS)
CK = tempfile.mkdtemp() + "/ck"
torch.manual_seed(0)
SETUP
model = Model(name="speed", weights=CK, device="cpu", batch_size=BATCH)
x = np.random.default_rng(0).standard_normal((WINDOWS, 1, SAMPLES)).astype(np.float32)
load = os.getloadavg()[0]
out = model.embed(x[:BATCH], RATE)
start = time.perf_counter()
out = model.embed(x, RATE)
stage = WINDOWS / (time.perf_counter() - start)
BARE
parts = [prepare(x[i:i + BATCH]) for i in range(0, WINDOWS, BATCH)]
with torch.inference_mode():
    bare(parts[0])
    start = time.perf_counter()
    for part in parts:
        bare(part)
bare_rate = WINDOWS / (time.perf_counter() - start)
info = model.describe()
print(json.dumps({"stage": stage, "bare": bare_rate, "load": load,
                  "n_parameters": info["n_parameters"],
                  "tokens": int(out["token_spans"].shape[0])}))
"""
# The library's forward in each own environment, on inputs prepared outside the clock.
CHILD_BARE = {
    "moment": """
def prepare(w):
    return torch.from_numpy(w), torch.ones(w.shape[0], w.shape[-1])
def bare(part):
    model.model.embed(x_enc=part[0], input_mask=part[1], reduction="none")
""",
    "toto": """
def prepare(w):
    series = torch.from_numpy(w)
    return (series, torch.ones_like(series, dtype=torch.bool),
            torch.zeros_like(series, dtype=torch.int))
def bare(part):
    model.backbone(*part)
""",
    "ttm": """
def prepare(w):
    values = torch.from_numpy(np.ascontiguousarray(w.transpose(0, 2, 1)))
    return values, torch.ones_like(values)
def bare(part):
    model.model.backbone(part[0], past_observed_mask=part[1])
""",
}
DEFAULT_HZ = {"moment": 16.0, "toto": 128.0, "ttm": 16.0}
# The adapter kit, loaded by path as the subprocess worker does (physio_bench.models.worker)
KIT_LOADER = f"""
import importlib.util, sys
_spec = importlib.util.spec_from_file_location(
    "physio_bench_kit", {str(REPO / "src" / "physio_bench_kit" / "__init__.py")!r})
_kit = importlib.util.module_from_spec(_spec)
sys.modules["physio_bench_kit"] = _kit
_spec.loader.exec_module(_kit)
"""


def bare_forward(name: str, model: object, x: np.ndarray) -> tuple:
    """``(prepare, forward)`` for the library's own forward of ``model`` (see the module
    docstring); ``prepare`` runs before the clock starts."""
    import torch

    if name == "moirai":
        from physio_bench.models.moirai import pack_windows

        module = model.module
        return (lambda w: pack_windows(w, model.patch_size, max(module.patch_sizes)).as_kwargs(),
                lambda kwargs: module(**kwargs))
    if name == "moirai2":
        from physio_bench.models.moirai import pack_windows
        from physio_bench.models.moirai2 import module_kwargs

        module = model.module
        patch = int(module.patch_size)
        return (lambda w: module_kwargs(pack_windows(w, patch, patch)),
                lambda kwargs: module(**kwargs, training_mode=False))
    if name == "timesfm":
        from physio_bench.models.timesfm import prepare_series

        return (lambda w: prepare_series(torch.from_numpy(w.reshape(-1, w.shape[-1])),
                                         model.patch_size),
                lambda part: model.module(*part))
    if name == "tirex":
        tirex = model.model
        return (lambda w: tirex._prepare_context_for_embedding(
                    torch.from_numpy(w.reshape(-1, w.shape[-1])), None)[0],
                lambda embeds: tirex._forward_model(embeds, return_all_hidden=True))

    def rows(w: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(w.reshape(-1, w.shape[-1]))

    if name in ("chronos-bolt", "chronos-2"):
        def encode_kwargs(w: np.ndarray) -> dict:
            if name == "chronos-bolt":
                return {"context": rows(w)}
            # Chronos-2 as the plug-in calls it: one group per window, one future patch
            return {"context": rows(w), "num_output_patches": 1,
                    "group_ids": torch.arange(len(w)).repeat_interleave(w.shape[1])}

        return encode_kwargs, lambda kwargs: model.model.encode(**kwargs)
    if name == "mantis":
        from physio_bench.models.mantis import resample

        return (lambda w: torch.from_numpy(resample(w.reshape(-1, 1, w.shape[-1]),
                                                    model.seq_len)),
                lambda series: model.network(series))
    if name == "papagei":
        from physio_bench.models.papagei import STD_FLOOR
        from physio_bench.models.univariate import standardise

        net = model.network

        def papagei(h: torch.Tensor) -> torch.Tensor:  # reference forward, up to ``dense``
            h = torch.relu(net.first_block_bn(net.first_block_conv(h)))
            for block in net.basicblock_list:
                h = block(h)
            return net.dense(torch.relu(net.final_bn(h)).mean(-1))

        return lambda w: standardise(rows(w), STD_FLOOR)[:, None], papagei
    if name == "hubert-ecg":
        from physio_bench.models.hubert_ecg import scale_leads

        return lambda w: scale_leads(rows(w)), lambda scaled: model.network(scaled)
    if name in ("sundial", "timer-xl"):
        return (lambda w: network_input(model, rows(w)),
                lambda series: model.network(series))
    raise KeyError(name)


def network_input(model: Any, rows: Any) -> Any:
    """What ``model.hidden_states(rows)`` hands its ``network`` (Sundial's and Timer-XL's
    normalisation and padding): the call with the network swapped for the identity."""
    network, model.network = model.network, lambda series: series
    try:
        return model.hidden_states(rows)
    finally:
        model.network = network


def main_env(name: str, windows: int, batch: int, threads: list[int]) -> list[dict]:
    import importlib

    import torch

    module, cls, options = MAIN_ENV[name]
    factory = getattr(importlib.import_module(module), cls)
    model = factory(name=name, seed=0, weights="random", device="cpu", batch_size=batch,
                    progress=False, **options)
    info = model.describe()
    rate = float(info.default_input_hz or SUITE_HZ)
    samples = round(WINDOW_S * rate)
    context = info.max_window_samples
    note = (f", one piece over its {context}-sample context" if context and samples > context
            else "")
    x = np.random.default_rng(0).standard_normal((windows, 1, samples)).astype(np.float32)
    prepare, forward = bare_forward(name, model, x)
    parts = [prepare(x[i:i + batch]) for i in range(0, windows, batch)]
    rows = []
    for count in threads:
        torch.set_num_threads(count)
        load = os.getloadavg()[0]
        out = model.embed(x[:batch], rate)
        start = time.perf_counter()
        out = model.embed(x, rate)
        stage = windows / (time.perf_counter() - start)
        with torch.inference_mode():
            forward(parts[0])
            start = time.perf_counter()
            for part in parts:
                forward(part)
        bare = windows / (time.perf_counter() - start)
        rows.append({"threads": count, "load": load, "stage": stage, "bare": bare,
                     "n_parameters": model.describe().n_parameters,
                     "tokens": int(out.token_spans.shape[0]), "rate_hz": rate,
                     "samples": samples, "note": note})
    return rows


def own_env(name: str, windows: int, batch: int, threads: list[int]) -> list[dict]:
    python = REPO / "plugins" / f"physio-bench-{name}" / ".venv" / "bin" / "python"
    if not python.exists():
        return [{"error": "environment not built (make plugin-envs)"}]
    rate = DEFAULT_HZ[name]
    samples = round(WINDOW_S * rate)
    rows = []
    for count in threads:
        script = "import json\n" + KIT_LOADER + CHILD_RUN.replace(
            "SETUP", CHILD_SETUP[name]).replace(
            "BARE", CHILD_BARE[name]).replace("THREADS", str(count)).replace(
            "BATCH", str(batch)).replace("WINDOWS", str(windows)).replace(
            "SAMPLES", str(samples)).replace("RATE", str(rate))
        done = subprocess.run([str(python), "-W", "ignore", "-c", script], capture_output=True,
                              text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        if done.returncode != 0:
            return [{"error": done.stderr.strip().splitlines()[-1]}]
        rows.append({**json.loads(done.stdout.strip().splitlines()[-1]), "threads": count,
                     "rate_hz": rate, "samples": samples})
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join([*MAIN_ENV, *CHILD_SETUP]))
    parser.add_argument("--windows", type=int, default=16, help="windows timed per model")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}",
                        help="torch thread counts, comma-separated (default: 1 and all cores)")
    args = parser.parse_args(argv)
    threads = [int(value) for value in args.threads.split(",")]
    print(f"CPU ({os.cpu_count()} cores), one-channel {WINDOW_S:g}-s windows at each model's "
          f"default_input_hz ({SUITE_HZ:g} Hz without one), random weights of the published "
          f"size, {args.windows} windows, batch {args.batch}; load = 1-min load average "
          f"before the row")
    print("| model | input | tokens | parameters | threads | load | stage windows/s | "
          "bare forward windows/s | stage/bare |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        if name in MAIN_ENV:
            rows = main_env(name, args.windows, args.batch, threads)
        else:
            rows = own_env(name, args.windows, args.batch, threads)
        for row in rows:
            if "error" in row:
                print(f"| {name} | {row['error']} |")
                continue
            print(f"| {name} | {row['samples']} @ {row['rate_hz']:g} Hz{row.get('note', '')} | "
                  f"{row['tokens']} | "
                  f"{row['n_parameters']:,} | {row['threads']} | {row['load']:.1f} | "
                  f"{row['stage']:.2f} | {row['bare']:.2f} | {row['stage'] / row['bare']:.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
