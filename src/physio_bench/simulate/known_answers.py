"""Which simulated labels the independent detectors can check, and in which windows.

Shared by ``tests/test_simulate_known_answers.py`` (which asserts tolerances) and
``benchmarks/simulation_known_answers.py`` (which prints the table). A factors window's
breathing rate is compared for ECG/PPG only where the heart beats at least twice per
breath (the detectors read it from beat-to-beat series), for ECG only in the limb leads
of :data:`UPRIGHT_LEADS`; a scenario label is left out of motion-artefact windows
(:data:`MOTION_EXCLUDED`), compared only in the classes of :data:`ONLY_IN`, and not in
the classes of :data:`NOT_IN`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from physio_bench.simulate.detectors import measure_scenario, measure_single
from physio_bench.simulate.factors import FACTORS

#: Leads whose ECG-derived respiration the detector reads (R-wave values of an upright
#: QRS); in V1 and aVR the amplitude and baseline modulation can cancel.
UPRIGHT_LEADS = ("MLII", "II")

#: Scenario labels not checked in motion-artefact windows (the detectors are not meant
#: to work through motion).
MOTION_EXCLUDED = {"heart_rate_bpm", "heart_rate_change_bpm", "resp_rate_bpm",
                   "resp_rate_change_bpm", "rr_interval_cv", "ectopic_beat_count",
                   "apnea_duration_s", "pause_number_count", "pulse_amplitude_au",
                   "pulse_amplitude_cv", "pulse_arrival_time_s", "pulse_arrival_foot_s",
                   "pulse_arrival_resp_change_s", "pulse_amplitude_resp_change_frac",
                   "pulse_amplitude_variation_frac", "t_wave_polarity_sign"}
#: Labels checked only in the classes where they are defined or where the detector
#: assumes a regular underlying rhythm.
ONLY_IN = {
    "change_time_s": {"heart_rate_step", "resp_rate_step"},
    "ectopic_beat_count": {"normal_sinus", "premature_ventricular", "premature_atrial",
                           "sinus_tachycardia", "sinus_bradycardia"},
    "apnea_duration_s": {"apnea", "central_apnea"},
}
#: The breathing detector cannot place the recovery breath's onset after an obstructive
#: apnea (its deepest paradoxical dip comes just before it); the per-breath pulse
#: variation is dominated by the rhythm in irregular and premature-beat windows; the
#: median beat of an escape rhythm has the escape beats' discordant T.
NOT_IN = {
    "resp_rate_bpm": {"obstructive_apnea"},
    "resp_rate_change_bpm": {"obstructive_apnea"},
    "pause_number_count": {"obstructive_apnea"},
    "pulse_amplitude_variation_frac": {"irregular_rhythm", "atrial_flutter",
                                       "premature_atrial", "premature_ventricular"},
    "t_wave_polarity_sign": {"av_block_complete"},
}


def factor_comparisons(suite: Any, sampling_rate_hz: float
                       ) -> Iterator[tuple[str, str, Any, Any]]:
    """``(kind, label, truth, detected)`` for every checkable factor of every window of a
    factors suite (:func:`measure_single` on the stored first channel)."""
    for i, row in suite.labels.iterrows():
        kind = row["signal_kind"]
        found = measure_single(kind, np.asarray(suite.signals[i, 0], float), sampling_rate_hz)
        for spec in FACTORS[kind]:
            if spec.column == "resp_rate_bpm" and kind in ("ecg", "ppg") and (
                    row["heart_rate_bpm"] < 2 * row["resp_rate_bpm"]):
                continue  # a beat-to-beat series cannot carry breathing above half its rate
            if spec.column == "resp_rate_bpm" and kind == "ecg" and (
                    row["ecg_lead"] not in UPRIGHT_LEADS):
                continue  # ECG-derived respiration is checked in the limb leads II, MLII
            yield kind, spec.column, row[spec.column], found[spec.column]


def scenario_comparisons(suite: Any, sampling_rate_hz: float,
                         labels: Iterable[str] | None = None
                         ) -> Iterator[tuple[str, str, Any, Any]]:
    """``(scenario, label, truth, detected)`` for every checkable label (``labels``, or
    every label the detectors return) of every window of a scenarios suite."""
    for i, row in suite.labels.iterrows():
        name = row["scenario"]
        step = None
        if row["dynamics"] == "step":
            step = "heart" if name.startswith("heart_rate") else "resp"
        found = measure_scenario(np.asarray(suite.signals[i], float), sampling_rate_hz, step)
        for label in (found if labels is None else labels):
            if name == "motion_artifact" and label in MOTION_EXCLUDED:
                continue
            if label in ONLY_IN and name not in ONLY_IN[label]:
                continue
            if name in NOT_IN.get(label, ()):
                continue
            yield name, label, row[label], found[label]
