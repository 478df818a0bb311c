"""The headline family (HELPERS.md decision 11): eight questions, one leaderboard column
each, and the family of the paired comparisons (Holm-adjusted together).

Foundation level: read by the report's leaderboard and by the compare stage. A headline
names one leaderboard row per model: ``stage``, ``metric``, ``task`` and ``layer``
exactly (never an average over another set of tasks: a missing row is shown as missing).
"""

from __future__ import annotations

from dataclasses import dataclass

from physio_bench.metrics import LOWER, METRICS, MetricSpec, register

FI, TD, SS, DS = ("feature_independence", "temporal_dynamics", "scenario_separation",
                  "downstream")

if "entanglement" not in METRICS:  # the metrics issue may register its own definition
    register(MetricSpec(
        "entanglement", LOWER, "Mean leakage of the linear mixing between standardised true "
        "and decoded factors: for decoded factor j, sum_{i!=j} M_ij² / sum_i M_ij², M "
        "regressing decoded on true, over the reliably decoded factors.", 0.0, (0.0, 1.0),
        "0 for a disentangled decoder"))


@dataclass(frozen=True)
class Headline:
    """One headline column: the question it answers and the leaderboard row it shows."""

    key: str
    label: str
    question: str
    stage: str
    metric: str
    task: str
    layer: str = "last"


HEADLINES: tuple[Headline, ...] = (
    Headline("mean_r2", "factor R²", "Are the generating factors linearly decodable "
             "(mean R² over factors and signal kinds)?", FI, "r2", "all"),
    Headline("entanglement", "entanglement", "Does a decoded factor also move with the "
             "other factors?", FI, "entanglement", "all"),
    Headline("hr_tracking", "HR tracking within windows R²", "Do the tokens follow heart-rate "
             "changes within a window (ramps and steps)?", TD, "tracking_within_r2",
             "scenarios:ramp_step:heart_rate_bpm"),
    Headline("scenario_accuracy", "scenario bal. acc.", "Can a linear read-out tell the "
             "physiological scenarios apart?", SS, "balanced_accuracy", "scenarios"),
    Headline("real_hr_mae", "HR from ECG, MIT-BIH: MAE (bpm)", "How well is heart rate "
             "decoded from real ECG?", DS, "mae", "real:mitdb:ecg:heart_rate_bpm"),
    Headline("real_rr_mae", "RR from PPG, BIDMC: MAE (/min)", "How well is respiratory rate "
             "decoded from real PPG?", DS, "mae", "real:bidmc:ppg:resp_rate_bpm"),
    Headline("beat_accuracy", "beat classes DS1→DS2 bal. acc.", "Are AAMI beat classes "
             "told apart on unseen patients?", DS, "balanced_accuracy",
             "real:mitdb:ecg:beat_class"),
    Headline("sim2real_rr_mae", "sim2real RR from PPG, BIDMC: MAE (/min)", "Does a decoder "
             "trained on simulated PPG read respiratory rate on real PPG?", DS, "mae",
             "sim2real:bidmc:ppg:resp_rate_bpm"),
)
