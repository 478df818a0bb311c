"""Temporal dynamics on token embeddings with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import probe_rows, reference_results

from physio_bench.probes.synthetic import SyntheticSpec
from physio_bench.probes.temporal_dynamics import (
    embedding_lag_similarity,
    rowwise_pearson,
    signal_autocorrelation,
)
from physio_bench.probes.tokens import span_means

CONFIG = {"seed": 5, "probes": {"cv_folds": 3, "inner_folds": 2, "bootstrap": 100,
                                "max_tokens_per_window": 8}}
SPEC = SyntheticSpec(windows_per_kind=40, subjects_per_scenario=4,
                     windows_per_scenario_subject=2)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reference_results(tmp_path_factory, "temporal_results", SPEC)


@pytest.fixture(scope="module")
def probed(results: Path) -> dict[str, tuple[dict, dict]]:
    return probe_rows(CONFIG, "temporal_dynamics", ("oracle", "noise", "summary", "rotated"),
                      results)


def test_patch_tokens_reconstruct_their_span(probed) -> None:
    detail, rows = probed["oracle"]
    for layer in ("last", "best"):
        for task in ("factors:ecg", "factors:rsp", "factors:all"):
            assert rows[(task, "reconstruction_r2", layer)]["value"] > 0.99
    example = detail["reconstruction"]["examples"][0]
    # A fixed 0.25 s at 32 points, whatever the patch length (16 samples here).
    assert len(example["true"]) == len(example["pred_last"]) == 32
    start, stop = example["target_samples"]
    assert stop - start == pytest.approx(0.25 * SPEC.sampling_rate_hz * 31 / 32, abs=1e-3)
    assert detail["reconstruction"]["n_tokens"] == 2 * SPEC.windows_per_kind * 8


def test_oracle_tokens_track_time_varying_targets(probed) -> None:
    detail, rows = probed["oracle"]
    for task in ("factors:heart_rate_bpm", "factors:resp_rate_bpm", "factors:resp_phase",
                 "scenarios:steady:heart_rate_bpm", "scenarios:ramp_step:heart_rate_bpm",
                 "scenarios:steady:resp_phase"):
        assert rows[(task, "tracking_r2", "last")]["value"] > 0.95, task
    within = rows[("scenarios:ramp_step:heart_rate_bpm", "tracking_within_r2", "last")]
    assert within["value"] > 0.9
    traces = detail["tracking"]["scenarios:heart_rate_bpm"]["traces"]
    assert traces and {t["scenario"] for t in traces} == {"heart_rate_ramp", "heart_rate_step"}
    assert np.all(np.diff(traces[0]["time_s"]) >= 0)


def test_noise_tokens_reconstruct_and_track_nothing(probed) -> None:
    _, rows = probed["noise"]
    assert rows[("factors:all", "reconstruction_r2", "last")]["value"] < 0.05
    assert rows[("factors:heart_rate_bpm", "tracking_r2", "last")]["value"] < 0.1
    assert abs(rows[("factors:all", "autocorrelation_agreement", "last")]["value"]) < 0.15


def test_patch_tokens_preserve_autocorrelation(probed) -> None:
    detail, rows = probed["oracle"]
    # Excess over other windows of the same kind: a window's own autocorrelation matches
    # its tokens' similarity much better than another window's does.
    assert rows[("factors:all", "autocorrelation_agreement", "last")]["value"] > 0.5
    last = detail["autocorrelation"]["last"]
    assert last["all_own"] > last["all_null"] + 0.5
    curves = detail["autocorrelation"]["curves"]["all"]
    assert len(curves["signal_autocorrelation"]) == len(detail["autocorrelation"]["lags_tokens"])


@pytest.mark.parametrize(("model", "reason"), [
    ("summary", "distinct time span"), ("rotated", "no per-token arrays"),
])
def test_models_without_temporal_tokens_are_skipped_cleanly(probed, model, reason) -> None:
    detail, rows = probed[model]
    # Only the summary rows, each saying why it has no value.
    assert {(task, metric) for task, metric, _ in rows} == {
        ("factors:all", "reconstruction_r2"), ("factors:all", "autocorrelation_agreement"),
        ("scenarios:ramp_step:heart_rate_bpm", "tracking_within_r2")}
    for row in rows.values():
        assert np.isnan(row["value"]) and reason in row["note"]
    assert reason in detail["skipped"][0]["reason"]
    json.dumps(detail, allow_nan=False)


def test_autocorrelation_helpers_known_values() -> None:
    t = np.arange(400)
    z = np.sin(2 * np.pi * t / 40)[None]
    acf = signal_autocorrelation(z, np.array([20, 40]))
    assert acf[0, 0] == pytest.approx(-1.0, abs=0.06)
    assert acf[0, 1] == pytest.approx(1.0, abs=0.12)
    tokens = np.stack([np.cos(2 * np.pi * k / 4 + np.array([0, np.pi / 2])) for k in range(8)])
    sim = embedding_lag_similarity(tokens[None], 4)
    np.testing.assert_allclose(sim[0], [0.0, -1.0, 0.0, 1.0], atol=1e-12)
    r = rowwise_pearson(np.array([[1.0, 2, 3], [1, 1, 1]]), np.array([[2.0, 4, 6], [1, 2, 3]]))
    assert r[0] == pytest.approx(1.0) and np.isnan(r[1])


def test_span_means_mark_spans_with_missing_samples() -> None:
    values = np.array([[1.0, 3.0, np.nan, 5.0]])
    out = span_means(values, np.array([[0, 2], [1, 3], [3, 4]]))
    assert out[0, 0] == 2.0 and np.isnan(out[0, 1]) and out[0, 2] == 5.0


def test_token_gathering_and_subsampling_are_exact() -> None:
    from physio_bench.probes.tokens import TokenRows, gather_tokens, select_tokens

    array = np.random.default_rng(0).normal(size=(600, 10, 3)).astype(np.float16)
    rows = TokenRows(np.array([599, 0, 300, 5, 5]), np.array([9, 0, 4, 1, 2]))
    np.testing.assert_array_equal(gather_tokens(array, rows),
                                  array[rows.window, rows.token].astype(np.float32))
    valid = np.ones((3, 5), dtype=bool)
    valid[1, :4] = False
    picked = select_tokens(np.array([0, 2, 4, 6, 8]), valid, 3, seed=1)
    assert np.bincount(picked.window).tolist() == [3, 1, 3]
    assert picked.token[picked.window == 1].tolist() == [8]
    again = select_tokens(np.array([0, 2, 4, 6, 8]), valid, 3, seed=1)
    np.testing.assert_array_equal(picked.token, again.token)
