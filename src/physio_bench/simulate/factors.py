"""The generating factors of each signal kind, their default ranges, and config checks.

A factor is one generator input that the ``factors`` suite draws independently and
uniformly, and that the ``sweeps`` suite moves one at a time. Its label column (unit in
the name) holds the value *measured* on the window's placed events (see
:mod:`physio_bench.simulate.single_channel`); the drawn value is kept as
``requested_<column>``. Noise amplitudes are SDs of white Gaussian noise in the
channel's unit: physical for ECG (mV), RSP (L), EDA (uS) and EMG (mV); PPG is in
arbitrary units (a.u.), like a pulse oximeter's plethysmogram.

This module imports no simulator, so the workflow can plan jobs cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from physio_bench.errors import ConfigError
from physio_bench.simulate.classes import SCENARIO_CLASSES
from physio_bench.simulate.physiology import BREATH_JITTER_MAX

SIGNAL_KINDS = ("ecg", "ppg", "rsp", "eda", "emg")
SCENARIO_CHANNELS = ("ecg", "ppg", "rsp", "eda", "emg")
#: Kinds whose windows carry breathing (ECG and PPG through respiratory modulation).
RESPIRATORY_KINDS = ("ecg", "ppg", "rsp")
#: Every window carrying respiration holds at least this many breath onsets.
MIN_BREATHS = 3
MIN_SAMPLING_RATE_HZ = 20
#: SCR onsets lie in [0.5 s, W - 3 s], at least SCR_GAP_S apart (SCR_TAIL_S = 0.5 + 3).
SCR_GAP_S, SCR_TAIL_S = 4.0, 3.5
#: EMG bursts lie in [0.5 s, W - 0.5 s] (EMG_EDGE_S in all), at least EMG_GAP_S apart, each
#: up to EMG_SPREAD x the requested mean duration.
EMG_GAP_S, EMG_EDGE_S, EMG_SPREAD = 0.5, 1.0, 1.2


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
        Factor("heart_rate_bpm", 45, 150, description="heart rate of the beats in the window"),
        Factor("heart_rate_std_bpm", 0, 6, description="SD of 60/RR over the window (LF + HF)"),
        Factor("resp_rate_bpm", 6, 35, description="breathing rate (ECG amplitude/baseline, RSA)"),
        Factor("noise_amplitude_mv", 0, 0.1, description="white noise SD (mV)"),
    ),
    "ppg": (
        Factor("heart_rate_bpm", 45, 150, description="pulse rate of the pulses in the window"),
        Factor("heart_rate_std_bpm", 0, 6, description="SD of 60/pulse interval (LF + HF)"),
        Factor("resp_rate_bpm", 6, 35, description="breathing rate (RIAV, RIIV, RIFV)"),
        Factor("noise_amplitude_au", 0, 0.15, description="white noise SD (a.u.)"),
    ),
    "rsp": (
        Factor("resp_rate_bpm", 6, 35, description="breaths per minute (volume-like signal)"),
        Factor("noise_amplitude_l", 0, 0.08, description="white noise SD (L)"),
    ),
    "eda": (
        Factor("scr_number_count", 0, 7, integer=True, description="SCR onsets in the window"),
        Factor("drift_us_per_s", -0.05, 0.05, description="linear tonic drift (uS/s)"),
        Factor("noise_amplitude_us", 0, 0.02, description="white noise SD (uS)"),
    ),
    "emg": (
        Factor("burst_number_count", 1, 6, integer=True, description="muscle activity bursts"),
        Factor("burst_duration_s", 0.2, 1.5, description="mean duration of the bursts (s)"),
        Factor("noise_amplitude_mv", 0.005, 0.05, description="background noise SD (mV)"),
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

    Checks that need the window length against what a suite carries (breaths, SCRs,
    bursts) are in :func:`check_simulation`, run before a suite is simulated.

    Raises:
        ConfigError: one line naming the key and the fix.
    """
    fs = config["sampling_rate_hz"]
    if float(fs) != int(fs):
        raise ConfigError(
            f"config key 'sampling_rate_hz' is {fs}: use a whole number of Hz"
        )
    if fs < MIN_SAMPLING_RATE_HZ:
        raise ConfigError(
            f"config key 'sampling_rate_hz' is {fs}: the simulators need at least "
            f"{MIN_SAMPLING_RATE_HZ} Hz"
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
    for kind in SIGNAL_KINDS:
        _check_kind_ranges(kind, factor_ranges(config, kind))
    for suite in ("scenarios", "training"):
        section = config["simulate"][suite]
        per_subject = section.get("classes_per_subject")
        if per_subject is not None and per_subject > len(section["classes"]):
            raise ConfigError(
                f"config key 'simulate.{suite}.classes_per_subject' is {per_subject} but only "
                f"{len(section['classes'])} classes are listed: use at most that many (or null)"
            )


def _check_kind_ranges(kind: str, ranges: dict[str, tuple[float, float]]) -> None:
    where = f"simulate.factors.ranges.{kind}"
    for column, (low, _high) in ranges.items():
        if low < 0 and column != "drift_us_per_s":
            raise ConfigError(
                f"config key '{where}.{column}' has a negative minimum {low}: use >= 0"
            )
    if "heart_rate_bpm" in ranges:
        low, high = ranges["heart_rate_bpm"]
        if low < 20 or high > 250:
            raise ConfigError(
                f"config key '{where}.heart_rate_bpm' is [{low}, {high}]: keep it within [20, 250]"
            )
    if "resp_rate_bpm" in ranges:
        low, high = ranges["resp_rate_bpm"]
        if low < 2 or high > 60:
            raise ConfigError(
                f"config key '{where}.resp_rate_bpm' is [{low}, {high}]: keep it within [2, 60]"
            )
    if kind == "emg" and ranges["burst_number_count"][0] < 1:
        raise ConfigError(
            f"config key '{where}.burst_number_count' starts at "
            f"{ranges['burst_number_count'][0]:g}: use >= 1 (a window without bursts has no "
            "burst duration)"
        )


def shortest_window_s(lowest_rate_bpm: float) -> float:
    """Seconds needed for :data:`MIN_BREATHS` breath onsets at ``lowest_rate_bpm``, whatever
    the window's position (breaths up to ``BREATH_JITTER_MAX`` longer than the period)."""
    return MIN_BREATHS * 60.0 / lowest_rate_bpm * (1 + BREATH_JITTER_MAX)


def _breath_error(where: str, lowest: float, window_s: float, fs: float) -> ConfigError:
    need = shortest_window_s(lowest)
    rate_needed = MIN_BREATHS * 60.0 * (1 + BREATH_JITTER_MAX) / window_s
    return ConfigError(
        f"{where} breathes down to {lowest:g} /min, and a {window_s:.2f} s window then holds "
        f"fewer than {MIN_BREATHS} breaths: use windows of at least {need:.1f} s "
        f"(window_samples >= {int(need * fs) + 1}) or breathing of at least "
        f"{rate_needed:.1f} /min"
    )


def _check_factor_suite(config: dict[str, Any], window_s: float, fs: float) -> None:
    for kind in config["simulate"]["signal_kinds"]:
        ranges = factor_ranges(config, kind)
        where = f"config key 'simulate.factors.ranges.{kind}"
        if kind in RESPIRATORY_KINDS:
            lowest = ranges["resp_rate_bpm"][0]
            if window_s < shortest_window_s(lowest):
                raise _breath_error(f"{where}.resp_rate_bpm'", lowest, window_s, fs)
        if kind == "eda":
            most = int(ranges["scr_number_count"][1])
            if (most - 1) * SCR_GAP_S > window_s - SCR_TAIL_S:
                raise ConfigError(
                    f"{where}.scr_number_count' allows {most} SCRs, which do not fit "
                    f"{SCR_GAP_S:g} s apart in a {window_s:.2f} s window: lower its maximum"
                )
        if kind == "emg":
            most = int(ranges["burst_number_count"][1])
            longest = most * ranges["burst_duration_s"][1] * EMG_SPREAD + (most - 1) * EMG_GAP_S
            if longest > window_s - EMG_EDGE_S:
                raise ConfigError(
                    f"{where}' allows {longest:.2f} s of bursts and gaps in a {window_s:.2f} s "
                    "window: lower burst_number_count or burst_duration_s"
                )


def _check_classes(config: dict[str, Any], suite: str, window_s: float, fs: float) -> None:
    for name in config["simulate"][suite]["classes"]:
        spec = SCENARIO_CLASSES[name]
        where = f"scenario class '{name}' (simulate.{suite}.classes)"
        lowest = spec.lowest_resp_rate_bpm()
        needed = shortest_window_s(lowest)
        if spec.apnea_s[1] > 0:  # the pause lies between breaths, at least one on each side
            needed = spec.apnea_s[1] + (MIN_BREATHS + 0.5) * 60 / lowest * (1 + BREATH_JITTER_MAX)
        if window_s < needed:
            raise ConfigError(
                f"{where} needs windows of at least {needed:.1f} s (>= {MIN_BREATHS} breaths at "
                f"{lowest:g} /min{' besides its apnea' if spec.apnea_s[1] else ''}), not "
                f"{window_s:.2f} s: lengthen window_samples (>= {int(needed * fs) + 1}) or "
                "leave the class out"
            )
        most = int(spec.scr_number_count[1])
        if (most - 1) * SCR_GAP_S > window_s - SCR_TAIL_S:
            raise ConfigError(
                f"{where} places up to {most} SCRs, which do not fit in a {window_s:.2f} s "
                "window: lengthen window_samples or leave the class out"
            )


def check_simulation(config: dict[str, Any], suites: Iterable[str]) -> None:
    """Check that each of ``suites`` fits the window: every window carrying respiration
    holds >= :data:`MIN_BREATHS` breath onsets at the slowest rate it can have, and SCRs
    and EMG bursts fit. Cheap; run before simulating (and before a workflow starts).

    Raises:
        ConfigError: one line naming the key or class and the fix.
    """
    fs = float(config["sampling_rate_hz"])
    window_s = config["window_samples"] / fs
    for suite in suites:
        if suite in ("factors", "sweeps"):
            _check_factor_suite(config, window_s, fs)
        elif suite in ("scenarios", "training"):
            _check_classes(config, suite, window_s, fs)
