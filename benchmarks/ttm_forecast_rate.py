"""TTM-R2's zero-shot forecast against its input rate, beside seasonal naive and its twin.

    .venv/bin/python benchmarks/ttm_forecast_rate.py                      # study subset
    .venv/bin/python benchmarks/ttm_forecast_rate.py --suite results/real/bidmc \\
        --suite results/real/mitdb --rates 16 --max-windows 200

Printed (never asserted), one row per suite, signal kind (real suites: channel) and input
rate. Each window (32 s) is resampled from the suite's rate to the input rate with the
embed stage's anti-aliasing filter (:func:`physio_bench.models.resampling.resample`); its
last ``H = min(96, n // 4)`` samples are the target and the samples before it the context
(TTM reads at most the last 512). Forecasts: TTM-R2 (the shipped weights, through the
``ttm`` plug-in's ``forecast``, i.e. its own head), its untrained twin (seed 0), and
seasonal naive (the context's last period repeated; the period is the lag of the highest
autocorrelation of the context between 0.25 s and half the context). Per window:
Pearson correlation of forecast and target (``corr``; a flat forecast counts 0) and mean
absolute error. Reported: the median correlation and MASE-like skill
``1 - sum(MAE model) / sum(MAE naive)`` over windows (> 0: better than seasonal naive).
The default input rate is chosen on simulated windows only (docs/models.md); real suites
are for reporting.

Default suite: ``results/sensitivity/simulated/factors`` (the sensitivity study's subset
of the factors suite: ``sensitivity.windows_per_group`` windows per kind).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from physio_bench.io import read_suite  # noqa: E402
from physio_bench.models.external import TTMModel  # noqa: E402
from physio_bench.models.resampling import rate_ratio, resample  # noqa: E402

HEAD = 96
CONTEXT = 512
WEIGHTS = "physio_bench:data/weights/ttm-r2"


def seasonal_naive(context: np.ndarray, horizon: int, rate_hz: float) -> np.ndarray:
    """Repeat the last period of each row of ``context`` (windows x samples)."""
    out = np.empty((context.shape[0], horizon), dtype=np.float32)
    for i, row in enumerate(context):
        x = row - row.mean()
        n = x.size
        low, high = max(1, round(0.25 * rate_hz)), max(2, n // 2)
        if high <= low or not np.any(x):
            out[i] = row[-1]
            continue
        spectrum = np.fft.rfft(x, 2 * n)
        acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
        lag = low + int(np.argmax(acf[low:high] / (n - np.arange(low, high))))
        period = row[-lag:]
        out[i] = np.resize(period, horizon)
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation (0 where either row is constant)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(denominator > 0, (a * b).sum(axis=1) / np.where(denominator > 0,
                                                                      denominator, 1), 0.0)


def groups(suite: Path, max_windows: int) -> dict[str, np.ndarray]:
    """Window indices per signal kind (simulated) or per channel (real suites)."""
    labels = pd.read_parquet(suite / "labels.parquet")
    column = "channel" if "channel" in labels else "signal_kind"
    out = {}
    for name, rows in labels.groupby(column, sort=False).groups.items():
        if str(name) in ("eda", "emg", "multi"):
            continue  # no period to continue: heart and breathing signals only
        out[str(name)] = np.asarray(rows)[:max_windows]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", action="append", type=Path,
                        help="suite folder (repeatable); default: the sensitivity subset")
    parser.add_argument("--rates", default="4,8,16,25,32,50", help="input rates, Hz")
    parser.add_argument("--max-windows", type=int, default=100, help="per kind or channel")
    parser.add_argument("--out", type=Path, help="also write the table as CSV")
    args = parser.parse_args()
    suites = args.suite or [REPO / "results" / "sensitivity" / "simulated" / "factors"]
    rates = [float(r) for r in args.rates.split(",")]
    began = time.process_time()
    rows = []
    with TTMModel(name="ttm-r2", weights=WEIGHTS) as ttm, \
            TTMModel(name="ttm-r2-untrained", seed=0, weights="random", config=WEIGHTS) as twin:
        for suite in suites:
            data = read_suite(suite)
            source_hz = float(data.meta["sampling_rate_hz"])
            for name, index in groups(suite, args.max_windows).items():
                windows = np.asarray(data.signals[np.sort(index), :1], dtype=np.float32)
                for rate in rates:
                    up, down = rate_ratio(source_hz, rate)
                    x = resample(windows, up, down)[:, 0]
                    n = x.shape[1]
                    horizon = min(HEAD, n // 4)
                    context, target = x[:, :n - horizon], x[:, n - horizon:]
                    naive = seasonal_naive(context, horizon, rate)
                    mae_naive = np.abs(naive - target).mean(axis=1)
                    row = {"suite": suite.name, "kind": name, "input_hz": rate,
                           "n_windows": len(x), "context_samples": min(n - horizon, CONTEXT),
                           "horizon_samples": horizon, "horizon_s": horizon / rate,
                           "naive_corr": float(np.median(correlation(naive, target)))}
                    for label, model in (("ttm", ttm), ("twin", twin)):
                        got = model.forecast(context[:, None, :], horizon, rate)
                        forecast = got["quantiles"][:, 0, 0]
                        mae = np.abs(forecast - target).mean(axis=1)
                        row[f"{label}_corr"] = float(np.median(correlation(forecast, target)))
                        row[f"{label}_skill"] = float(1 - mae.sum() / mae_naive.sum())
                    rows.append(row)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print(f"\nCPU seconds in this process (the workers' not included): "
          f"{time.process_time() - began:.1f}", file=sys.stderr)
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
