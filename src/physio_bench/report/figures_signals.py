"""Example windows: one of every simulated signal kind, one of every scenario, and one
figure per scenario class with its signature annotated from the realised events, beside
a real window of the same condition where the shipped recordings have one (MIT-BIH for
rhythms and ectopy, BIDMC for breathing: :mod:`physio_bench.report.inputs.real_examples`),
so a reader can judge the realism by eye."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.report.inputs import real_examples, suites
from physio_bench.report.inputs.common import MissingResult
from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import filled_panels, new_grid, placeholder, title
from physio_bench.report.style import note_missing
from physio_bench.simulate import CLASS_SIGNATURES

TRACE_COLOR = "0.15"
#: AAMI beat classes; P-wave kinds; other events
BEAT_COLORS = {"N": "0.45", "S": "#0072B2", "V": "#D55E00", "F": "#CC79A7", "Q": "0.7"}
P_COLORS = {"sinus": "#F0E442", "ectopic": "#56B4E9", "blocked": "#D55E00"}
EVENT_COLOR = "#009E73"
APNEA_COLOR = "#E69F00"
DETAIL_S = 8.0


def _examples(key: str, names: list[str], read: Callable[[], dict[str, Any]], found: str,
              suite: str) -> dict[str, Any]:
    """``names`` under ``key`` and the examples ``read`` gives (those in ``found``); a
    name without one is missing (no window in ``suite``)."""
    try:
        examples = read()
    except MissingResult as exc:
        return {key: names, "missing": {"all": str(exc)}}
    missing = {n: f"no {n} window in the {suite} suite" for n in names
               if n not in examples[found]}
    return {key: names, **examples, "missing": missing}


def kinds_data(ctx: FigureContext) -> dict[str, Any]:
    """Kinds (config order), time axis (s) and one trace per kind from the factors suite."""
    kinds = list(ctx.config["simulate"]["signal_kinds"])
    return _examples("kinds", kinds, lambda: suites.kind_examples(ctx.results, kinds),
                     "traces", "factors")


def draw_kinds(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    kinds = data["kinds"]
    fig, axes = new_grid(len(kinds), 1, (7.0, 1.1), sharex=True)
    for ax, kind in filled_panels(axes, kinds, data["traces"], data["missing"]):
        ax.plot(data["time_s"], data["traces"][kind], lw=0.6, color=TRACE_COLOR)
        ax.set_ylabel(kind.upper())
        ax.set_title(data["notes"][kind], loc="left", fontsize="small")
    axes[-1].set_xlabel("time (s)")
    title(fig, ctx, "Simulated windows, one per signal kind (factors suite)")
    fig.align_ylabels(axes)
    return fig


def scenarios_data(ctx: FigureContext) -> dict[str, Any]:
    """Scenarios (config order), channel names, and one window (channels x samples) each."""
    scenarios = list(ctx.config["simulate"]["scenarios"]["classes"])
    return _examples("scenarios", scenarios,
                     lambda: suites.scenario_examples(ctx.results, scenarios), "windows",
                     "scenarios")


def _standardise(trace: np.ndarray) -> np.ndarray:
    finite = trace[np.isfinite(trace)]
    if finite.size == 0:
        return trace
    spread = float(np.percentile(finite, 99) - np.percentile(finite, 1))
    return (trace - float(np.median(finite))) / (spread if spread > 0 else 1.0)


def draw_scenarios(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    scenarios = data["scenarios"]
    channels = data["channels"]
    fig, axes = new_grid(len(scenarios), 2, (4.2, 0.35 * len(channels) + 0.6), sharex=True)
    offsets = -np.arange(len(channels), dtype=float)
    for ax, scenario in filled_panels(axes, scenarios, data["windows"], data["missing"]):
        for offset, trace in zip(offsets, data["windows"][scenario], strict=True):
            ax.plot(data["time_s"], _standardise(trace) * 0.9 + offset, lw=0.5, color=TRACE_COLOR)
        ax.set_yticks(offsets, [c.upper() for c in channels])
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_title(scenario.replace("_", " "), loc="left", fontsize="small")
    for ax in axes[-2:]:
        ax.set_xlabel("time (s)")
        ax.xaxis.set_tick_params(labelbottom=True)
    title(fig, ctx, "Simulated scenarios, one window each (channels scaled to a common range)")
    return fig


def _datasets(ctx: FigureContext) -> list[str]:
    datasets = ctx.config.get("downstream", {}).get("datasets", {})
    return [name for name, entry in datasets.items() if entry.get("enabled", True)]


def class_data(ctx: FigureContext, scenario: str) -> dict[str, Any]:
    """The first window of ``scenario`` with its labels and realised events, and the real
    window shown beside it (``real``; its absence is a note, not a missing input)."""
    try:
        example = suites.class_example(ctx.results, scenario)
    except MissingResult as exc:
        return {"scenario": scenario, "missing": {"all": str(exc)}}
    missing = {}
    if example["events"] is None:
        missing["events"] = "scenarios/events.parquet is missing: no annotations"
    try:
        real = real_examples.real_example(ctx.results, scenario, _datasets(ctx))
    except MissingResult as exc:
        real = {"note": str(exc)}
    return {"scenario": scenario, **example, "real": real, "missing": missing}


def signals_inputs(config: dict[str, Any], results: str | Path) -> list[str]:
    """The result files of the signals section: simulated examples and real examples."""
    r = Path(results)
    datasets = [name for name, entry in config.get("downstream", {}).get("datasets", {})
                .items() if entry.get("enabled", True)]
    return ([str(r / "simulated" / s / f) for s in ("factors", "scenarios")
             for f in ("signals.npy", "labels.parquet", "meta.json")]
            + [str(r / "simulated" / "scenarios" / "events.parquet")]
            + real_examples.inputs(r, datasets))


def _events(data: dict[str, Any], name: str) -> Any:
    """The window's realised events called ``name`` (a DataFrame), or None without events."""
    import pandas as pd

    events = data.get("events")
    if events is None:
        return None
    frame = pd.DataFrame(events)
    return frame[frame["event"] == name]


def _detail_start(data: dict[str, Any], window_s: float) -> float:
    """Start of the ECG detail: 2 s before the first premature beat, blocked P wave or
    apnea in the window, else 4 s in."""
    start = 4.0
    beats, p_waves = _events(data, "beat"), _events(data, "p_wave")
    candidates = []
    if beats is not None:
        odd = beats[(beats["label"] != "N") & (beats["start_s"] > 2)]
        candidates += list(odd["start_s"])
    if p_waves is not None:
        candidates += list(p_waves.loc[(p_waves["label"] == "blocked")
                                       & (p_waves["start_s"] > 2), "start_s"])
    if candidates:
        start = min(candidates) - 2.0
    return float(np.clip(start, 0.0, max(0.0, window_s - DETAIL_S)))


def _mark_beats(ax: Any, beats: Any, lo: float, hi: float, top: float, text: bool) -> None:
    inside = beats[(beats["start_s"] >= lo) & (beats["start_s"] < hi)]
    for t, cls in zip(inside["start_s"], inside["label"], strict=True):
        color = BEAT_COLORS.get(cls, "0.5")
        if text:
            ax.text(t, top, cls, color=color, ha="center", va="bottom", fontsize=6,
                    fontweight="bold" if cls != "N" else "normal")
        else:
            ax.plot([t, t], [top, top * 0.98], color=color, lw=0.8)


def _ecg_detail(ax: Any, data: dict[str, Any], lo: float) -> None:
    t, ecg = data["time_s"], data["window"][0]
    hi = lo + DETAIL_S
    span = (t >= lo) & (t < hi)
    ax.plot(t[span], ecg[span], lw=0.7, color=TRACE_COLOR)
    top = float(np.max(ecg[span])) if span.any() else 1.0
    p_waves, f_waves, beats = _events(data, "p_wave"), _events(data, "f_wave"), _events(
        data, "beat")
    if p_waves is not None:
        for a, b, kind in zip(p_waves["start_s"], p_waves["stop_s"], p_waves["label"],
                              strict=True):
            if lo <= a < hi:
                ax.axvspan(a, b, color=P_COLORS.get(kind, "0.8"), alpha=0.35, lw=0)
    if f_waves is not None:
        inside = f_waves[(f_waves["start_s"] >= lo) & (f_waves["start_s"] < hi)]
        ax.plot(inside["start_s"], np.full(len(inside), float(np.min(ecg[span]))), "|",
                color=EVENT_COLOR, ms=5)
    if beats is not None:
        _mark_beats(ax, beats, lo, hi, top * 1.05, text=True)
    ax.set_xlim(lo, hi)
    ax.set_ylabel("ECG (mV)")
    ax.set_title("ECG detail: beats by AAMI class (N, S, V); P waves shaded "
                 "(yellow sinus, blue ectopic P', red blocked)", loc="left", fontsize="small")


def _full_channel(ax: Any, data: dict[str, Any], channel: int, name: str) -> None:
    t, x = data["time_s"], data["window"][channel]
    ax.plot(t, x, lw=0.5, color=TRACE_COLOR)
    units = data.get("units")
    unit = units[channel] if isinstance(units, list) and channel < len(units) else ""
    ax.set_ylabel(f"{name.upper()} ({unit})" if unit else name.upper())
    low, high = float(np.min(x)), float(np.max(x))
    artifacts = _events(data, "artifact")
    if artifacts is not None:
        for a, b, where in zip(artifacts["start_s"], artifacts["stop_s"], artifacts["label"],
                               strict=True):
            if where == name:
                ax.axvspan(a, b, color="0.6", alpha=0.3, lw=0)
    if name == "ecg" and _events(data, "beat") is not None:
        _mark_beats(ax, _events(data, "beat"), t[0], t[-1] + 1e-9, high, text=False)
    if name == "ppg" and _events(data, "pulse") is not None:
        pulses = _events(data, "pulse")
        peaks = pulses["stop_s"][(pulses["stop_s"] >= 0) & (pulses["stop_s"] <= t[-1])]
        ax.plot(peaks, np.interp(peaks, t, x), ".", ms=2.5, color=EVENT_COLOR)
    if name == "rsp":
        for event, style in (("breath", "-"), ("effort", ":")):
            found = _events(data, event)
            if found is not None:
                for onset in found["start_s"][(found["start_s"] >= 0)
                                              & (found["start_s"] <= t[-1])]:
                    ax.axvline(onset, color=EVENT_COLOR, lw=0.6, ls=style)
        apneas = _events(data, "apnea")
        if apneas is not None:
            for a, b, kind in zip(apneas["start_s"], apneas["stop_s"], apneas["label"],
                                  strict=True):
                ax.axvspan(a, b, color=APNEA_COLOR, alpha=0.3, lw=0)
                ax.text((a + b) / 2, high, f"{kind} apnea", ha="center", va="top",
                        fontsize=6)
    if name == "eda" and _events(data, "scr") is not None:
        onsets = _events(data, "scr")["start_s"]
        ax.plot(onsets, np.interp(onsets, t, x), "^", ms=4, color=EVENT_COLOR)
    if name == "emg" and _events(data, "emg_burst") is not None:
        for a, b in zip(_events(data, "emg_burst")["start_s"],
                        _events(data, "emg_burst")["stop_s"], strict=True):
            ax.axvspan(a, b, color=EVENT_COLOR, alpha=0.2, lw=0)
    ax.set_ylim(low - 0.05 * (high - low + 1e-9), high + 0.12 * (high - low + 1e-9))


def _label_line(labels: dict[str, Any]) -> str:
    shown = [("ecg_lead", "lead {}"), ("heart_rate_bpm", "HR {:.0f} bpm"),
             ("atrial_rate_bpm", "atrial {:.0f} /min"), ("resp_rate_bpm", "RR {:.1f} /min"),
             ("rr_interval_cv", "RR-interval CV {:.2f}"), ("ectopic_beat_count", "{:.0f} ectopic"),
             ("av_block_type", "AV block {}"), ("blocked_p_wave_count", "{:.0f} blocked P"),
             ("pr_prolongation_s", "PR prolongation {:.2f} s"),
             ("flutter_conduction_ratio", "F:QRS {:.1f}"),
             ("apnea_type", "{} apnea"), ("apnea_duration_s", "{:.1f} s"),
             ("pulse_amplitude_au", "pulse {:.2f} a.u."), ("pulse_amplitude_cv", "CV {:.2f}"),
             ("pulse_amplitude_resp_change_frac", "insp-exp {:+.0%}"),
             ("pulse_arrival_foot_s", "PAT {:.3f} s"), ("scr_number_count", "{:.0f} SCRs"),
             ("eda_tonic_us", "SCL {:.1f} uS"), ("burst_number_count", "{:.0f} EMG bursts"),
             ("heart_rate_change_bpm", "HR change {:+.0f} bpm"),
             ("resp_rate_change_bpm", "RR change {:+.1f} /min")]
    always = ("heart_rate_bpm", "resp_rate_bpm", "pulse_amplitude_resp_change_frac")
    parts = []
    for column, text in shown:
        value = labels.get(column)
        if isinstance(value, str):
            if value and value != "none":
                parts.append(text.format(value))
        elif isinstance(value, int | float) and math.isfinite(value) and (
                value != 0 or column in always):
            parts.append(text.format(value))
    return "labels: " + ", ".join(parts)


def _real_column(axes: list[Any], data: dict[str, Any], channels: list[str]) -> None:
    """The real window beside the simulated one: an 8-s ECG detail, then each channel the
    recording has in the row of the same simulated channel (annotated beats ticked by
    AAMI class, annotated breaths as lines)."""
    real = data.get("real", {})
    if "channels" not in real:
        note_missing(axes[0], f"real example: {real.get('note', 'none')}")
        for ax in axes[1:]:
            ax.axis("off")
        return
    t = real["time_s"]
    title = f"real: {real['what']} ({real['record']}, {real['start_s']:.0f} s)"
    if "ecg" in real["channels"]:
        x = real["channels"]["ecg"]
        beats = _frame(real["events"].get("ecg"), "beat")
        odd = beats[(beats["label"] != "N") & (beats["start_s"] > 2)] if beats is not None else []
        lo = float(np.clip(min(odd["start_s"]) - 2.0 if len(odd) else 4.0, 0,
                           max(0.0, t[-1] - DETAIL_S)))
        span = (t >= lo) & (t < lo + DETAIL_S)
        axes[0].plot(t[span], x[span], lw=0.7, color=TRACE_COLOR)
        if beats is not None:
            _mark_beats(axes[0], beats, lo, lo + DETAIL_S, float(np.max(x[span])) * 1.05, True)
        axes[0].set_xlim(lo, lo + DETAIL_S)
    else:
        note_missing(axes[0], "no ECG in this recording")
    axes[0].set_title(textwrap.fill(title, 60), loc="left", fontsize="small")
    for ax, name in zip(axes[1:], channels, strict=True):
        if name not in real["channels"]:
            ax.axis("off")
            continue
        x = real["channels"][name]
        ax.plot(t, x, lw=0.5, color=TRACE_COLOR)
        unit = real["units"].get(name, "")
        ax.set_ylabel(f"real {name.upper()}" + (f"\n({unit})" if unit else ""))
        found = _frame(real["events"].get(name), "beat")
        if name == "ecg" and found is not None:
            _mark_beats(ax, found, t[0], t[-1] + 1e-9, float(np.max(x)), text=False)
        breaths = _frame(real["events"].get(name), "breath")
        if name == "rsp" and breaths is not None:
            for onset in breaths["start_s"]:
                ax.axvline(onset, color=EVENT_COLOR, lw=0.6)


def _frame(events: dict[str, Any] | None, name: str) -> Any:
    import pandas as pd

    if events is None:
        return None
    frame = pd.DataFrame(events)
    return frame[frame["event"] == name]


def draw_class(data: dict[str, Any], ctx: FigureContext) -> Any:
    """Left: ECG detail on top, then the whole window of every channel, events marked.
    Right: the real window of the same condition, where the shipped data has one."""
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    import matplotlib.pyplot as plt

    channels = data["channels"]
    heights = [1.4] + [1.0] * len(channels)
    fig, grid = plt.subplots(len(channels) + 1, 2, figsize=(12.5, 1.25 * sum(heights) + 0.9),
                             gridspec_kw={"height_ratios": heights, "width_ratios": [1.6, 1]})
    axes, real_axes = list(grid[:, 0]), list(grid[:, 1])
    window_s = float(data["time_s"][-1])
    lo = _detail_start(data, window_s)
    if "ecg" in channels:
        _ecg_detail(axes[0], data, lo)
    else:
        note_missing(axes[0], "no ECG channel")
    for ax, (c, name) in zip(axes[1:], enumerate(channels), strict=True):
        _full_channel(ax, data, c, name)
        if name == "ecg":
            ax.axvspan(lo, lo + DETAIL_S, color="0.85", alpha=0.5, lw=0, zorder=0)
    axes[-1].set_xlabel("time (s)")
    for ax in axes[1:-1]:
        ax.tick_params(labelbottom=False)
    _real_column(real_axes, data, channels)
    real_axes[-1].set_xlabel("time (s)")
    scenario = data["scenario"]
    axes[1].set_title(textwrap.fill(_label_line(data.get("labels", {})), 100), loc="left",
                      fontsize="small")
    signature = CLASS_SIGNATURES.get(scenario, "")
    title(fig, ctx, textwrap.fill(f"{scenario.replace('_', ' ')} ({data.get('subject_id', '?')}):"
                                  f" {signature}", 150))
    fig.align_ylabels(axes)
    return fig


def _class_kind(scenario: str) -> FigureKind:
    return FigureKind(
        f"signals_class_{scenario}", "signals", f"Class signature: {scenario.replace('_', ' ')}",
        partial(class_data, scenario=scenario), draw_class,
        applies=lambda config: scenario in config["simulate"]["scenarios"]["classes"],
    )


KINDS = [
    FigureKind("signals_by_kind", "signals", "Example windows per signal kind",
               kinds_data, draw_kinds),
    FigureKind("signals_by_scenario", "signals", "Example windows per scenario",
               scenarios_data, draw_scenarios),
    *(_class_kind(scenario) for scenario in CLASS_SIGNATURES),
]
