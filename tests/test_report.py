"""Figures: the file list follows from the config, every file is a valid image, the data
behind each figure is deterministic, missing inputs are skipped with a logged reason."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import REPORT_CLASSES, REPORT_MODELS, small_report_config, synthetic_results
from PIL import Image

from physio_bench.cli import main
from physio_bench.io import save_npy
from physio_bench.preflight import load_config
from physio_bench.report.figures import (
    FigureContext,
    draw_figures,
    figure_files,
    figure_inputs,
    figure_kinds,
)
from physio_bench.report.inputs import feature_independence as fi
from physio_bench.report.inputs import scenario_separation as ss
from physio_bench.report.inputs import temporal_dynamics as td
from physio_bench.report.style import OKABE_ITO, ModelStyle
from physio_bench.report.synthetic import write_synthetic_results

SMALL = small_report_config(("ecg", "rsp"), REPORT_CLASSES, REPORT_MODELS)
SEEDS = [f"moirai-small-untrained-seed{k}" for k in range(3)]  # replicates: 3 by default
EXPECTED_STEMS = [
    "signals_by_kind", "signals_by_scenario", "signals_class_normal_sinus",
    "signals_class_apnea", "signals_class_heart_rate_ramp", "fi_r2_heatmap", "fi_metric_bars",
    "fi_calibration", "fi_decoded_vs_true_raw", *(f"fi_decoded_vs_true_{s}" for s in SEEDS),
    "fi_decoded_vs_true_moirai-1.1-R-small", "fi_mixing_raw",
    *(f"fi_mixing_{s}" for s in SEEDS), "fi_mixing_moirai-1.1-R-small",
    "td_metric_bars", "td_reconstruction", "td_tracking", "ss_metric_bars", "ss_confusion",
    "ss_embedding_map", "layerwise_curves",
    "ds_mae_bars", "ds_sim2real_scatter", "ds_bland_altman_hr", "ds_bland_altman_rr",
    "ds_beat_confusion", "comparisons_forest", "sensitivity_input_rate",
    "sensitivity_cycles_moirai-small-untrained", "sensitivity_context_moirai-small-untrained",
]


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


@pytest.fixture(scope="module")
def config(config_path: Path) -> dict:
    return load_config([config_path])


@pytest.fixture(scope="module")
def drawn(config: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic results with every default-style figure drawn."""
    return synthetic_results(tmp_path_factory, "drawn", config, draw_figures)


def test_figure_files_follow_from_the_config(config: dict) -> None:
    assert figure_files(config) == [f"results/figures/{s}.png" for s in EXPECTED_STEMS]
    publication = figure_files(config, results="out", style="publication")
    assert publication == [f"out/figures/{s}{ext}" for s in EXPECTED_STEMS
                           for ext in (".pdf", ".svg")]
    assert figure_files(config, sections=["downstream"]) == [
        "results/figures/ds_mae_bars.png", "results/figures/ds_sim2real_scatter.png",
        "results/figures/ds_bland_altman_hr.png", "results/figures/ds_bland_altman_rr.png",
        "results/figures/ds_beat_confusion.png"]


def test_every_figure_kind_has_its_report_caption() -> None:
    """`snakemake --report` stops at the first figure without workflow/report/{kind}.rst."""
    from physio_bench.config import REPO_ROOT

    captions = REPO_ROOT / "workflow" / "report"
    missing = [k.name for k in figure_kinds() if not (captions / f"{k.name}.rst").is_file()]
    assert not missing, f"no caption file in {captions} for {missing}"


def test_every_listed_figure_is_written_and_decodes(drawn: Path, config: dict) -> None:
    written = sorted(str(p) for p in (drawn / "figures").iterdir())
    assert written == sorted(figure_files(config, results=drawn))
    for path in written:
        assert Path(path).stat().st_size > 1000
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) > 100


def _same(a: Any, b: Any) -> bool:
    """Deep equality of figure data (dicts, lists, tuples, arrays; NaN equals NaN)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return a == b


def test_figure_data_is_deterministic_and_complete(drawn: Path, config: dict) -> None:
    first = FigureContext(config=config, results=drawn, style="default")
    second = FigureContext(config=config, results=drawn, style="default")
    for kind in figure_kinds():
        if not kind.applies_to(config):
            continue
        for _, model in kind.stems(kind.models_for(config, first.models)):
            args = (model,) if kind.per_model else ()
            a, b = kind.data(first, *args), kind.data(second, *args)
            assert _same(a, b), kind.name
            assert not a["missing"], (kind.name, a["missing"])  # synthetic results are complete


def test_model_colours_are_fixed_by_config_position(config: dict) -> None:
    colors = ModelStyle.from_config(config)
    names = list(config["models"])
    assert colors.color(names[0]) == OKABE_ITO[0]
    assert colors.color("moirai-1.1-R-small") == OKABE_ITO[names.index("moirai-1.1-R-small")]
    assert colors.marker(names[len(OKABE_ITO)]) != colors.marker(names[0])


def test_publication_style_is_vector_and_byte_identical(config: dict, tmp_path: Path) -> None:
    results = write_synthetic_results(tmp_path / "results", config)
    sections = ["downstream"]
    draw_figures(config, results, sections=sections, style="publication")
    paths = figure_files(config, results=results, sections=sections, style="publication")
    first = {p: Path(p).read_bytes() for p in paths}
    for path, data in first.items():
        if path.endswith(".pdf"):
            assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
            assert b"/Type /Page" in data and b"CreationDate" not in data
        else:
            root = ET.fromstring(data)
            assert root.tag == "{http://www.w3.org/2000/svg}svg"
            assert b"<dc:date>" not in data
    draw_figures(config, results, sections=sections, style="publication")
    assert {p: Path(p).read_bytes() for p in paths} == first


def test_missing_inputs_are_skipped_with_a_logged_reason(
        config: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    results = write_synthetic_results(tmp_path / "results", config)
    (results / "probes" / "raw" / "scenario_separation.json").unlink()
    broken = results / "downstream" / "moirai-small-untrained-seed0.json"
    broken.write_text(json.dumps({"layer_names": ["x"]}))
    with caplog.at_level(logging.WARNING, logger="physio_bench.report"):
        draw_figures(config, results, sections=["scenario_separation", "downstream"])
    messages = [r.getMessage() for r in caplog.records]
    assert any("ss_confusion" in m and "scenario_separation.json does not exist" in m
               for m in messages)
    assert any("ds_sim2real_scatter" in m and "lacks key 'tasks'" in m for m in messages)
    for path in figure_files(config, results=results,
                             sections=["scenario_separation", "downstream"]):
        with Image.open(path) as image:
            image.verify()


def test_nothing_at_all_still_gives_placeholder_figures(config: dict, tmp_path: Path) -> None:
    draw_figures(config, tmp_path, sections=["signals", "layerwise"])
    for path in figure_files(config, results=tmp_path, sections=["signals", "layerwise"]):
        with Image.open(path) as image:
            image.verify()


def test_readers_known_answers(config: dict, tmp_path: Path) -> None:
    results = write_synthetic_results(tmp_path / "results", config)
    data = fi.load(results, "raw")
    blocks = fi.mixing(data)
    assert list(blocks) == ["ecg", "rsp"]
    ecg = data["kinds"]["ecg"]["last"]
    squared = np.asarray(ecg["entanglement"]["mixing_matrix"]) ** 2
    np.testing.assert_allclose(blocks["ecg"]["mixing"], squared / squared.sum(axis=0))
    np.testing.assert_allclose(blocks["ecg"]["mixing"].sum(axis=0), 1.0)
    np.testing.assert_allclose(blocks["ecg"]["cross_talk"], ecg["cross_talk"]["matrix"])
    assert fi.calibration(data) == {"d": 32, "n": 4}
    assert list(fi.predictions(data)) == ["ecg:heart_rate_bpm", "ecg:heart_rate_std_bpm",
                                          "ecg:noise_amplitude_au", "rsp:noise_amplitude_au",
                                          "rsp:resp_rate_bpm"]
    traces = td.tracking_examples(td.load(results, "raw"), limit=4)
    assert [t["label"] for t in traces] == [
        "heart_rate_bpm (heart_rate_ramp)", "heart_rate_bpm (heart_rate_step)",
        "resp_rate_bpm (resp_rate_ramp)", "resp_rate_bpm (resp_rate_step)"]
    example = td.reconstruction_examples(td.load(results, "raw"), 5, sampling_rate_hz=32.0)[0]
    assert example["label"] == "ecg"
    np.testing.assert_allclose(example["time_s"], np.linspace(0, 31, 32) / 32.0)
    found = ss.confusion(ss.load(results, "raw"))
    assert found["classes"] == ["apnea", "heart_rate_ramp", "normal_sinus"]


def test_pca_map_fallback_separates_known_clusters(tmp_path: Path) -> None:
    """Without map_2d in the JSON, the map is PCA of the pooled embeddings: two scenarios
    offset along one direction land on opposite sides of the first axis."""
    import pandas as pd

    rng = np.random.default_rng(0)
    pooled = rng.normal(0, 0.1, (2, 20, 6)).astype(np.float32)
    pooled[-1, 10:, :4] += 5.0  # four correlated dimensions: the first principal axis
    save_npy(tmp_path / "embeddings" / "m" / "scenarios" / "pooled.npy", pooled)
    labels = pd.DataFrame({"scenario": ["a"] * 10 + ["b"] * 10})
    (tmp_path / "simulated" / "scenarios").mkdir(parents=True)
    labels.to_parquet(tmp_path / "simulated" / "scenarios" / "labels.parquet")
    found = ss.pca_map(tmp_path, "m")
    x = found["x"]
    assert found["labels"][:10] == ["a"] * 10
    assert (np.sign(x[:10]) == -np.sign(x[10:].mean())).all()
    assert np.array_equal(ss.pca_map(tmp_path, "m")["x"], x)


def test_figure_inputs_name_stage_outputs(config: dict) -> None:
    assert figure_inputs(config, "downstream") == [
        "results/downstream/raw.json", "results/downstream/raw.csv",
        *(f"results/downstream/{s}.{ext}" for s in SEEDS for ext in ("json", "csv")),
        "results/downstream/moirai-1.1-R-small.json",
        "results/downstream/moirai-1.1-R-small.csv",
        "results/downstream/reference-method.json",
        "results/downstream/reference-method.csv"]
    assert figure_inputs(config, "comparisons") == ["results/comparisons.csv"]
    assert "results/simulated/scenarios/signals.npy" in figure_inputs(config, "signals")


def test_cli_figures_and_provenance(config_path: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    write_synthetic_results(tmp_path, load_config([config_path]))
    assert main(["figures", "--configfile", str(config_path), "--results", str(tmp_path),
                 "--section", "downstream"]) == 0
    assert "drew 5 figures" in capsys.readouterr().out
    assert main(["provenance", "--configfile", str(config_path), "--results", str(tmp_path)]) == 0
    text = (tmp_path / "models.md").read_text()
    assert "| moirai-1.1-R-small | pretrained | enabled=True, plugin=moirai" not in text
    assert "| moirai-1.1-R-small | pretrained | plugin=moirai, size=small, " \
           "weights=Salesforce/moirai-1.1-R-small | Salesforce/moirai-1.1-R-small |" in text


def test_unknown_section_is_one_clear_error(config: dict) -> None:
    from physio_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="figure section 'plots' is unknown: use one of "
                                          "signals, feature_independence"):
        figure_files(config, sections=["plots"])
