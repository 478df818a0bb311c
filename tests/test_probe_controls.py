"""Every probe metric against its controls.

Positive controls it must detect: the oracle (true factors, scenario one-hot, patch
tokens), an *entangled* oracle (the first factor's dimension holds A + 0.7 B and B has no
dimension of its own) and a *rotated* oracle. Negative controls it must not reward:
noise embeddings, tokens that carry only their position in the window, a subject-identity
embedding, and a random projection of raw patches, which is the example plug-in of
``plugins/physio-bench-example`` run through the real embed code path (shards and merge).
A random projection of patches legitimately wins ``reconstruction_r2`` and
``autocorrelation_agreement`` (both ask what a token keeps of the waveform it covers).
"""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from conftest import reference_results
from sklearn.exceptions import ConvergenceWarning

from physio_bench.models import registry
from physio_bench.models.embed import embed_shard, merge_embeddings
from physio_bench.preflight import load_config
from physio_bench.probes.calibration import calibrate
from physio_bench.probes.cv import nested_folds
from physio_bench.probes.entanglement import entanglement, reliable_factors
from physio_bench.probes.runner import ProbeOutput, run_probe, run_probe_outputs
from physio_bench.probes.scenario_separation import nested_logistic
from physio_bench.probes.stats import r2_estimates
from physio_bench.probes.synthetic import (
    SYNTHETIC_FACTORS,
    SyntheticSpec,
    write_control_embeddings,
    write_embeddings,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SRC = REPO / "plugins" / "physio-bench-example" / "src"
CONFIG = {"seed": 3, "probes": {"cv_folds": 3, "inner_folds": 2, "bootstrap": 200,
                                "max_tokens_per_window": 8}}
# ecg and rsp sinusoids plus EDA-like random walks (whose smooth autocorrelation a
# position-only token sequence imitates); subjects span scenarios.
SPEC = SyntheticSpec(windows_per_kind=200, subjects_per_scenario=8,
                     windows_per_scenario_subject=2, sweep_subjects=6, shared_subjects=False,
                     kinds={**SYNTHETIC_FACTORS, "eda": [("noise_amplitude_au", 0, 0.2)]})
PROBES = ("feature_independence", "temporal_dynamics", "scenario_separation")
MODELS = ("oracle", "entangled", "rotated", "noise", "position", "randproj")


def embed_random_projection(results: Path) -> None:
    """The example plug-in (random projection of 16-sample patches to 32 dims, then tanh),
    found through an entry point and run by the core's embed_shard/merge_embeddings."""
    config = load_config()
    config["models"] = {"randproj": {"plugin": "example", "patch_samples": 16, "dim": 32}}
    config["embed"].update({"shard_size": 1000, "batch_size": 64, "token_layers": "all",
                            "token_dtype": "float32"})
    found = dict(registry.available_plugins())
    found["example"] = EntryPoint("example", "physio_bench_example:RandomProjectionModel",
                                  registry.ENTRY_POINT_GROUP)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(EXAMPLE_SRC))
        patch.setattr(registry, "available_plugins", lambda: found)
        for suite in ("factors", "sweeps", "scenarios"):
            out = results / "embeddings" / "randproj" / suite
            shard = out / "shards" / "0000.npz"
            embed_shard(config, "randproj", results / "simulated" / suite, 0, shard)
            merge_embeddings(config, "randproj", [shard], out)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = reference_results(tmp_path_factory, "controls", SPEC)
    write_control_embeddings(root, SPEC)
    embed_random_projection(root)
    return root


@pytest.fixture(scope="module")
def outputs(results: Path) -> dict[tuple[str, str], ProbeOutput]:
    """(model, probe) -> the probe's output, for every model and probe."""
    return {(model, probe): run_probe_outputs(CONFIG, probe, model, results)
            for model in MODELS for probe in PROBES}


@pytest.fixture(scope="module")
def rows(outputs: dict) -> dict[str, dict[tuple[str, str, str, str], dict]]:
    """model -> {(probe, task, metric, layer): row}."""
    out: dict[str, dict] = {model: {} for model in MODELS}
    for (model, probe), output in outputs.items():
        out[model].update({(probe, r["task"], r["metric"], r["layer"]): r for r in output.rows})
    return out


def value(rows: dict, model: str, probe: str, task: str, metric: str,
          layer: str = "last") -> float:
    return rows[model][(probe, task, metric, layer)]["value"]


def missing(rows: dict, model: str, probe: str, task: str, metric: str,
            layer: str = "last") -> bool:
    row = rows[model][(probe, task, metric, layer)]
    return bool(np.isnan(row["value"]) and row["note"].startswith("not estimable"))


FI, TD, SS = PROBES


def test_random_projection_went_through_the_embed_path(results: Path) -> None:
    import json

    info = json.loads((results / "embeddings" / "randproj" / "factors" / "model.json")
                      .read_text())
    assert (info["plugin"], info["dim"], info["layer_names"]) == (
        "example", 32, ["projection", "output"])


# ------------------------------------------------------------------ feature independence

@pytest.mark.parametrize("metric", ["r2", "r2_nonlinear"])
def test_r2_detects_the_oracle_and_rewards_no_negative_control(rows, metric) -> None:
    assert value(rows, "oracle", FI, "all", metric) > 0.9
    for control in ("noise", "position"):
        assert value(rows, control, FI, "all", metric) < 0.05
        assert rows[control][(FI, "all", metric, "last")]["ci_low"] < 0.05
    assert value(rows, "randproj", FI, "all", metric) < value(rows, "oracle", FI, "all", metric)


def test_entanglement_detects_mixing_and_not_noise(rows) -> None:
    for kind in ("ecg", "rsp"):
        assert abs(value(rows, "oracle", FI, kind, "entanglement")) < 0.02
        assert abs(value(rows, "rotated", FI, kind, "entanglement")) < 0.02  # unmixable
        assert value(rows, "entangled", FI, kind, "entanglement") > 0.15
        assert rows["entangled"][(FI, kind, "entanglement", "last")]["ci_low"] > 0.05
    for control in ("noise", "position"):
        assert missing(rows, control, FI, "all", "entanglement")
    # Whatever the random projection decodes, it is never more entangled than the
    # entangled oracle, and it is either estimable or says why not.
    row = rows["randproj"][(FI, "all", "entanglement", "last")]
    assert row["note"] or row["value"] < value(rows, "entangled", FI, "all", "entanglement")


def _predictions(n: int, rng: np.random.Generator, kind: str) -> tuple[np.ndarray, ...]:
    y = rng.uniform(size=(n, 3))
    if kind == "oracle":
        pred = y + 0.05 * rng.normal(size=y.shape)
    elif kind == "entangled":  # decoded A = A + 0.7 B, as a least-squares decoder outputs it
        pred = y.copy()
        mixed = y[:, 0] + 0.7 * y[:, 1]
        slope = np.cov(mixed, y[:, 0])[0, 1] / mixed.var(ddof=1)
        pred[:, 0] = y[:, 0].mean() + slope * (mixed - mixed.mean())
    else:  # pure noise, correlated across factors (shared features)
        shared = rng.normal(size=(n, 1))
        pred = 0.02 * (shared + rng.normal(size=(n, 3)))
    return y, pred


def test_entanglement_known_answers_on_predictions() -> None:
    """Oracle ~ 0; decoded A = A + 0.7 B: leakage of A = 0.49 / 1.49 = 0.33; pure noise
    is not estimable (nothing reliably decoded), never above the entangled oracle."""
    rng = np.random.default_rng(0)
    n = 600
    groups, folds = np.arange(n), np.arange(n) % 5
    found = {}
    for kind in ("oracle", "entangled", "noise"):
        y, pred = _predictions(n, rng, kind)
        r2 = r2_estimates(y, pred, groups, 200, 1)
        found[kind] = entanglement(y, pred, folds, groups, reliable_factors(r2), 200, 2)
    assert abs(found["oracle"].excess.value) < 0.01
    leak = found["entangled"].leakage - found["entangled"].null
    assert leak[0] == pytest.approx(0.49 / 1.49, abs=0.03)
    assert found["entangled"].excess.value > 0.08
    assert found["noise"].excess is None and "no factor reliably decoded" in found["noise"].note
    assert not found["noise"].reliable.any()


def test_residual_correlation_detects_shared_errors(rows) -> None:
    chance = rows["oracle"][(FI, "ecg", "residual_correlation", "last")]["chance"]
    assert value(rows, "oracle", FI, "ecg", "residual_correlation") < chance + 0.1
    for control in ("noise", "position"):
        assert missing(rows, control, FI, "ecg", "residual_correlation")
    # Decoding errors that move together (a nuisance shared by two factors' readings).
    rng = np.random.default_rng(3)
    n = 600
    y = rng.uniform(size=(n, 3))
    groups, folds = np.arange(n), np.arange(n) % 5
    shared = 0.1 * rng.normal(size=(n, 1))
    for pred, high in ((y + 0.1 * rng.normal(size=y.shape), False), (y + shared, True)):
        r2 = r2_estimates(y, pred, groups, 100, 1)
        found = entanglement(y, pred, folds, groups, reliable_factors(r2), 100, 2)
        assert (found.residual.value > 0.9) if high else (
            found.residual.value < 3 * found.residual_chance)
        assert abs(found.excess.value) < 0.02  # shared errors are not mixing of factors


@pytest.mark.parametrize("metric", ["dci_disentanglement", "dci_completeness"])
def test_dci_tells_the_oracle_from_its_rotation_and_ignores_noise(rows, metric) -> None:
    for kind in ("ecg", "rsp"):
        oracle = value(rows, "oracle", FI, kind, metric)
        assert oracle > 0.9
        assert value(rows, "rotated", FI, kind, metric) < oracle - 0.3
        for control in ("noise", "position"):
            assert missing(rows, control, FI, kind, metric)
        row = rows["randproj"][(FI, kind, metric, "last")]
        assert row["note"] or row["value"] <= oracle


def test_an_aggregate_with_a_missing_component_is_missing(rows) -> None:
    """eda has one factor: no disentanglement, hence none for ``all`` either (never an
    average over the kinds that have one)."""
    assert missing(rows, "oracle", FI, "eda", "dci_disentanglement")
    row = rows["oracle"][(FI, "all", "dci_disentanglement", "last")]
    assert np.isnan(row["value"]) and row["note"] == "not estimable: no value for eda"
    assert value(rows, "oracle", FI, "all", "dci_completeness") > 0.9


def test_cross_talk_is_relative_to_the_own_response(rows) -> None:
    for kind in ("ecg", "rsp"):
        assert value(rows, "oracle", FI, kind, "cross_talk") < 0.05
        assert value(rows, "entangled", FI, kind, "cross_talk") > 0.3
    # A representation that moves nothing used to score a perfect 0; now it has no value.
    for control in ("noise", "position"):
        assert missing(rows, control, FI, "all", "cross_talk")
    row = rows["randproj"][(FI, "all", "cross_talk", "last")]
    assert row["note"] or row["value"] > value(rows, "oracle", FI, "all", "cross_talk")


def test_cross_talk_needs_enough_sweep_subjects(results: Path) -> None:
    _, found = run_probe({**CONFIG, "statistics": {"min_groups": SPEC.sweep_subjects + 1}},
                         FI, "oracle", results)
    talk = {(r["task"], r["layer"]): r for r in found if r["metric"] == "cross_talk"}
    assert talk and all(np.isnan(r["value"]) for r in talk.values())
    assert talk[("ecg", "last")]["note"] == (f"not estimable: {SPEC.sweep_subjects} groups "
                                             f"(need {SPEC.sweep_subjects + 1})")
    # ... and so has the aggregate (not an average of values that cannot be estimated).
    assert talk[("all", "last")]["note"] == "not estimable: no value for ecg, eda, rsp"
    r2 = next(r for r in found if (r["task"], r["metric"], r["layer"]) == ("all", "r2", "last"))
    assert r2["value"] > 0.9 and r2["n_subjects"] == 3 * SPEC.windows_per_kind


def test_calibration_shows_when_the_probe_is_starved() -> None:
    """A perfect feature among d noise dimensions: R² near 1 when n >> d, far lower at
    d = 8 n (the probe, not the representation, limits R²)."""
    rng = np.random.default_rng(1)
    n = 200
    y = rng.uniform(size=n)
    groups = np.arange(n)
    outer, inner = nested_folds(groups, 5, 3, seed=1)
    ample, _ = calibrate(y, groups, outer, inner, 8, 100, 1)
    starved, info = calibrate(y, groups, outer, inner, 8 * n, 100, 1)
    assert ample.value > 0.95
    assert starved.value < ample.value - 0.2
    assert info["d"] == 8 * n and info["n"] == n


def test_calibration_row_is_reported_at_the_models_size(rows, outputs) -> None:
    for model in ("oracle", "randproj"):
        row = rows[model][(FI, "calibration", "calibration_r2", "last")]
        assert row["value"] > 0.9 and row["n"] == SPEC.windows_per_kind
    assert outputs[("randproj", FI)].detail["calibration"]["d"] == 32


# --------------------------------------------------------------------- temporal dynamics

def test_reconstruction_rewards_waveform_and_nothing_else(rows) -> None:
    assert value(rows, "oracle", TD, "factors:all", "reconstruction_r2") > 0.95
    for control in ("noise", "position"):
        assert value(rows, control, TD, "factors:all", "reconstruction_r2") < 0.05
    # Legitimately high for a random projection of patches: it keeps the waveform (up to
    # the per-window scale and offset that the z-scored target removes).
    for layer in ("last", "best"):
        assert value(rows, "randproj", TD, "factors:all", "reconstruction_r2", layer) > 0.5


@pytest.mark.parametrize("task", ["factors:heart_rate_bpm", "scenarios:ramp_step:heart_rate_bpm"])
def test_tracking_detects_tracking_tokens_only(rows, task) -> None:
    assert value(rows, "oracle", TD, task, "tracking_r2") > 0.95
    for control in ("noise", "position"):
        assert value(rows, control, TD, task, "tracking_r2") < 0.1


def test_within_window_tracking_is_not_won_by_position(rows) -> None:
    task = "scenarios:ramp_step:heart_rate_bpm"
    assert value(rows, "oracle", TD, task, "tracking_within_r2") > 0.9
    for control in ("noise", "position", "randproj"):
        assert value(rows, control, TD, task, "tracking_within_r2") < 0.1, control
    assert rows["oracle"][(TD, task, "tracking_within_r2", "last")]["n_subjects"] == 2 * 8


def test_autocorrelation_agreement_is_an_excess_that_position_cannot_win(rows) -> None:
    assert value(rows, "oracle", TD, "factors:all", "autocorrelation_agreement") > 0.3
    for control in ("noise", "position"):
        for task in ("factors:all", "factors:eda"):
            assert abs(value(rows, control, TD, task, "autocorrelation_agreement")) < 0.1
    # Legitimately won by a projection of the very patches whose autocorrelation it is.
    assert value(rows, "randproj", TD, "factors:all", "autocorrelation_agreement") > 0.3


# ------------------------------------------------------------------- scenario separation

def test_scenario_metrics_detect_the_oracle_and_stay_at_chance_for_noise(rows) -> None:
    for metric in ("balanced_accuracy", "macro_f1", "silhouette", "fisher_ratio"):
        oracle = rows["oracle"][(SS, "scenarios", metric, "last")]
        noise = rows["noise"][(SS, "scenarios", metric, "last")]
        if np.isnan(noise["ci_high"]):
            # issue 24: the noise Fisher ratio sits below all its resamples (resampling
            # inflates it), so the bootstrap forms no interval and says so
            assert metric == "fisher_ratio" and noise["note"].startswith("no interval")
            assert oracle["value"] > max(10 * noise["value"], oracle["chance"]), metric
            continue
        assert oracle["value"] > max(noise["ci_high"], oracle["chance"]), metric
        assert noise["ci_low"] <= noise["chance"] + 0.05 <= noise["ci_high"] + 0.2, metric
    fisher = rows["noise"][(SS, "scenarios", "fisher_ratio", "last")]
    assert fisher["chance"] > 0  # held-out LDA of noise is not 0: the null says how much
    assert fisher["value"] < 3 * fisher["chance"]


def test_subject_identity_does_not_inflate_silhouette_or_fisher_ratio(results: Path) -> None:
    from physio_bench.io import read_suite

    labels = read_suite(results / "simulated" / "scenarios").labels
    rng = np.random.default_rng(0)
    subjects, index = np.unique(labels["subject_id"], return_inverse=True)
    identity = 4.0 * rng.normal(size=(len(subjects), 32))[index]
    write_embeddings(results, "subject", "scenarios",
                     (identity + rng.normal(size=identity.shape))[None], ["last"])
    _, found = run_probe(CONFIG, SS, "subject", results)
    by = {r["metric"]: r for r in found if r["layer"] == "last"}
    assert abs(by["silhouette"]["value"]) < 0.1
    assert by["fisher_ratio"]["value"] < 3 * by["fisher_ratio"]["chance"]
    assert by["balanced_accuracy"]["value"] < by["balanced_accuracy"]["chance"] + 0.15


def test_logistic_regression_converges_without_silenced_warnings() -> None:
    """An embedding shaped like an untrained transformer's (after standardisation one
    shared direction carries most of the variance: the measured untrained Moirai pooled
    embeddings have an effective rank of 1.3-1.7) over 13 scenarios x 8 subjects x 4
    windows: no ConvergenceWarning at any C, with warnings turned into errors."""
    rng = np.random.default_rng(4)
    n_classes, subjects, windows = 13, 8, 4
    y = np.repeat(np.arange(n_classes), subjects * windows)
    groups = np.repeat(np.arange(n_classes * subjects), windows)
    latent = (rng.normal(size=(len(y), 4)) + 2.0 * rng.normal(size=(n_classes, 4))[y]
              + 2.0 * rng.normal(size=(n_classes * subjects, 4))[groups])
    shared = 10.0 * rng.normal(size=(len(y), 1)) @ (1 + 0.3 * rng.normal(size=(1, 192)))
    x = shared + latent @ rng.normal(size=(4, 192)) / 2 + 0.1 * rng.normal(size=(len(y), 192))
    outer, inner = nested_folds(groups, 3, 2, seed=2, strata=y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = nested_logistic(x[None], y, outer, inner, n_classes)
    assert (result["oof"][0] == y).mean() > 1.5 / n_classes


def test_prediction_tables_hold_the_headline_results(outputs) -> None:
    from physio_bench.io import PREDICTION_COLUMNS

    wanted = {FI: {("ecg:heart_rate_bpm", "r2"), ("ecg:heart_rate_bpm", "r2_nonlinear"),
                   ("ecg", "entanglement")},
              TD: {("scenarios:ramp_step:heart_rate_bpm", "tracking_within_r2")},
              SS: {("scenarios", "balanced_accuracy")}}
    for probe, keys in wanted.items():
        output = outputs[("oracle", probe)]
        table = output.predictions
        assert list(table.columns) == PREDICTION_COLUMNS
        assert keys <= set(zip(table["task"], table["metric"], strict=True))
        assert set(table["layer"]) == {"last", "best"}
        for (task, metric, layer), part in table.groupby(["task", "metric", "layer"]):
            row = next(r for r in output.rows if (r["task"], r["metric"], r["layer"])
                       == (task, metric, layer))
            assert part["subject"].nunique() == row["n_subjects"]
            if metric in ("r2", "r2_nonlinear"):  # the stored rows give the reported value
                ss_res = ((part["y_true"] - part["y_pred"]) ** 2).sum()
                ss_tot = ((part["y_true"] - part["y_true"].mean()) ** 2).sum()
                assert 1 - ss_res / ss_tot == pytest.approx(row["value"], abs=1e-6)


def test_entanglement_rows_of_the_prediction_table_give_the_reported_value(outputs) -> None:
    """The compare stage recomputes entanglement from the stored (fold-centred) rows."""
    from physio_bench.probes import entanglement_point

    output = outputs[("entangled", FI)]
    table = output.predictions
    part = table[(table["task"] == "ecg") & (table["metric"] == "entanglement")
                 & (table["layer"] == "last")]
    factors = list(dict.fromkeys(part["target"]))
    wide_true = part.pivot(index="item", columns="target", values="y_true")[factors]
    wide_pred = part.pivot(index="item", columns="target", values="y_pred")[factors]
    reliable = output.detail["kinds"]["ecg"]["last"]["reliable"]
    value_ = entanglement_point(wide_true.to_numpy(), wide_pred.to_numpy(),
                                np.isin(factors, reliable), seed=1)
    row = next(r for r in output.rows if (r["task"], r["metric"], r["layer"])
               == ("ecg", "entanglement", "last"))
    assert value_ == pytest.approx(row["value"], abs=0.02)


def test_kernel_ceiling_finds_what_is_present_but_not_linearly_accessible() -> None:
    """A factor held on a spiral (x = (1 + A) (cos 4 pi A, sin 4 pi A)): the linear probe
    finds little of it, the kernel probe most of it; a factor held linearly along one of
    many dimensions is found by both (the linear kernel is among the candidates)."""
    from physio_bench.probes.nonlinear import nested_kernel_ridge
    from physio_bench.probes.ridge import nested_ridge

    rng = np.random.default_rng(6)
    n = 300
    a = rng.uniform(size=n)
    groups = np.arange(n)
    outer, inner = nested_folds(groups, 5, 2, seed=3)
    turn = 4 * np.pi * a
    folded = np.column_stack([(1 + a) * np.cos(turn), (1 + a) * np.sin(turn),
                              0.1 * rng.normal(size=(n, 2))])
    linear = np.column_stack([a + 0.02 * rng.normal(size=n), rng.normal(size=(n, 39))])
    for x, kernel_wins in ((folded, True), (linear, False)):
        lin = nested_ridge(lambda _, x=x: x, 1, a, outer, inner).oof[0][:, 0]
        ker = nested_kernel_ridge(lambda _, x=x: x, np.zeros(5, int), a, outer, inner).oof[:, 0]
        r2_lin, r2_ker = (1 - ((a - p) ** 2).sum() / ((a - a.mean()) ** 2).sum()
                          for p in (lin, ker))
        if kernel_wins:
            assert r2_lin < 0.3 and r2_ker > r2_lin + 0.4
        else:
            assert r2_lin > 0.95 and r2_ker > r2_lin - 0.02
