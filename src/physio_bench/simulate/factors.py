"""The generating factors of each signal kind, their default ranges, and config checks.

A factor is one neurokit2 simulator argument that the ``factors`` suite draws
independently and uniformly, and that the ``sweeps`` suite moves one at a time. Its
label column carries the unit in the name. Noise amplitudes are neurokit2's
``signal_distort`` amplitudes, which are relative to the clean signal's standard
deviation (``_au``: arbitrary units).

This module imports no simulator, so the workflow can plan jobs cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from physio_bench.errors import ConfigError

SIGNAL_KINDS = ("ecg", "ppg", "rsp", "eda", "emg")
SCENARIO_CHANNELS = ("ecg", "ppg", "rsp", "eda", "emg")

#: ppg_simulate skips its inter-beat randomness (and prints a note) when a beat could get
#: shorter than this many seconds; ranges that allow it are refused up front.
PPG_MIN_BEAT_S = 0.3


@dataclass(frozen=True)
class Factor:
    """One generating factor: label column (unit in the name) and default range [low, high]."""

    column: str
    low: float
    high: float
    integer: bool = False
    description: str = ""

    def middle(self, low: float, high: float) -> float:
        """Middle of ``[low, high]`` (rounded down to a whole number for integer factors)."""
        mid = (low + high) / 2
        return float(int(mid)) if self.integer else float(mid)


FACTORS: dict[str, tuple[Factor, ...]] = {
    "ecg": (
        Factor("heart_rate_bpm", 45, 150, description="mean heart rate (ecgsyn heart_rate)"),
        Factor("heart_rate_std_bpm", 0, 6, description="heart-rate variability (heart_rate_std)"),
        Factor("noise_amplitude_au", 0, 0.2, description="Laplace noise at 5 and 10 Hz"),
    ),
    "ppg": (
        Factor("heart_rate_bpm", 45, 150, description="pulse rate (ppg_simulate heart_rate)"),
        Factor("ibi_randomness_frac", 0, 0.2, description="inter-beat randomness, fraction of IBI"),
        Factor("drift_amplitude_au", 0, 1.0, description="baseline drift at 0.05 Hz"),
        Factor("motion_amplitude_au", 0, 0.5, description="motion noise at 0.5 Hz"),
    ),
    "rsp": (
        Factor("resp_rate_bpm", 6, 35, description="breaths per minute (breathmetrics model)"),
        Factor("noise_amplitude_au", 0, 0.2, description="Laplace noise at 5 and 10 Hz"),
    ),
    "eda": (
        Factor("scr_number_count", 0, 8, integer=True, description="skin conductance responses"),
        Factor("drift_us_per_s", -0.05, 0.05, description="linear tonic drift"),
        Factor("noise_amplitude_au", 0, 0.1, description="Laplace noise at 5 and 10 Hz"),
    ),
    "emg": (
        Factor("burst_number_count", 0, 3, integer=True, description="muscle activity bursts"),
        Factor("burst_duration_s", 0.1, 0.6, description="duration of each burst"),
        Factor("noise_amplitude_au", 0, 0.1, description="Gaussian noise standard deviation"),
    ),
}


def factor_columns() -> dict[str, list[str]]:
    """``{kind: [label columns]}`` of every signal kind."""
    return {kind: [f.column for f in specs] for kind, specs in FACTORS.items()}


def all_factor_columns() -> list[str]:
    """Union of the factor columns of all kinds, in a fixed order."""
    columns: list[str] = []
    for specs in FACTORS.values():
        columns.extend(f.column for f in specs if f.column not in columns)
    return columns


def factor_ranges(config: dict[str, Any], kind: str) -> dict[str, tuple[float, float]]:
    """``{column: (low, high)}`` of ``kind``: defaults overridden by ``simulate.factors.ranges``."""
    overrides = config["simulate"]["factors"].get("ranges", {}).get(kind, {})
    return {
        f.column: tuple(float(v) for v in overrides.get(f.column, (f.low, f.high)))
        for f in FACTORS[kind]
    }


def check_simulate_config(config: dict[str, Any]) -> None:
    """Semantic checks of the ``simulate`` section that the schema cannot express.

    Raises:
        ConfigError: one line naming the key and the fix.
    """
    fs = config["sampling_rate_hz"]
    if float(fs) != int(fs):
        raise ConfigError(
            f"config key 'sampling_rate_hz' is {fs}: neurokit2's simulators need a whole number "
            "of Hz"
        )
    overrides = config["simulate"]["factors"].get("ranges", {})
    for kind, ranges in overrides.items():
        if kind not in FACTORS:
            raise ConfigError(
                f"config key 'simulate.factors.ranges.{kind}' names an unknown signal kind: "
                f"use one of {', '.join(FACTORS)}"
            )
        known = [f.column for f in FACTORS[kind]]
        for column, value in ranges.items():
            where = f"simulate.factors.ranges.{kind}.{column}"
            if column not in known:
                raise ConfigError(
                    f"config key '{where}' is not a factor of {kind}: use one of {', '.join(known)}"
                )
            low, high = value
            if low > high:
                raise ConfigError(
                    f"config key '{where}' has min {low} > max {high}: give the range as [min, max]"
                )
    window_s = config["window_samples"] / config["sampling_rate_hz"]
    for kind in SIGNAL_KINDS:
        _check_kind_ranges(kind, factor_ranges(config, kind), window_s)


def _check_kind_ranges(kind: str, ranges: dict[str, tuple[float, float]], window_s: float) -> None:
    where = f"simulate.factors.ranges.{kind}"
    for column, (low, _high) in ranges.items():
        if low < 0 and column != "drift_us_per_s":
            raise ConfigError(
                f"config key '{where}.{column}' has a negative minimum {low}: use >= 0"
            )
    if kind in ("ecg", "ppg"):
        low, high = ranges["heart_rate_bpm"]
        if low < 20 or high > 250:
            raise ConfigError(
                f"config key '{where}.heart_rate_bpm' is [{low}, {high}]: keep it within [20, 250]"
            )
    if kind == "ppg":
        shortest = 60 / ranges["heart_rate_bpm"][1] * (1 - ranges["ibi_randomness_frac"][1])
        if shortest < PPG_MIN_BEAT_S:
            raise ConfigError(
                f"config key '{where}' allows beats of {shortest:.2f} s (max heart rate with max "
                f"ibi_randomness_frac), which neurokit2 refuses: lower one of the two maxima"
            )
    if kind == "rsp":
        low, high = ranges["resp_rate_bpm"]
        if low < 2 or high > 60:
            raise ConfigError(
                f"config key '{where}.resp_rate_bpm' is [{low}, {high}]: keep it within [2, 60]"
            )
    if kind == "emg":  # the defaults (3 bursts of up to 0.6 s) fit the shortest window, 2 s
        longest = ranges["burst_number_count"][1] * ranges["burst_duration_s"][1]
        if longest >= window_s:
            raise ConfigError(
                f"config key '{where}' allows {longest:.2f} s of bursts in a {window_s:.2f} s "
                f"window: lower burst_number_count or burst_duration_s"
            )
