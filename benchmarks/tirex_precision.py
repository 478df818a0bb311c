"""TiRex's sLSTM recurrence in float32 (the adapter's default) against bfloat16 (the
library's own choice, ``recurrence_dtype: bfloat16``): CPU-seconds per one-channel
2,048-sample window on one thread, and the relative difference of the hidden states.

Random weights of the published size (35M), so it runs offline; prints a small table.
Usage: ``python benchmarks/tirex_precision.py [--windows 4]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    import torch

    from physio_bench.models.tirex import TiRexModel

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    t = np.arange(2048) / 64.0
    windows = (np.sin(2 * np.pi * 1.2 * t)[None, None]
               + 0.2 * rng.standard_normal((args.windows, 1, 2048))).astype(np.float32)
    print(f"load average {os.getloadavg()[0]:.1f}, {args.windows} windows, 1 thread")
    results = {}
    for precision in ("float32", "bfloat16"):
        model = TiRexModel(name=precision, weights="random", recurrence_dtype=precision,
                           progress=False)
        model.embed(windows[:1], 64.0)  # warm-up
        start = time.process_time()
        results[precision] = model.embed(windows, 64.0)
        cpu_s = (time.process_time() - start) / args.windows
        print(f"{precision:9s} CPU-s per window {cpu_s:.3f}")
    for name in ("layer_00", "layer_11", "final_norm"):
        a = results["float32"].layers[name]
        b = results["bfloat16"].layers[name]
        print(f"{name:10s} mean |diff| / mean |f32| {np.abs(a - b).mean() / np.abs(a).mean():.4f}"
              f"  max |diff| / max |f32| {np.abs(a - b).max() / np.abs(a).max():.4f}")


if __name__ == "__main__":
    main()
