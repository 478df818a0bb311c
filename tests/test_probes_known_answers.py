"""Feature independence and scenario separation on embeddings with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import probe_rows, reference_results

from physio_bench.io import LEADERBOARD_COLUMNS
from physio_bench.probes.cv import nested_folds
from physio_bench.probes.runner import run_probe
from physio_bench.probes.scenario_separation import nested_logistic
from physio_bench.probes.synthetic import SyntheticSpec, write_embeddings
from physio_bench.probes.tokens import zscore_windows

SPEC = SyntheticSpec(windows_per_kind=80, subjects_per_scenario=6,
                     windows_per_scenario_subject=2)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reference_results(tmp_path_factory, "probe_results", SPEC)


CONFIG = {"seed": 11, "probes": {"cv_folds": 3, "inner_folds": 2, "bootstrap": 200,
                                 "max_tokens_per_window": 8}}


@pytest.fixture(scope="module")
def independence(results: Path) -> dict[str, tuple[dict, dict]]:
    return probe_rows(CONFIG, "feature_independence", ("oracle", "rotated", "noise"), results)


@pytest.fixture(scope="module")
def separation(results: Path) -> dict[str, tuple[dict, dict]]:
    return probe_rows(CONFIG, "scenario_separation", ("oracle", "noise"), results)


FACTOR_TASKS = [f"{kind}:{column}" for kind, factors in SPEC.kinds.items()
                for column, _, _ in factors]


def test_oracle_factors_are_decoded_disentangled_and_uncoupled(independence) -> None:
    detail, rows = independence["oracle"]
    for layer in ("last", "best"):
        for task in FACTOR_TASKS:
            assert rows[(task, "r2", layer)]["value"] > 0.95, task
        for kind in SPEC.kinds:
            assert rows[(kind, "dci_disentanglement", layer)]["value"] > 0.9
            assert rows[(kind, "dci_completeness", layer)]["value"] > 0.9
            assert abs(rows[(kind, "entanglement", layer)]["value"]) < 0.02
            assert rows[(kind, "cross_talk", layer)]["value"] < 0.1
    for kind in SPEC.kinds:
        # The pure-noise first layer is never chosen as the best layer.
        assert "noise" not in detail["kinds"][kind]["selection"]["chosen_layer_per_fold"]
        talk = np.array(detail["kinds"][kind]["last"]["cross_talk"]["matrix"])
        assert np.diag(talk) == pytest.approx(1.0, abs=0.1)  # a swept factor moves fully
        assert detail["kinds"][kind]["last"]["cross_talk"]["n_sweep_subjects"] == (
            SPEC.sweep_subjects)


def test_rotated_oracle_is_informative_but_entangled(independence) -> None:
    _, oracle = independence["oracle"]
    _, rotated = independence["rotated"]
    for task in FACTOR_TASKS:
        assert rotated[(task, "r2", "last")]["value"] > 0.95
    for kind in SPEC.kinds:
        key = (kind, "dci_disentanglement", "last")
        assert rotated[key]["value"] < oracle[key]["value"] - 0.3
        key = (kind, "dci_completeness", "last")
        assert rotated[key]["value"] < oracle[key]["value"] - 0.3


def test_noise_embeddings_decode_nothing(independence) -> None:
    _, rows = independence["noise"]
    for layer in ("last", "best"):
        for task in FACTOR_TASKS:
            assert rows[(task, "r2", layer)]["value"] < 0.1
            assert rows[(task, "r2_nonlinear", layer)]["value"] < 0.1
        assert rows[("all", "r2", layer)]["ci_low"] < 0.05
        # Nothing decoded, so nothing to be entangled, disentangled or cross-talking.
        for kind in [*SPEC.kinds, "all"]:
            for metric in ("entanglement", "dci_disentanglement", "dci_completeness",
                           "cross_talk"):
                row = rows[(kind, metric, layer)]
                assert np.isnan(row["value"]) and row["note"].startswith("not estimable")


def test_rows_are_complete_and_either_hold_an_estimate_or_say_why_not(independence,
                                                                     separation) -> None:
    for detail, rows in [*independence.values(), *separation.values()]:
        assert rows
        for row in rows.values():
            assert list(row) == LEADERBOARD_COLUMNS
            assert row["stage"] == detail["probe"] and row["layer"] in ("last", "best")
            assert row["pretrained"] is False
            assert row["direction"] in ("higher", "lower")
            values = [row["value"], row["ci_low"], row["ci_high"]]
            if row["note"].startswith("no interval"):  # a value, but no interval (issue 24)
                assert np.isfinite(row["value"]) and np.isnan(values[1:]).all()
                continue
            if row["note"]:
                assert row["note"].startswith("not estimable") and np.isnan(values).all()
                continue
            assert np.isfinite(values).all()
            assert row["ci_low"] <= row["ci_high"], row
            assert row["n"] > 0 and row["n_subjects"] >= 5


def test_factor_r2_intervals_reach_the_known_truth(independence) -> None:
    """Coverage of a known truth, not containment of the estimate (issue 24): the oracle
    decodes every factor (true R² > 0.95), the noise embedding none (true R² <= 0)."""
    _, oracle = independence["oracle"]
    _, noise = independence["noise"]
    for task in FACTOR_TASKS:
        assert oracle[(task, "r2", "last")]["ci_high"] >= 0.95, task
        assert noise[(task, "r2", "last")]["ci_low"] <= 0.0, task


def test_oracle_scenarios_separate_and_noise_stays_at_chance(separation) -> None:
    oracle_detail, oracle = separation["oracle"]
    _, noise = separation["noise"]
    chance = oracle_detail["chance"]["balanced_accuracy"]
    assert chance == pytest.approx(1 / len(SPEC.scenarios))
    for layer in ("last", "best"):
        assert oracle[("scenarios", "balanced_accuracy", layer)]["value"] > 0.95
        assert oracle[("scenarios", "macro_f1", layer)]["value"] > 0.95
        assert noise[("scenarios", "balanced_accuracy", layer)]["value"] < chance + 0.15
        assert (oracle[("scenarios", "silhouette", layer)]["value"]
                > noise[("scenarios", "silhouette", layer)]["value"] + 0.2)
        assert (oracle[("scenarios", "fisher_ratio", layer)]["value"]
                > 10 * noise[("scenarios", "fisher_ratio", layer)]["value"])
    conf = np.array(oracle_detail["last"]["confusion_matrix"])
    assert conf.shape == (len(SPEC.scenarios),) * 2
    assert conf.sum() == oracle_detail["n_windows"]
    assert oracle_detail["classes"] == sorted(SPEC.scenarios)
    assert len(oracle_detail["last"]["map_2d"]["x"]) == oracle_detail["n_windows"]


def test_subject_identity_does_not_leak_into_scenario_accuracy(results: Path) -> None:
    """A feature that names the subject (not the scenario) cannot help grouped CV."""
    from physio_bench.io import read_suite

    labels = read_suite(results / "simulated" / "scenarios").labels
    rng = np.random.default_rng(0)
    subjects, index = np.unique(labels["subject_id"], return_inverse=True)
    identity = 4.0 * rng.normal(size=(len(subjects), 64))[index]
    pooled = (identity + rng.normal(size=identity.shape))[None]
    write_embeddings(results, "trap", "scenarios", pooled, ["last"])
    detail, rows = run_probe(CONFIG, "scenario_separation", "trap", results)
    chance = detail["chance"]["balanced_accuracy"]
    by_key = {(r["metric"], r["layer"]): r["value"] for r in rows}
    assert by_key[("balanced_accuracy", "last")] < chance + 0.15
    # The trap is real: folds that split subjects across train and test would be fooled.
    classes, y = np.unique(labels["scenario"], return_inverse=True)
    windows = np.arange(len(y))
    outer, inner = nested_folds(windows, 3, 2, seed=1, strata=y)
    leaky = nested_logistic(pooled, y, outer, inner, len(classes))
    assert (leaky["oof"][0] == y).mean() > chance + 0.4


def test_synthetic_signals_are_normalised_per_window(results: Path) -> None:
    from physio_bench.io import read_suite

    z = zscore_windows(read_suite(results / "simulated" / "scenarios").signals)
    assert np.allclose(z.mean(axis=2), 0, atol=1e-5)
    assert np.allclose(z.std(axis=2), 1, atol=1e-4)
