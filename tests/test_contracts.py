"""Shared on-disk contracts: leaderboard rows, prediction tables, the metric registry."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from physio_bench.io import (
    LEADERBOARD_COLUMNS,
    PREDICTION_COLUMNS,
    read_predictions,
    save_predictions,
    write_leaderboard_rows,
)
from physio_bench.metrics import (
    HIGHER,
    LOWER,
    METRICS,
    MetricSpec,
    chance_of,
    direction_of,
    metric_spec,
    register,
)


def _row(**extra: object) -> dict[str, object]:
    return {"model": "m", "pretrained": False, "stage": "downstream", "task": "t",
            "metric": "mae", "layer": "last", "value": 1.0, "ci_low": 0.5, "ci_high": 1.5,
            "n": 10, **extra}


def test_leaderboard_rows_take_defaults_for_optional_columns(tmp_path) -> None:
    frame = write_leaderboard_rows(tmp_path / "rows.csv", [_row(), _row(note="x", n_subjects=3)])
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    back = pd.read_csv(tmp_path / "rows.csv", keep_default_na=False)
    assert back["note"].tolist() == ["", "x"]
    assert back["n_subjects"].tolist() == ["", "3"]


def test_leaderboard_rows_without_a_required_column_fail(tmp_path) -> None:
    row = _row()
    del row["value"]
    with pytest.raises(ValueError, match="value"):
        write_leaderboard_rows(tmp_path / "rows.csv", [row])
    assert not (tmp_path / "rows.csv").exists()


def test_predictions_round_trip_with_fixed_dtypes(tmp_path) -> None:
    frame = pd.DataFrame({
        "task": ["a", "a"], "metric": ["r2", "r2"], "layer": ["last", "last"],
        "repeat": [0, 0], "item": [3, 4], "subject": [7, 8], "target": ["hr", "hr"],
        "y_true": [60, 70], "y_pred": [61.5, 69.0],
    })
    save_predictions(tmp_path / "p.parquet", frame)
    back = read_predictions(tmp_path / "p.parquet")
    assert list(back.columns) == PREDICTION_COLUMNS
    assert back["subject"].tolist() == ["7", "8"] and back["y_true"].dtype == np.float64
    with pytest.raises(ValueError, match="y_pred"):
        save_predictions(tmp_path / "q.parquet", frame.drop(columns="y_pred"))


def test_metric_registry_directions_and_chance() -> None:
    assert {spec.direction for spec in METRICS.values()} <= {HIGHER, LOWER}
    assert direction_of("mae") == LOWER and direction_of("r2") == HIGHER
    assert chance_of("r2") == 0.0 and math.isnan(chance_of("balanced_accuracy"))
    with pytest.raises(KeyError, match="known metrics"):
        metric_spec("no such metric")


def test_register_refuses_a_conflicting_spec() -> None:
    spec = METRICS["r2"]
    assert register(spec) is spec
    with pytest.raises(ValueError, match="already registered"):
        register(MetricSpec("r2", LOWER, "something else"))
