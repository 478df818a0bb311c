"""Window-level classes from a reader's own labels (``classes(record)``): CPSC 2021's
annotated AF episodes and CinC 2021's SNOMED diagnoses, cut into windows and scored by
the ``real:*:*:class_NAME`` task, with a positive and a negative control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from physio_bench.downstream import make_real_suite
from physio_bench.downstream.tasks import Embedded, Task, dataset_tasks, run_real_class_task
from physio_bench.preflight import load_config


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def cinc(config, tmp_path_factory):
    out = tmp_path_factory.mktemp("cinc")
    meta = make_real_suite(config, "cinc2021-ii", out)
    return meta, pd.read_parquet(out / "labels.parquet")


def test_cinc_diagnoses_become_record_level_classes(cinc):
    meta, labels = cinc
    assert meta["n_windows"] == 50 and meta["n_subjects"] == 50
    assert {"class_sinus_tachycardia", "class_pac", "class_pvc"} <= set(meta["targets"]["ecg"])
    # counts of the clinicians' codes in the 50 headers (data/README.md)
    assert int(labels["class_sinus_tachycardia"].sum()) == 23
    assert int(labels["class_sinus_bradycardia"].sum()) == 7
    assert int(labels["class_pvc"].sum()) == 5
    assert "class_pac" not in meta["factor_columns"]["ecg"]
    tasks = [t.name for t in dataset_tasks("cinc2021-ii", meta["targets"])]
    assert "real:cinc2021-ii:ecg:class_pac" in tasks
    assert "sim2real:cinc2021-ii:ecg:class_pac" not in tasks  # real only


def test_cpsc_af_episodes_label_windows_and_count_mixed_ones(config, tmp_path):
    meta = make_real_suite(config, "cpsc2021", tmp_path)
    labels = pd.read_parquet(tmp_path / "labels.parquet")
    by_subject = labels.groupby("subject_id")["class_af"].mean()
    assert by_subject["P8"] == by_subject["P84"] == 1.0  # persistent AF
    assert by_subject["P21"] == by_subject["P35"] == 0.0  # no AF
    counts = meta["records"]["data_101_6"]["ecg"]["labels"]["class_af"]
    assert counts["dropped"]["mixed_class"] >= 1  # paroxysmal: windows across an episode
    assert counts["available"] + counts["dropped"]["mixed_class"] == \
        meta["records"]["data_101_6"]["ecg"]["kept"]
    # 6 patients: AF is present in fewer than statistics.min_groups of them
    real = Embedded(pooled=np.zeros((1, len(labels), 2), np.float32), labels=labels,
                    info={"layer_names": ["l0"]})
    detail = run_real_class_task(Task("real", "cpsc2021", "ecg", "class_af"), real, config)
    assert detail["note"].startswith("too small: the class is present in 3")
    assert "last" not in detail and detail["chance"] == 0.5


def _embedded(labels: pd.DataFrame, features: np.ndarray) -> Embedded:
    return Embedded(pooled=features[None].astype(np.float32), labels=labels,
                    info={"layer_names": ["l0"]})


def test_class_task_positive_and_negative_controls(cinc, config):
    _, labels = cinc
    task = Task("real", "cinc2021-ii", "ecg", "class_sinus_tachycardia")
    # positive control: the window's heart rate separates sinus tachycardia (> 100 bpm)
    hr = labels["heart_rate_bpm"].to_numpy()[:, None]
    good = run_real_class_task(task, _embedded(labels, hr), config)
    assert good["last"]["value"] > 0.8 and good["chance"] == 0.5
    assert good["n_positive"] == 23 and good["last"]["n_subjects"] == 50
    # negative controls: noise, and a constant, earn no skill over chance
    rng = np.random.default_rng(0)
    noise = run_real_class_task(task, _embedded(labels, rng.normal(size=(50, 4))), config)
    assert noise["last"]["value"] < 0.72
    flat = run_real_class_task(task, _embedded(labels, np.ones((50, 1))), config)
    assert flat["last"]["value"] == 0.5
