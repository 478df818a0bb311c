"""Cost of the real-data stage, printed (never asserted): building each dataset's suite
(read, gap handling, resampling, reference detection, windows) and the classical
reference methods, each as the Snakemake job runs it (``python -m physio_bench ...``),
with wall time and the process's peak resident memory.

    .venv/bin/python benchmarks/real_windows.py              # default config.yaml
    .venv/bin/python benchmarks/real_windows.py --configfile workflow/presets/quick.yaml

Run it on an idle machine: on a shared one, times are noisy.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def run(command: list[str], workdir: Path) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    subprocess.run(command, cwd=workdir, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", action="append", default=[])
    args = parser.parse_args(argv)
    from physio_bench.downstream import dataset_specs
    from physio_bench.preflight import load_config

    config = load_config(args.configfile)
    cfg = ["--configfile", *map(str, (Path(c).resolve() for c in args.configfile))] \
        if args.configfile else []
    python = [sys.executable, "-m", "physio_bench"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for spec in dataset_specs(config):
            out = workdir / "results" / "real" / spec.name
            wall, peak = run([*python, "real-windows", *cfg, "--dataset", spec.name,
                              "--out", str(out)], workdir)
            meta = json.loads((out / "meta.json").read_text())
            rows.append((f"real-windows {spec.name}", meta["n_windows"], wall, peak))
        out = workdir / "results" / "downstream"
        wall, peak = run([*python, "reference-methods", *cfg, "--results",
                          str(workdir / "results"), "--out-json", str(out / "r.json"),
                          "--out-csv", str(out / "r.csv"), "--out-predictions",
                          str(out / "r.parquet")], workdir)
        n = sum(r[1] for r in rows)
        rows.append(("reference-methods (all datasets)", n, wall, peak))
    print(f"{'job':<36} {'windows':>8} {'wall s':>8} {'peak MiB (max so far)':>22}")
    for name, windows, wall, peak in rows:
        print(f"{name:<36} {windows:>8} {wall:>8.1f} {peak:>22.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
