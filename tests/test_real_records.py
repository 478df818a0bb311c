"""Real WFDB records: the shipped PhysioNet records, NaN gaps, .mat and multi-frequency
records written with wfdb, and one-line errors for bad record entries."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
import yaml

from physio_bench.cli import main
from physio_bench.config import REPO_ROOT
from physio_bench.downstream import check_records, make_real_suite
from physio_bench.downstream.records import record_specs
from physio_bench.downstream.windows import fill_gaps, resample
from physio_bench.errors import InputError
from physio_bench.io import read_suite
from physio_bench.preflight import load_config

FS_OUT = 100.0
WINDOW = 400  # 4 s windows at 100 Hz


def _config(tmp_path: Path, records: list[dict], **downstream) -> tuple[dict, Path]:
    options = {"max_gap_s": 0.3, "max_missing_fraction": 0.2, **downstream}
    data = {"sampling_rate_hz": FS_OUT, "window_samples": WINDOW,
            "downstream": {"records": records, **options}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config([path]), path


def _ecg(duration_s: float, fs: int, heart_rate: int, seed: int = 0) -> np.ndarray:
    import neurokit2 as nk

    return nk.ecg_simulate(duration=duration_s, sampling_rate=fs, heart_rate=heart_rate,
                           random_state=seed)


def _write(folder: Path, name: str, fs: float, signals: dict[str, np.ndarray]) -> Path:
    """A single-frequency format-16 record; NaN samples become WFDB invalid samples."""
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(signals), sig_name=list(signals),
                p_signal=np.column_stack(list(signals.values())), fmt=["16"] * len(signals),
                adc_gain=[1000.0] * len(signals), baseline=[0] * len(signals),
                write_dir=str(folder))
    return folder / name


# --- the shipped PhysioNet records (default config) ---------------------------------


@pytest.fixture(scope="module")
def default_suite(tmp_path_factory):
    config = load_config()
    out = tmp_path_factory.mktemp("real")
    meta = make_real_suite(config, out)
    return config, meta, read_suite(out, mmap=False)


def test_default_records_are_shipped_inside_the_project():
    for entry in load_config()["downstream"]["records"]:
        assert not Path(entry["path"]).is_absolute()
        assert ".." not in Path(entry["path"]).parts
        assert (REPO_ROOT / (entry["path"] + ".hea")).exists()
    readme = (REPO_ROOT / "data" / "physionet" / "README.md").read_text()
    for name in ("100.dat", "100.atr", "03700181.dat"):
        assert name in readme


def test_default_suite_format_and_counts(default_suite):
    config, meta, suite = default_suite
    n = len(suite.labels)
    assert suite.signals.shape == (n, 1, config["window_samples"])
    assert suite.signals.dtype == np.float32
    assert np.isfinite(suite.signals).all()
    assert meta["n_windows"] == n and meta["channel_names"] == ["signal"]
    assert suite.labels["window_id"].tolist() == list(range(n))
    assert set(suite.labels["scenario"]) == {"real"}
    for key in ("heart_rate_bpm", "resp_rate_bpm"):
        assert suite.targets[key].shape == (n, config["window_samples"])
    for spec in record_specs(config):
        header = wfdb.rdheader(str(spec.path))
        duration_s = header.sig_len / header.fs
        expected = math.floor(duration_s * config["sampling_rate_hz"] / config["window_samples"])
        for kind in spec.channels:
            info = meta["records"][spec.name][kind]
            assert info["windows_total"] == expected
            assert info["kept"] + sum(info["dropped"].values()) == expected
            rows = suite.labels[(suite.labels.record == spec.name)
                                & (suite.labels.signal_kind == kind)]
            assert len(rows) == info["kept"]


def test_record_100_annotation_and_detector_heart_rates_agree(default_suite):
    _, _, suite = default_suite
    rows = suite.labels[suite.labels.record == "100"]
    assert set(rows["heart_rate_source"]) == {"annotation:atr"}
    diff = (rows["heart_rate_bpm"] - rows["measured_heart_rate_bpm"]).abs()
    assert diff.notna().all()
    within = float((diff <= 2.0).mean())
    print(f"record 100: {within:.3f} of {len(rows)} windows within 2 bpm, "
          f"median |diff| {diff.median():.4f} bpm")
    assert within >= 0.9
    assert diff.median() < 0.5
    # 33 A and 1 V beats in the record: some windows are ectopic, most are not.
    assert 0 < rows["ectopic"].sum() < 0.5 * len(rows)
    assert rows["n_ectopic_beats"].sum() == 34


def test_icu_record_uses_the_detector_and_has_breathing(default_suite):
    _, _, suite = default_suite
    ecg = suite.labels[(suite.labels.record == "03700181") & (suite.labels.signal_kind == "ecg")]
    rsp = suite.labels[(suite.labels.record == "03700181") & (suite.labels.signal_kind == "rsp")]
    assert ecg["heart_rate_source"].str.startswith("detector:").all()
    assert ecg["ectopic"].isna().all()
    # Machine QRS detections shipped with the record (gqrsh) give the same heart rate.
    ann = wfdb.rdann(str(REPO_ROOT / "data/physionet/03700181"), "gqrsh")
    gqrs_rate = 60.0 / np.median(np.diff(ann.sample / ann.fs))
    assert abs(ecg["heart_rate_bpm"].median() - gqrs_rate) < 3.0
    assert rsp["resp_rate_bpm"].between(5, 40).all()
    assert rsp["heart_rate_bpm"].isna().all() and ecg["resp_rate_bpm"].isna().all()


# --- records written here: NaN gaps, .mat, multi-frequency --------------------------


def test_nan_gaps_interpolated_or_dropped_and_counted(tmp_path):
    fs = 200
    ecg = _ecg(40, fs, heart_rate=72)
    ecg[int(5.0 * fs):int(5.25 * fs)] = np.nan    # window 1: 0.25 s gap, interpolated
    ecg[int(13.0 * fs):int(14.5 * fs)] = np.nan   # window 3: 37.5% missing, dropped
    ecg[int(21.0 * fs):int(21.6 * fs)] = np.nan   # window 5: 0.6 s > max_gap_s, dropped
    path = _write(tmp_path, "gappy", fs, {"ECG": ecg})
    config, _ = _config(tmp_path, [{"path": str(path), "channels": {"ecg": "ECG"}}])
    meta = make_real_suite(config, tmp_path / "out")
    suite = read_suite(tmp_path / "out", mmap=False)
    info = meta["records"]["gappy"]["ecg"]
    assert info["windows_total"] == 10
    assert info["dropped"] == {"missing_fraction": 1, "long_gap": 1, "flat_signal": 0}
    assert info["kept"] == 8
    assert info["missing_samples"] == int(0.25 * fs + 1.5 * fs + 0.6 * fs)
    assert suite.labels["start_s"].tolist() == [0.0, 4.0, 8.0, 16.0, 24.0, 28.0, 32.0, 36.0]
    assert np.isfinite(suite.signals).all()
    gap_row = suite.labels.iloc[1]
    assert gap_row["n_missing_samples"] in (25, 26)  # 0.25 s at 100 Hz (+1 at an edge)
    assert suite.labels.iloc[[0, 2]]["n_missing_samples"].tolist() == [0, 0]
    assert (suite.labels["heart_rate_bpm"] - 72).abs().max() < 3.0


def test_fill_gaps_marks_short_and_long_runs():
    x = np.arange(20, dtype=float)
    x[3:5] = np.nan
    x[10:16] = np.nan
    filled, missing, long_gap = fill_gaps(x, fs=10.0, max_gap_s=0.3)
    np.testing.assert_allclose(filled, np.arange(20, dtype=float))
    assert missing.sum() == 8
    assert np.flatnonzero(long_gap).tolist() == list(range(10, 16))


def test_resample_is_antialiased():
    fs = 360.0
    t = np.arange(int(20 * fs)) / fs
    slow, fast = np.sin(2 * np.pi * 5 * t), np.sin(2 * np.pi * 160 * t)  # 160 Hz > 125 Hz
    out = resample(slow + fast, fs, 250.0)
    assert out.size == 20 * 250
    expected = np.sin(2 * np.pi * 5 * np.arange(out.size) / 250.0)
    assert np.abs(out - expected)[500:-500].max() < 0.01


def test_mat_record_reads_like_its_dat_source(tmp_path, monkeypatch):
    from wfdb.io.convert.matlab import wfdb_to_mat

    fs = 250
    path = _write(tmp_path, "src", fs, {"ECG": _ecg(20, fs, heart_rate=66)})
    monkeypatch.chdir(tmp_path)
    wfdb_to_mat("src")  # writes srcm.mat and srcm.hea into the working directory
    assert (tmp_path / "srcm.mat").exists()
    assert "srcm.mat" in (tmp_path / "srcm.hea").read_text()
    records = [{"path": str(path), "channels": {"ecg": "ECG"}},
               {"path": str(tmp_path / "srcm"), "channels": {"ecg": "ECG"}}]
    config, _ = _config(tmp_path, records)
    make_real_suite(config, tmp_path / "out")
    suite = read_suite(tmp_path / "out", mmap=False)
    dat = suite.labels.record == "src"
    mat = suite.labels.record == "srcm"
    assert dat.sum() == mat.sum() == 5
    np.testing.assert_array_equal(suite.signals[dat.to_numpy()], suite.signals[mat.to_numpy()])
    assert (suite.labels.loc[mat, "heart_rate_bpm"] - 66).abs().max() < 3.0


def test_multifrequency_record_keeps_each_channel_rate(tmp_path):
    import neurokit2 as nk

    frame_hz = 64
    ecg = _ecg(40, 4 * frame_hz, heart_rate=80)
    rsp = nk.rsp_simulate(duration=40, sampling_rate=frame_hz, respiratory_rate=15,
                          method="sinusoidal", random_state=0)
    record = wfdb.Record(
        record_name="multi", fs=frame_hz, n_sig=2, sig_len=rsp.size, e_p_signal=[ecg, rsp],
        samps_per_frame=[4, 1], sig_name=["ECG", "RESP"], units=["mV", "au"],
        fmt=["16", "16"], adc_gain=[1000.0, 1000.0], baseline=[0, 0],
        file_name=["multi.dat", "multi.dat"],
    )
    record.e_d_signal = record.adc(expanded=True)
    record.set_d_features(expanded=True)
    record.set_defaults()
    record.wrsamp(expanded=True, write_dir=str(tmp_path))
    entry = {"path": str(tmp_path / "multi"), "channels": {"ecg": "ECG", "rsp": "RESP"}}
    config, _ = _config(tmp_path, [entry])
    meta = make_real_suite(config, tmp_path / "out")
    suite = read_suite(tmp_path / "out", mmap=False)
    assert meta["records"]["multi"]["ecg"]["fs_hz"] == 256.0
    assert meta["records"]["multi"]["rsp"]["fs_hz"] == 64.0
    ecg_rows = suite.labels[suite.labels.signal_kind == "ecg"]
    rsp_rows = suite.labels[suite.labels.signal_kind == "rsp"]
    assert ecg_rows["start_s"].tolist() == rsp_rows["start_s"].tolist() == list(range(0, 40, 4))
    assert (ecg_rows["heart_rate_bpm"] - 80).abs().max() < 3.0
    # The detector misses breaths near the record's ends; the inner windows have a rate.
    assert rsp_rows["resp_rate_bpm"].iloc[2:8].notna().all()
    assert (rsp_rows["resp_rate_bpm"].dropna() - 15).abs().max() < 1.0
    # The ECG window is the 256 Hz channel downsampled, not the frame-averaged one.
    expected = resample(ecg, 256.0, FS_OUT)[:WINDOW]
    np.testing.assert_allclose(suite.signals[ecg_rows.index[0], 0], expected, atol=2e-3)


# --- one clear line for each bad record entry ---------------------------------------


@pytest.fixture()
def short_record(tmp_path):
    return _write(tmp_path, "short", 200, {"ECG": _ecg(10, 200, heart_rate=60)})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "data/physionet/nope", "channels": {"ecg": "MLII"}},
         r"^downstream\.records\[0\]: WFDB record .*nope not found \(no nope\.hea in .*\): "
         r"fix the path"),
        ({"path": "data/physionet/100", "channels": {"ecg": "II"}},
         r"^downstream\.records\[0\]\.channels\.ecg: record 100 has no channel 'II' "
         r"\(it has MLII, V5\): use one of those names$"),
        ({"path": "data/physionet/100", "channels": {"ecg": "MLII"}, "annotation": "qrs"},
         r"^downstream\.records\[0\]\.annotation: annotation file .*100\.qrs not found"),
    ],
)
def test_bad_record_entries_fail_with_one_line(tmp_path, entry, message):
    config, _ = _config(tmp_path, [entry])
    with pytest.raises(InputError, match=message) as info:
        check_records(config)
    assert "\n" not in str(info.value)


def test_window_longer_than_record_fails_with_one_line(tmp_path, short_record):
    entry = {"path": str(short_record), "channels": {"ecg": "ECG"}}
    config, _ = _config(tmp_path, [entry])
    config["window_samples"] = 1200  # 12 s windows, the record lasts 10 s
    with pytest.raises(InputError) as info:
        check_records(config)
    assert str(info.value) == (
        "downstream.records[0]: record short is 10.00 s long, shorter than one window "
        "(12.00 s): use a longer record or reduce window_samples"
    )


def test_cli_reports_bad_channel_before_reading_signals(tmp_path, capsys):
    _, path = _config(tmp_path, [{"path": "data/physionet/100", "channels": {"ecg": "II"}}])
    code = main(["real-windows", "--configfile", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("physio-bench: error: downstream.records[0]")
    assert not (tmp_path / "out").exists()


def test_cli_real_windows_is_deterministic(tmp_path, short_record):
    _, path = _config(tmp_path, [{"path": str(short_record), "channels": {"ecg": "ECG"}}])
    for out in ("a", "b"):
        assert main(["real-windows", "--configfile", str(path), "--out", str(tmp_path / out)]) == 0
    for name in ("signals.npy", "labels.parquet", "targets.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    labels = pd.read_parquet(tmp_path / "a" / "labels.parquet")
    assert labels["subject_id"].tolist() == ["short", "short"]


def test_ppg_windows_take_the_records_ecg_beats_as_reference(tmp_path):
    import neurokit2 as nk

    fs = 250
    ecg = _ecg(24, fs, heart_rate=70)
    ppg = nk.ppg_simulate(duration=24, sampling_rate=fs, heart_rate=70, frequency_modulation=0,
                          ibi_randomness=0, motion_amplitude=0, random_state=0)
    both = _write(tmp_path, "both", fs, {"ECG": ecg, "PLETH": ppg})
    only = _write(tmp_path, "only", fs, {"PLETH": ppg})
    records = [{"path": str(both), "channels": {"ecg": "ECG", "ppg": "PLETH"}},
               {"path": str(only), "channels": {"ppg": "PLETH"}}]
    config, _ = _config(tmp_path, records)
    make_real_suite(config, tmp_path / "out")
    labels = read_suite(tmp_path / "out", mmap=False).labels
    ppg_both = labels[(labels.record == "both") & (labels.signal_kind == "ppg")]
    ppg_only = labels[labels.record == "only"]
    assert len(ppg_both) == len(ppg_only) == 6
    assert ppg_both["heart_rate_source"].str.startswith("detector:neurokit2.ecg_peaks").all()
    assert ppg_only["heart_rate_source"].str.startswith("detector:neurokit2.ppg_peaks").all()
    inner = slice(1, 5)  # the detectors' filters settle after the record's first second
    for rows in (ppg_both, ppg_only):
        assert (rows["heart_rate_bpm"].iloc[inner] - 70).abs().max() < 3.0
        assert (rows["measured_heart_rate_bpm"].iloc[inner] - 70).abs().max() < 3.0
