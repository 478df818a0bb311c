"""Cost of the three probes on default-size suites, printed (never asserted).

    .venv/bin/python benchmarks/probe_cost.py [--windows-per-kind 1000] [--dim 384]

Writes synthetic suites of the default size (32 s at 125 Hz; ``--windows-per-kind``
windows for each of five signal kinds, 10 sweep subjects per kind, 13 scenarios of about
1,000 five-channel windows) and a transformer-like embedding (``--layers`` layers of
``--dim`` dimensions whose pooled embeddings carry the factors through a random mixing,
``--tokens-per-channel`` tokens per channel on the last layer), then runs
``physio-bench probe`` for each probe in a child process and prints its wall time, CPU time
(user + system) and peak resident memory. The probes' cost does not depend on what the
embedding holds, only on its size. Timings on a shared machine are noisy: compare CPU
times.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from physio_bench.io import read_suite
from physio_bench.probes.synthetic import (
    SYNTHETIC_SCENARIOS,
    SyntheticSpec,
    patch_tokens,
    write_embeddings,
    write_synthetic_suites,
)

KINDS = {
    "ecg": [("heart_rate_bpm", 45, 150), ("heart_rate_std_bpm", 0, 6),
            ("noise_amplitude_au", 0, 0.2)],
    "ppg": [("heart_rate_bpm", 45, 150), ("noise_amplitude_au", 0, 0.2)],
    "rsp": [("resp_rate_bpm", 6, 35), ("noise_amplitude_au", 0, 0.2)],
    "eda": [("noise_amplitude_au", 0, 0.2), ("heart_rate_bpm", 45, 150)],
    "emg": [("noise_amplitude_au", 0, 0.2), ("resp_rate_bpm", 6, 35)],
}
PROBES = ("feature_independence", "temporal_dynamics", "scenario_separation")


def scenarios() -> dict[str, tuple[float, float, float, str]]:
    """The synthetic scenarios plus steady variants: 13 classes."""
    out = dict(SYNTHETIC_SCENARIOS)
    for i in range(13 - len(out)):
        out[f"steady_{i}"] = (55 + 9 * i, 55 + 9 * i, 10 + 2 * i, "steady")
    return out


def write_inputs(root: Path, args: argparse.Namespace) -> None:
    spec = SyntheticSpec(seed=1, sampling_rate_hz=125.0, window_samples=4000,
                         windows_per_kind=args.windows_per_kind, sweep_steps=12,
                         sweep_subjects=10, subjects_per_scenario=19,
                         windows_per_scenario_subject=4, kinds=KINDS, scenarios=scenarios())
    write_synthetic_suites(root, spec)
    rng = np.random.default_rng(0)
    names = [f"layer_{i}" for i in range(args.layers)]
    patch = 4000 // args.tokens_per_channel
    mix = rng.normal(size=(8, args.dim)) / np.sqrt(8)
    proj = rng.normal(size=(patch, args.dim)) / np.sqrt(patch)
    columns = sorted({c for f in KINDS.values() for c, _, _ in f})
    for suite in ("factors", "sweeps", "scenarios"):
        data = read_suite(root / "simulated" / suite)
        n = len(data.labels)
        if suite == "scenarios":
            _, index = np.unique(data.labels["scenario"], return_inverse=True)
            latent = 0.7 * rng.normal(size=(index.max() + 1, 8))[index]
        else:
            values = data.labels[columns]
            y = np.nan_to_num(((values - values.mean()) / values.std()).to_numpy(float))
            latent = np.hstack([y, rng.normal(size=(n, 8 - y.shape[1]))])
        pooled = np.stack([latent @ mix * (k + 1) / args.layers
                           + 0.5 * rng.normal(size=(n, args.dim)) for k in range(args.layers)])
        _, spans, channels = patch_tokens(data.signals[:1], patch)
        tokens = np.empty((n, len(spans), args.dim), dtype=np.float16)
        for start in range(0, n, 200):
            raw, _, _ = patch_tokens(data.signals[start:start + 200], patch)
            noise = rng.normal(size=(*raw.shape[:2], args.dim))
            tokens[start:start + 200] = raw @ proj + 0.3 * noise
        write_embeddings(root, "bench", suite, pooled, names, {names[-1]: tokens}, spans,
                         channels)


CHILD = """
import resource, sys, time
from physio_bench.cli import main
began = time.perf_counter()
code = main(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(time.perf_counter() - began, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
sys.exit(code)
"""


def run_probe(root: Path, probe: str, config: Path) -> tuple[float, float, float]:
    """Wall time (s), CPU time (s) and peak RSS (GiB) of one probe in a child process."""
    out = root / "probes"
    done = subprocess.run([sys.executable, "-c", CHILD, "probe", "--configfile", str(config),
                           "--model", "bench", "--probe", probe, "--results", str(root),
                           "--out-json", str(out / f"{probe}.json"),
                           "--out-csv", str(out / f"{probe}.csv"),
                           "--out-predictions", str(out / f"{probe}.predictions.parquet")],
                          check=True, capture_output=True, text=True)
    wall, cpu, peak_kib = (float(v) for v in done.stdout.split()[-3:])
    return wall, cpu, peak_kib / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows-per-kind", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--layers", type=int, default=7)
    parser.add_argument("--tokens-per-channel", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="probe-cost-") as folder:
        root = Path(folder)
        write_inputs(root, args)
        config = root / "config.yaml"
        config.write_text(yaml.safe_dump({"seed": 1}))
        print(f"probe cost: {args.windows_per_kind} windows per kind x 5 kinds, d={args.dim}, "
              f"{args.layers} layers, {args.tokens_per_channel} tokens per channel")
        print(f"{'probe':24s} {'wall s':>8s} {'cpu s':>8s} {'peak RSS GiB':>13s}")
        for probe in PROBES:
            wall, cpu, peak = run_probe(root, probe, config)
            print(f"{probe:24s} {wall:8.1f} {cpu:8.1f} {peak:13.2f}")


if __name__ == "__main__":
    main()
