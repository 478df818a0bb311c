"""run_probe and ``physio-bench probe``: determinism, outputs, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SMALL_PROBE_SUITES, SMALL_PROBES, reference_results

from physio_bench.cli import main
from physio_bench.errors import ConfigError, InputError
from physio_bench.io import LEADERBOARD_COLUMNS, read_predictions
from physio_bench.probes.runner import PROBES, run_probe
from physio_bench.probes.synthetic import SyntheticSpec, write_embeddings

PROBES_SECTION = SMALL_PROBES
SPEC = SyntheticSpec(**SMALL_PROBE_SUITES)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reference_results(tmp_path_factory, "runner_results", SPEC)


@pytest.mark.parametrize("probe", PROBES)
def test_same_seed_gives_identical_json(results: Path, probe: str) -> None:
    config = {"seed": 1, "probes": PROBES_SECTION}
    first = json.dumps(run_probe(config, probe, "oracle", results)[0], sort_keys=True)
    again = json.dumps(run_probe(config, probe, "oracle", results)[0], sort_keys=True)
    assert first == again
    other = json.dumps(run_probe({"seed": 2, "probes": PROBES_SECTION}, probe, "oracle",
                                 results)[0], sort_keys=True)
    assert other != first
    json.loads(first, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def test_cli_writes_detail_and_leaderboard_rows(results: Path, tmp_path: Path) -> None:
    configfile = tmp_path / "probe.yaml"
    configfile.write_text(yaml.safe_dump({"seed": 3, "probes": PROBES_SECTION}))
    out_json, out_csv = tmp_path / "p" / "scenario_separation.json", tmp_path / "p" / "s.csv"
    out_predictions = tmp_path / "p" / "scenario_separation.predictions.parquet"
    code = main(["probe", "--configfile", str(configfile), "--model", "oracle",
                 "--probe", "scenario_separation", "--results", str(results),
                 "--out-json", str(out_json), "--out-csv", str(out_csv),
                 "--out-predictions", str(out_predictions)])
    assert code == 0
    predictions = read_predictions(out_predictions)
    assert set(predictions["layer"]) == {"last", "best"}
    assert len(predictions) == 2 * 6 * SPEC.subjects_per_scenario * 2  # 2 layers x windows
    rows = pd.read_csv(out_csv)
    assert list(rows.columns) == LEADERBOARD_COLUMNS
    assert set(rows["metric"]) == {"balanced_accuracy", "macro_f1", "silhouette", "fisher_ratio"}
    assert set(rows["layer"]) == {"last", "best"} and set(rows["stage"]) == {
        "scenario_separation"}
    detail = json.loads(out_json.read_text())
    assert detail["model"] == "oracle" and detail["settings"]["bootstrap"] == 50
    assert len(detail["leaderboard_rows"]) == len(rows)


def test_missing_embeddings_fail_with_one_line(results: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["probe", "--model", "nobody", "--probe", "scenario_separation",
                 "--results", str(results), "--out-json", str(tmp_path / "x.json"),
                 "--out-csv", str(tmp_path / "x.csv")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("physio-bench: error: embeddings of model 'nobody' for suite "
                          "'scenarios' not found at ")
    assert err.endswith("run the embed stage for this model first") and "\n" not in err
    assert not (tmp_path / "x.json").exists()


def test_inconsistent_inputs_are_refused(results: Path) -> None:
    with pytest.raises(ConfigError, match="unknown probe 'bogus': use one of"):
        run_probe({}, "bogus", "oracle", results)
    write_embeddings(results, "short", "scenarios", np.zeros((1, 5, 4)), ["last"])
    with pytest.raises(InputError, match="has 5 windows but the suite has 36"):
        run_probe({}, "scenario_separation", "short", results)
    write_embeddings(results, "layers", "scenarios", np.zeros((2, 36, 4)), ["last"])
    with pytest.raises(InputError, match=r"model\.json lists 1 layers"):
        run_probe({}, "scenario_separation", "layers", results)


def test_json_conversion_rounds_and_drops_non_finite_values() -> None:
    from physio_bench.probes.runner import to_jsonable

    out = to_jsonable({"a": np.array([1.0 / 3, np.nan]), "b": (np.int64(2), np.float32(np.inf)),
                       "c": np.bool_(True)})
    assert out == {"a": [0.3333333, None], "b": [2, None], "c": True}
