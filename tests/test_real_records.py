"""Real recordings through the dataset readers: the shipped MIT-BIH and BIDMC data, WFDB
records written here (gzipped, multi-segment, multi-frequency, .mat, NaN gaps, breath
annotations), BIDMC-layout CSVs with shuffled columns, and one-line config errors."""

from __future__ import annotations

import gzip
import hashlib
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
import yaml
from conftest import SHIPPED_OFF

from physio_bench.cli import main
from physio_bench.config import REPO_ROOT
from physio_bench.downstream import check_datasets, make_real_suite
from physio_bench.downstream.datasets import dataset_spec, open_dataset
from physio_bench.downstream.windows import fill_gaps, resample
from physio_bench.errors import InputError
from physio_bench.io import read_suite
from physio_bench.preflight import load_config

FS_OUT = 100.0
WINDOW = 400  # 4 s windows at 100 Hz
DS1_SAMPLE = ["101", "106"]


def _config(tmp_path: Path, datasets: dict, **downstream) -> tuple[dict, Path]:
    """A config with only ``datasets`` (the shipped ones disabled), 4-s windows at 100 Hz."""
    options = {"max_gap_s": 0.3, "max_missing_fraction": 0.2,
               "cache_dir": str(tmp_path / "cache"), **downstream}
    data = {"sampling_rate_hz": FS_OUT, "window_samples": WINDOW,
            "downstream": {"datasets": {**SHIPPED_OFF, **datasets}, **options}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config([path]), path


def _ecg(duration_s: float, fs: int, heart_rate: int, seed: int = 0) -> np.ndarray:
    import neurokit2 as nk

    return nk.ecg_simulate(duration=duration_s, sampling_rate=fs, heart_rate=heart_rate,
                           random_state=seed)


def _write(folder: Path, name: str, fs: float, signals: dict[str, np.ndarray]) -> Path:
    """A single-frequency format-16 record; NaN samples become WFDB invalid samples."""
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(signals), sig_name=list(signals),
                p_signal=np.column_stack(list(signals.values())), fmt=["16"] * len(signals),
                adc_gain=[1000.0] * len(signals), baseline=[0] * len(signals),
                write_dir=str(folder))
    return folder / name


def _multisegment_header(folder: Path, name: str, fs: int, segments: dict[str, int]) -> None:
    """A fixed-layout multi-segment WFDB header (``name/n_seg n_sig fs n_samples``)."""
    lines = [f"{name}/{len(segments)} 1 {fs} {sum(segments.values())}"]
    lines += [f"{segment} {n}" for segment, n in segments.items()]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    assert wfdb.rdheader(str(folder / name)).seg_name == list(segments)


def _suite(config: dict, name: str, out: Path):
    meta = make_real_suite(config, name, out)
    return meta, read_suite(out, mmap=False), pd.read_parquet(out / "events.parquet")


# --- the shipped data ----------------------------------------------------------------


def test_default_datasets_are_shipped_inside_the_project_with_attribution():
    config = load_config()
    assert config["downstream"]["datasets"]["cinc2021-v1"]["enabled"] is False  # budget
    config["downstream"]["datasets"]["cinc2021-v1"]["enabled"] = True
    specs = check_datasets(config)  # headers only: every record, channel and split
    assert {s.name for s in specs} == {"mitdb", "bidmc", "cpsc2021", "cinc2021-ii",
                                       "cinc2021-v1", "welltory"}
    for spec in specs:
        # physio_bench:data/<name>: through the package's link to the repository's data/
        assert spec.path.resolve().is_relative_to(REPO_ROOT / "data")
    readme = (REPO_ROOT / "data" / "README.md").read_text()
    for text in ("ODC-By", "Moody", "Pimentel", "Goldberger", "de Chazal", "CC BY 4.0",
                 "CC0", "Wang X", "Reyna MA", "Neshitov A"):
        assert text in readme
    mitdb = dataset_spec(config, "mitdb")
    assert len(open_dataset(mitdb, config).records()) == 48
    assert len(mitdb.beat_split["train"]) == len(mitdb.beat_split["test"]) == 22
    assert not {"102", "104", "107", "217"} & {*mitdb.beat_split["train"],
                                               *mitdb.beat_split["test"]}
    assert len(open_dataset(dataset_spec(config, "bidmc"), config).records()) == 40
    counts = {"cpsc2021": 18, "cinc2021-ii": 50, "cinc2021-v1": 50, "welltory": 21}
    for name, n in counts.items():
        assert len(open_dataset(dataset_spec(config, name), config).records()) == n, name
    assert len(set(dataset_spec(config, "cpsc2021").subjects.values())) == 6


@pytest.mark.parametrize("folder", ["cpsc2021", "cinc2021", "welltory"])
def test_new_shipped_datasets_match_their_checksums(folder):
    root = REPO_ROOT / "data" / folder
    sums = _sums(root / "SHA256SUMS.txt")
    assert len(sums) >= 20
    for name, digest in list(sums.items())[:: max(1, len(sums) // 6)]:
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest, name


def _sums(path: Path) -> dict[str, str]:
    return {line.split()[1].lstrip("*"): line.split()[0]
            for line in path.read_text().splitlines() if line.strip()}


@pytest.mark.parametrize("record", ["100", "208", "232"])
def test_shipped_mitdb_files_match_physionets_checksums(record):
    sums = _sums(REPO_ROOT / "data" / "mitdb" / "SHA256SUMS.txt")
    folder = REPO_ROOT / "data" / "mitdb"
    dat = gzip.decompress((folder / f"{record}.dat.gz").read_bytes())
    assert hashlib.sha256(dat).hexdigest() == sums[f"{record}.dat"]
    atr = (folder / f"{record}.atr").read_bytes()
    assert hashlib.sha256(atr).hexdigest() == sums[f"{record}.atr"]


def test_shipped_bidmc_files_match_their_checksums():
    folder = REPO_ROOT / "data" / "bidmc"
    sums = _sums(folder / "SHA256SUMS_uncompressed.txt")
    for name in ("bidmc_07_Signals.csv", "bidmc_07_Breaths.csv", "bidmc_07_Fix.txt"):
        path = folder / name
        data = path.read_bytes() if path.exists() else gzip.decompress(
            (folder / f"{name}.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == sums[name], name


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """Suites of a few shipped records: MIT-BIH 100 and 2 DS1 records, BIDMC 01 and 02
    (whose CSV columns come in different orders), 32-s windows at 125 Hz, 4 per record."""
    tmp = tmp_path_factory.mktemp("shipped")
    data = {"sampling_rate_hz": 125, "window_samples": 4000,
            "downstream": {"max_windows_per_record": 4, "cache_dir": str(tmp / "cache"),
                           "datasets": {"mitdb": {"records": ["100", *DS1_SAMPLE],
                                                  "beat_classes": {"train": DS1_SAMPLE,
                                                                   "test": ["100"]}},
                                        "bidmc": {"records": ["bidmc_01", "bidmc_02"]}}}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    config = load_config([path])
    return {name: _suite(config, name, tmp / name) for name in ("mitdb", "bidmc")}, tmp


def test_mitdb_suite_labels_events_and_cache(shipped):
    suites, tmp = shipped
    meta, suite, events = suites["mitdb"]
    assert meta["suite"] == "real-mitdb" and meta["window_s"] == 32.0
    assert suite.signals.shape == (12, 1, 4000) and np.isfinite(suite.signals).all()
    assert meta["targets"] == {"ecg": ["heart_rate_bpm", "beat_class"]}
    rows = suite.labels[suite.labels.record == "100"]
    assert set(rows["heart_rate_source"]) == {"annotation:atr"}
    diff = (rows["heart_rate_bpm"] - rows["measured_heart_rate_bpm"]).abs()
    assert diff.max() < 1.0  # cardiologists' beats and the reference detector agree
    agreement = meta["cross_checks"]["detector_vs_independent_heart_rate_bpm"]["ecg"]
    assert agreement["label"] == "annotation:atr" and agreement["n"] == len(suite.labels)
    # Beats of the first four windows of record 100, by AAMI class (A -> S).
    beats = events[(events.event == "beat")
                   & events.window_id.isin(rows.window_id)]
    ann = wfdb.rdann(str(REPO_ROOT / "data/mitdb/100"), "atr", sampto=128 * 360)
    expected = sum(s in "NLRBAaJSVrFejnE/fQ?" for s in ann.symbol)
    assert len(beats) == expected
    assert beats["label"].value_counts().to_dict() == {"N": expected - 1, "S": 1}
    assert beats["start_s"].between(0, 32).all()
    # The gzipped signal files were decompressed into the cache, never next to data/.
    assert not list((REPO_ROOT / "data" / "mitdb").glob("*.dat"))
    assert len(list((tmp / "cache" / "mitdb").glob("*/*.dat"))) == 3


def test_bidmc_suite_reads_channels_by_name_and_breaths_by_annotator(shipped):
    suites, _ = shipped
    meta, suite, events = suites["bidmc"]
    assert meta["targets"] == {"ecg": ["heart_rate_bpm", "resp_rate_bpm"],
                               "ppg": ["heart_rate_bpm", "resp_rate_bpm"],
                               "rsp": ["resp_rate_bpm"]}
    labels = suite.labels
    header_31 = (REPO_ROOT / "data/bidmc/bidmc_02_Fix.txt").read_text().splitlines()[1]
    assert header_31.startswith("Signals: II; PLETH; RESP")  # another column order
    for record in ("bidmc_01", "bidmc_02"):
        rsp = labels[(labels.record == record) & (labels.signal_kind == "rsp")]
        # Reference: the two annotators' breaths; the monitor agrees within a few /min.
        assert rsp["resp_rate_source"].str.contains("Breaths.csv:ann1").all()
        assert (rsp["resp_rate_bpm"] - rsp["monitor_resp_rate_bpm"]).abs().median() < 3.0
        # Heart rate: the monitor's HR (ECG) and PULSE (PPG), averaged over the window;
        # the neurokit detector (measured_heart_rate_bpm) is only compared with it.
        numerics = pd.read_csv(REPO_ROOT / f"data/bidmc/{record}_Numerics.csv.gz",
                               skipinitialspace=True)
        for kind, column in (("ecg", "HR"), ("ppg", "PULSE")):
            rows = labels[(labels.record == record) & (labels.signal_kind == kind)]
            assert set(rows["heart_rate_source"]) == {f"monitor:Numerics.csv:{column}"}
            for _, row in rows.dropna(subset=["heart_rate_bpm"]).iterrows():
                second = numerics["Time [s]"].between(row.start_s, row.start_s + 31.5)
                assert row.heart_rate_bpm == pytest.approx(numerics.loc[second, column].mean())
        ecg = labels[(labels.record == record) & (labels.signal_kind == "ecg")]
        assert (ecg["heart_rate_bpm"] - ecg["measured_heart_rate_bpm"]).abs().max() < 3.0
    agreement = meta["cross_checks"]["detector_vs_independent_heart_rate_bpm"]
    assert agreement["ecg"]["label"] == "monitor:Numerics.csv:HR" and agreement["ecg"]["n"] > 0
    assert "annotation_vs_detector_heart_rate_bpm" not in meta["cross_checks"]
    # Each channel is the named column: PLETH of record 02 is the CSV's PLETH column.
    frame = pd.read_csv(REPO_ROOT / "data/bidmc/bidmc_02_Signals.csv.gz", skipinitialspace=True,
                        nrows=4000)
    window = labels[(labels.record == "bidmc_02") & (labels.signal_kind == "ppg")].index[0]
    np.testing.assert_allclose(suite.signals[window, 0], frame["PLETH"], atol=1e-5)
    breaths = events[events.event == "breath"]
    assert set(breaths["source"]) == {"annotation:Breaths.csv:ann1",
                                      "annotation:Breaths.csv:ann2"}


# --- labels and reference methods share no detector ----------------------------------


def _detector_calls(monkeypatch, function, *args) -> set[tuple[str, str]]:
    """The neurokit2 detectors (function, method) that ``function(*args)`` calls."""
    import neurokit2 as nk

    calls: set[tuple[str, str]] = set()
    for name in ("ecg_peaks", "ppg_peaks", "rsp_peaks"):
        original = getattr(nk, name)

        def traced(*a, _name=name, _original=original, **kw):
            calls.add((_name, str(kw.get("method", "default"))))
            return _original(*a, **kw)

        monkeypatch.setattr(nk, name, traced)
    function(*args)
    monkeypatch.undo()
    return calls


def _label_detectors(monkeypatch, sources: str, window: np.ndarray, fs: float) -> set:
    """Detectors behind a label's sources: none for annotations and the monitor."""
    from physio_bench.downstream import reference as ref

    found: set[tuple[str, str]] = set()
    for source in filter(None, sources.split(",")):
        if source.startswith("detector:"):
            found |= _detector_calls(monkeypatch, ref.LABELLERS[source], window, fs)
        else:
            assert source.startswith(("annotation:", "monitor:")), source
    return found


def test_reference_methods_share_no_detector_with_the_labels(shipped, monkeypatch):
    from physio_bench.downstream import reference as ref
    from physio_bench.downstream import reference_methods as rm

    suites, _ = shipped
    checked = 0
    for meta, suite, _ in suites.values():
        for kind, target in rm.METHODS:
            if target not in meta["targets"].get(kind, []):
                continue
            rows = suite.labels[(suite.labels.signal_kind == kind)
                                & suite.labels[target].notna()]
            window = suite.signals[rows.index[0], 0].astype(np.float64)
            source_column = "heart_rate_source" if target == "heart_rate_bpm" \
                else "resp_rate_source"
            labelled = _label_detectors(monkeypatch, rows.iloc[0][source_column], window, 125.0)
            reference = _detector_calls(monkeypatch, rm.estimate, kind, target, window, 125.0)
            # the tracer sees the reference's detector (RESP: scipy only, no detector)
            assert bool(reference) == (kind != "rsp"), (kind, target)
            assert not labelled & reference, (meta["dataset"], kind, target)
            checked += 1
    assert checked == 6  # MIT-BIH ECG HR; BIDMC ECG and PPG HR, RESP, PPG and ECG RR
    # Negative control: a PPG heart rate labelled by the PPG detector would share it.
    window = suites["bidmc"][1].signals[suites["bidmc"][1].labels.signal_kind.eq("ppg")
                                         .to_numpy().nonzero()[0][0], 0].astype(np.float64)
    shared = (_label_detectors(monkeypatch, ref.PPG_DETECTOR, window, 125.0)
              & _detector_calls(monkeypatch, rm.estimate, "ppg", "heart_rate_bpm", window,
                                125.0))
    assert shared == {("ppg_peaks", "elgendi")}


# --- records written here ------------------------------------------------------------


def test_gzipped_wfdb_record_reads_like_the_plain_one(tmp_path):
    fs = 250
    plain = _write(tmp_path / "plain", "rec", fs, {"ECG": _ecg(20, fs, heart_rate=66)})
    packed = tmp_path / "packed"
    shutil.copytree(plain.parent, packed)
    dat = packed / "rec.dat"
    dat.with_suffix(".dat.gz").write_bytes(gzip.compress(dat.read_bytes()))
    dat.unlink()
    datasets = {"a": {"reader": "wfdb", "path": str(plain.parent), "channels": {"ecg": "ECG"}},
                "b": {"reader": "wfdb", "path": str(packed), "channels": {"ecg": "ECG"}}}
    config, _ = _config(tmp_path, datasets)
    check_datasets(config)
    _, a, _ = _suite(config, "a", tmp_path / "out_a")
    _, b, _ = _suite(config, "b", tmp_path / "out_b")
    np.testing.assert_array_equal(a.signals, b.signals)
    cached = list((tmp_path / "cache" / "b").glob("*/rec.dat"))
    assert len(cached) == 1 and not dat.exists()
    first = cached[0].stat().st_mtime_ns
    _suite(config, "b", tmp_path / "out_c")  # read again: the cache is reused
    assert cached[0].stat().st_mtime_ns == first


def test_multisegment_record(tmp_path):
    fs = 200
    folder = tmp_path / "multi"
    folder.mkdir()
    parts = [_ecg(12, fs, heart_rate=60, seed=1), _ecg(16, fs, heart_rate=90, seed=2)]
    for i, part in enumerate(parts):
        _write(folder, f"seg_{i}", fs, {"ECG": part})
    _multisegment_header(folder, "whole", fs, {f"seg_{i}": p.size for i, p in enumerate(parts)})
    (folder / "RECORDS").write_text("whole\n")
    config, _ = _config(tmp_path, {"m": {"reader": "wfdb", "path": str(folder),
                                         "channels": {"ecg": "ECG"}}})
    meta, suite, _ = _suite(config, "m", tmp_path / "out")
    assert meta["records"]["whole"]["ecg"]["windows_total"] == 7  # 28 s of 4-s windows
    rates = suite.labels.set_index("start_s")["heart_rate_bpm"]
    assert abs(rates[4.0] - 60) < 3 and abs(rates[20.0] - 90) < 3
    expected = resample(np.concatenate(parts), fs, FS_OUT)[:WINDOW]
    np.testing.assert_allclose(suite.signals[0, 0], expected, atol=2e-3)


def test_a_constant_stretch_resampled_from_another_rate_is_dropped_as_flat(tmp_path):
    """A lead-off stretch recorded at 360 Hz keeps a filter ripple after resampling to the
    benchmark rate (ptp > 0), yet is constant: dropped as ``flat_signal``, counted; the
    ECG windows around it are kept (a quantised ECG has short equal runs, never 1 s)."""
    fs = 360
    ecg = _ecg(24, fs, heart_rate=72)
    ecg[int(8.0 * fs):int(16.0 * fs)] = 0.731  # windows 2 and 3 (4-s windows): constant
    folder = tmp_path / "leadoff"
    _write(folder, "leadoff", fs, {"ECG": ecg})
    config, _ = _config(tmp_path, {"l": {"reader": "wfdb", "path": str(folder),
                                         "channels": {"ecg": "ECG"}}})
    meta, suite, _ = _suite(config, "l", tmp_path / "out")
    info = meta["records"]["leadoff"]["ecg"]
    assert info["dropped"]["flat_signal"] == 2 and info["kept"] == 4
    assert suite.labels["start_s"].tolist() == [0.0, 4.0, 16.0, 20.0]


def test_record_discovery_without_a_records_file_skips_segments(tmp_path):
    folder = tmp_path / "found"
    _write(folder, "one", 200, {"ECG": _ecg(10, 200, heart_rate=70)})
    _write(folder, "seg_a", 200, {"ECG": _ecg(10, 200, heart_rate=70)})
    _multisegment_header(folder, "two", 200, {"seg_a": 2000})
    config, _ = _config(tmp_path, {"f": {"reader": "wfdb", "path": str(folder),
                                         "channels": {"ecg": "ECG"}}})
    assert open_dataset(dataset_spec(config, "f"), config).records() == ["one", "two"]


def test_nan_gaps_interpolated_or_dropped_and_counted(tmp_path):
    fs = 200
    ecg = _ecg(40, fs, heart_rate=72)
    ecg[int(5.0 * fs):int(5.25 * fs)] = np.nan    # window 1: 0.25 s gap, interpolated
    ecg[int(13.0 * fs):int(14.5 * fs)] = np.nan   # window 3: 37.5% missing, dropped
    ecg[int(21.0 * fs):int(21.6 * fs)] = np.nan   # window 5: 0.6 s > max_gap_s, dropped
    folder = tmp_path / "gappy"
    _write(folder, "gappy", fs, {"ECG": ecg})
    config, _ = _config(tmp_path, {"g": {"reader": "wfdb", "path": str(folder),
                                         "channels": {"ecg": "ECG"}}})
    meta, suite, _ = _suite(config, "g", tmp_path / "out")
    info = meta["records"]["gappy"]["ecg"]
    assert info["windows_total"] == 10
    assert info["dropped"] == {"missing_fraction": 1, "long_gap": 1, "flat_signal": 0}
    assert info["kept"] == 8
    assert info["missing_samples"] == int(0.25 * fs + 1.5 * fs + 0.6 * fs)
    assert suite.labels["start_s"].tolist() == [0.0, 4.0, 8.0, 16.0, 24.0, 28.0, 32.0, 36.0]
    assert suite.labels.iloc[1]["n_missing_samples"] in (25, 26)
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
    slow, fast = np.sin(2 * np.pi * 5 * t), np.sin(2 * np.pi * 160 * t)  # 160 Hz > 62.5 Hz
    out = resample(slow + fast, fs, 125.0)
    assert out.size == 20 * 125
    expected = np.sin(2 * np.pi * 5 * np.arange(out.size) / 125.0)
    assert np.abs(out - expected)[250:-250].max() < 0.01


def test_mat_record_and_multifrequency_record(tmp_path, monkeypatch):
    import neurokit2 as nk
    from wfdb.io.convert.matlab import wfdb_to_mat

    folder = tmp_path / "db"
    _write(folder, "src", 250, {"ECG": _ecg(20, 250, heart_rate=66)})
    monkeypatch.chdir(folder)
    wfdb_to_mat("src")  # srcm.mat and srcm.hea in the working directory
    frame_hz = 64
    ecg = _ecg(40, 4 * frame_hz, heart_rate=80)
    rsp = nk.rsp_simulate(duration=40, sampling_rate=frame_hz, respiratory_rate=15,
                          method="sinusoidal", random_state=0)
    record = wfdb.Record(
        record_name="multi", fs=frame_hz, n_sig=2, sig_len=rsp.size, e_p_signal=[ecg, rsp],
        samps_per_frame=[4, 1], sig_name=["ECG", "RESP"], units=["mV", "au"],
        fmt=["16", "16"], adc_gain=[1000.0, 1000.0], baseline=[0, 0],
        file_name=["multi.dat", "multi.dat"])
    record.e_d_signal = record.adc(expanded=True)
    record.set_d_features(expanded=True)
    record.set_defaults()
    record.wrsamp(expanded=True, write_dir=str(folder))
    datasets = {"mat": {"reader": "wfdb", "path": str(folder), "records": ["src", "srcm"],
                        "channels": {"ecg": "ECG"}},
                "mf": {"reader": "wfdb", "path": str(folder), "records": ["multi"],
                       "channels": {"ecg": "ECG", "rsp": "RESP"}}}
    config, _ = _config(tmp_path, datasets)
    _, mat, _ = _suite(config, "mat", tmp_path / "out_mat")
    dat_rows, mat_rows = (mat.labels.record == "src").to_numpy(), (
        mat.labels.record == "srcm").to_numpy()
    assert dat_rows.sum() == mat_rows.sum() == 5
    np.testing.assert_array_equal(mat.signals[dat_rows], mat.signals[mat_rows])
    meta, mf, _ = _suite(config, "mf", tmp_path / "out_mf")
    assert meta["records"]["multi"]["ecg"]["fs_hz"] == 256.0
    assert meta["records"]["multi"]["rsp"]["fs_hz"] == 64.0
    ecg_rows = mf.labels[mf.labels.signal_kind == "ecg"]
    assert (ecg_rows["heart_rate_bpm"] - 80).abs().max() < 3.0
    # Without breath annotations, the RESP detector gives every window its rate.
    assert set(meta["targets"]["ecg"]) == {"heart_rate_bpm", "resp_rate_bpm"}
    assert (mf.labels["resp_rate_bpm"].iloc[2:8] - 15).abs().max() < 1.0
    expected = resample(ecg, 256.0, FS_OUT)[:WINDOW]
    np.testing.assert_allclose(mf.signals[ecg_rows.index[0], 0], expected, atol=2e-3)


def test_wfdb_breath_annotations_per_annotator(tmp_path):
    import neurokit2 as nk

    fs = 125
    folder = tmp_path / "br"
    resp = nk.rsp_simulate(duration=40, sampling_rate=fs, respiratory_rate=12,
                           method="sinusoidal", random_state=0)
    _write(folder, "r1", fs, {"RESP,": resp, "PLETH,": resp})  # names as in PhysioNet's BIDMC
    first = np.arange(1.0, 40.0, 5.0)   # 12 breaths/min
    second = np.arange(1.0, 40.0, 6.0)  # 10 breaths/min
    samples = np.round(np.concatenate([first, second]) * fs).astype(int)
    order = np.argsort(samples, kind="stable")
    notes = np.array(["ann1"] * first.size + ["ann2"] * second.size)
    wfdb.wrann("r1", "breath", samples[order], symbol=['"'] * samples.size,
               aux_note=notes[order].tolist(), fs=fs, write_dir=str(folder))
    datasets = {"b": {"reader": "wfdb", "path": str(folder), "breaths": "breath",
                      "channels": {"rsp": "RESP", "ppg": "PLETH"}, "window_s": 20}}
    config, _ = _config(tmp_path, datasets)
    meta, suite, events = _suite(config, "b", tmp_path / "out")
    assert meta["targets"] == {"rsp": ["resp_rate_bpm"], "ppg": ["heart_rate_bpm",
                                                                 "resp_rate_bpm"]}
    rsp = suite.labels[suite.labels.signal_kind == "rsp"]
    np.testing.assert_allclose(rsp["resp_rate_bpm"], 11.0, atol=0.05)  # mean of 12 and 10
    np.testing.assert_allclose(rsp["resp_rate_annotator_range_bpm"], 2.0, atol=0.05)
    breaths = events[events.window_id.isin(rsp.window_id) & (events.event == "breath")]
    assert breaths.groupby("source").size().to_dict() == {
        "annotation:breath:ann1": 8, "annotation:breath:ann2": 7}


def test_bidmc_layout_finds_columns_by_name_and_checks_fix_txt(tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    n = 125 * 20
    t = np.arange(n) / 125
    columns = {"PLETH": 0.5 + 0.4 * np.sin(2 * np.pi * 1.2 * t), "II": np.cos(t),
               "RESP": 0.5 + 0.3 * np.sin(2 * np.pi * 0.25 * t)}
    frame = pd.DataFrame({"Time [s]": t, **columns})
    frame.to_csv(folder / "x_Signals.csv", index=False, float_format="%.5f")
    (folder / "x_Fix.txt").write_text("x\nSignals: PLETH; II; RESP\n"
                                      "Signals sampling frequency: 125 Hz\n")
    pd.DataFrame({"breaths ann1 [signal sample no]": np.arange(1, n, 500),
                  "breaths ann2 [signal sample no]": np.arange(1, n, 500)}
                 ).to_csv(folder / "x_Breaths.csv", index=False)
    entry = {"reader": "bidmc-csv", "path": str(folder),
             "channels": {"ppg": "PLETH", "rsp": "RESP"}}
    config, _ = _config(tmp_path, {"c": entry})
    dataset = open_dataset(dataset_spec(config, "c"), config)
    read = dataset.read("x", ["RESP", "PLETH"])
    np.testing.assert_allclose(read["RESP"].signal, columns["RESP"], atol=1e-5)
    assert read["PLETH"].fs_hz == 125.0
    np.testing.assert_allclose(dataset.events("x").breaths_s["ann2"][:2], [0.0, 4.0])
    (folder / "x_Fix.txt").write_text("x\nSignals: II; PLETH; RESP\n")
    with pytest.raises(InputError, match="the files disagree"):
        check_datasets(config)


# --- one clear line for each bad entry -------------------------------------------------


@pytest.fixture()
def short_record(tmp_path):
    return _write(tmp_path / "short", "short", 200, {"ECG": _ecg(3, 200, heart_rate=60)})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"reader": "edf", "path": "data/mitdb", "channels": {"ecg": "MLII"}},
         r"^downstream\.datasets\.x\.reader: unknown reader 'edf': installed readers are "
         r"bidmc-csv, welltory, wfdb"),
        ({"reader": "wfdb", "path": "data/nope", "channels": {"ecg": "MLII"}},
         r"^downstream\.datasets\.x\.path: folder .*data/nope not found"),
        ({"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "MLII"}},
         r"^downstream\.datasets\.x\.channels\.ecg: record 102 has no channel 'MLII' "
         r"\(it has V5, V2\)"),
        ({"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "MLII"},
          "records": ["100", "999"]},
         r"^downstream\.datasets\.x\.records: record 999 not found in .*data/mitdb"),
        ({"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "MLII"},
          "records": ["100"], "beat_classes": {"train": ["100"], "test": ["101"]}},
         r"^downstream\.datasets\.x\.beat_classes\.test: record 101 is not among"),
        ({"reader": "bidmc-csv", "path": "data/bidmc", "channels": {"ppg": "PPG"},
          "records": ["bidmc_01"]},
         r"^downstream\.datasets\.x\.channels\.ppg: record bidmc_01 has no channel 'PPG'"),
        ({"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "MLII"},
          "colour": "red"},
         r"^downstream\.datasets\.x: reader 'wfdb' does not take option 'colour'; its "
         r"options are: beats, breaths, rhythms, rhythm_classes, dx_classes$"),
    ],
)
def test_bad_dataset_entries_fail_with_one_line(tmp_path, entry, message):
    config, _ = _config(tmp_path, {"x": entry})
    with pytest.raises(InputError, match=message) as info:
        check_datasets(config)
    assert "\n" not in str(info.value)


def test_window_longer_than_record_fails_with_one_line(tmp_path, short_record):
    entry = {"reader": "wfdb", "path": str(short_record.parent), "channels": {"ecg": "ECG"}}
    config, _ = _config(tmp_path, {"s": entry})
    with pytest.raises(InputError) as info:
        check_datasets(config)
    assert str(info.value) == (
        "downstream.datasets.s: channel ECG (ecg) of record short lasts 3.00 s, shorter than "
        "one window (4.00 s): leave the record out or shorten the window (window_s)"
    )


def test_cli_reports_bad_channel_before_reading_signals(tmp_path, capsys):
    entry = {"reader": "wfdb", "path": "data/mitdb", "channels": {"ecg": "II"},
             "records": ["100"]}
    _, path = _config(tmp_path, {"x": entry})
    code = main(["check-config", "--configfile", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("physio-bench: error: downstream.datasets.x.channels.ecg")


def test_cli_real_windows_is_deterministic(tmp_path):
    folder = tmp_path / "det"
    _write(folder, "det", 200, {"ECG": _ecg(10, 200, heart_rate=60)})
    _, path = _config(tmp_path, {"d": {"reader": "wfdb", "path": str(folder),
                                       "channels": {"ecg": "ECG"}}})
    for out in ("a", "b"):
        assert main(["real-windows", "--configfile", str(path), "--dataset", "d",
                     "--out", str(tmp_path / out)]) == 0
    for name in ("signals.npy", "labels.parquet", "targets.npz", "events.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    labels = pd.read_parquet(tmp_path / "a" / "labels.parquet")
    assert labels["subject_id"].tolist() == ["det", "det"]
    assert math.isclose(labels["start_s"].iloc[1], 4.0)


def test_saturation_and_flat_lines_are_detected_in_a_synthetic_clipped_window():
    from physio_bench.downstream.windows import signal_quality

    fs = 125.0
    t = np.arange(int(32 * fs)) / fs
    breathing = np.sin(2 * np.pi * 0.25 * t)
    rails = (-0.6, 0.6)  # the record's extremes: the ADC clipped it there
    clipped = np.clip(breathing, *rails)
    found = signal_quality(clipped, rails, fs)
    assert found["quality_flag"] == "saturated" and found["rail_fraction"] > 0.2
    # The same breathing unclipped (its own extremes are the rails) is not saturated.
    clean = signal_quality(breathing, (-1.0, 1.0), fs)
    assert clean["quality_flag"] == "" and clean["rail_fraction"] < 0.1
    flat = breathing.copy()
    flat[1000:1000 + int(2.5 * fs)] = 0.1  # a 2.5-s flat line inside the range
    found = signal_quality(flat, (-1.0, 1.0), fs)
    assert found["quality_flag"] == "flat_line"
    assert found["longest_flat_s"] == pytest.approx(2.5, abs=0.02)


def test_bidmc_windows_carry_quality_flags_and_counts(shipped):
    suites, _ = shipped
    meta, suite, _ = suites["bidmc"]
    assert {"rail_fraction", "longest_flat_s", "quality_flag"} <= set(suite.labels.columns)
    counts = meta["quality_flagged"]
    for kind in ("ecg", "ppg", "rsp"):
        rows = suite.labels[suite.labels.signal_kind == kind]
        assert sum(counts[kind].values()) == int((rows["quality_flag"] != "").sum())
