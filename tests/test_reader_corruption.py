"""The corruption harness: every installed dataset reader (entry-point group
``physio_bench.datasets``), from the good records its ``example(folder)`` writes, damaged in
every way a download can be damaged, must give one clear line naming the file (an
``InputError``, never a traceback), or cope and count what it dropped, as its example
documents. A new reader gets these tests by having an ``example``; one without fails.

Generic damage, applied to each of the example's files: emptied, truncated at 10 %, 50 %
and 90 % of its bytes, a junk first line, bytes that are not UTF-8 (the last two only
for text files, inside the gzip for ``.gz`` text). Reader-specific damage (NaN and
constant blocks, swapped columns, a wrong rate, annotations outside the signal, ...) comes
from the example itself with its expected outcome.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SHIPPED_OFF

from physio_bench.downstream import make_real_suite
from physio_bench.downstream.datasets import (
    BAD_RECORD_CAUSES,
    ReaderExample,
    available_readers,
)
from physio_bench.errors import InputError
from physio_bench.preflight import load_config

FS_OUT = 100.0
WINDOW = 400  # 4-s windows
TRUNCATIONS = (0.1, 0.5, 0.9)
READERS = sorted(available_readers())
#: generic damage that must be an error whatever the file: nothing can be read from it
STRICT = ("empty",)


def _example(reader: str, folder: Path) -> ReaderExample:
    factory = available_readers()[reader].load()
    hook = getattr(factory, "example", None)
    if hook is None:
        pytest.fail(f"reader {reader!r} has no example(folder): the corruption harness "
                    "cannot test it (see physio_bench.downstream.datasets.ReaderExample)")
    return hook(folder)


@pytest.fixture(scope="module", params=READERS)
def pristine(request, tmp_path_factory) -> tuple[str, Path, ReaderExample]:
    folder = tmp_path_factory.mktemp(f"pristine-{request.param}")
    return request.param, folder, _example(request.param, folder / "data")


def _config(tmp: Path, entry: dict, on_bad_record: str = "error") -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    data = {"sampling_rate_hz": FS_OUT, "window_samples": WINDOW,
            "downstream": {"datasets": {**SHIPPED_OFF, "x": entry},
                           "max_gap_s": 1.0, "max_missing_fraction": 0.2,
                           "cache_dir": str(tmp / "cache"), "on_bad_record": on_bad_record}}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config([path])


def _copy(pristine, tmp: Path) -> tuple[Path, ReaderExample]:
    _, folder, example = pristine
    data = tmp / "data"
    shutil.copytree(folder / "data", data)
    return data, example


def _text_edit(path: Path, change) -> None:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    raw = change(raw)
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)


def _damage(path: Path, case: str, binary: bool) -> bool:
    """Damage ``path`` in place; False when the case does not apply to this file."""
    if case == "empty":
        path.write_bytes(b"")
    elif case.startswith("truncated_"):
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * float(case.split("_")[1]) / 100)])
    elif binary:
        return False
    elif case == "junk_header":
        _text_edit(path, lambda raw: b"garbage,,\n" + raw.split(b"\n", 1)[-1])
    elif case == "not_utf8":
        _text_edit(path, lambda raw: raw[:3] + b"\xff\xfe\xc3" + raw[3:])
    return True


GENERIC = ("empty", *(f"truncated_{round(f * 100)}" for f in TRUNCATIONS), "junk_header",
           "not_utf8")


def _run(data: Path, example: ReaderExample, tmp: Path, on_bad_record: str = "error"):
    entry = {**example.entry, "path": str(data)}
    config = _config(tmp, entry, on_bad_record)
    return make_real_suite(config, "x", tmp / "suite")


def _assert_one_line_naming(exc: InputError, name: str, record: str) -> None:
    text = str(exc)
    assert "\n" not in text, text
    assert text.startswith("downstream.datasets.x"), text
    assert name in text, f"{name} not named in: {text}"
    assert "Traceback" not in text


def _check_ok(meta: dict, record: str) -> None:
    """A run that coped: every considered window of the record is kept or counted."""
    for info in meta["records"][record].values():
        assert info["kept"] + sum(info["dropped"].values()) == info["windows_considered"]


@pytest.mark.parametrize("case", GENERIC)
def test_generic_damage_is_one_line_naming_the_file_or_coped_with(pristine, case, tmp_path):
    reader, pristine_folder = pristine[0], pristine[1] / "data"
    data, example = _copy(pristine, tmp_path)
    seen = 0
    for index, file in enumerate(example.files):
        target = data / file.relative_to(pristine_folder)
        work = tmp_path / f"{index}"
        shutil.copytree(data, work / "data")
        if not _damage(work / "data" / file.relative_to(pristine_folder), case,
                       file.name in example.binary):
            continue
        seen += 1
        try:
            meta = _run(work / "data", example, work)
        except InputError as exc:
            _assert_one_line_naming(exc, target.name, example.record)
            RESULTS.setdefault(reader, {})[f"{case}: {target.name}"] = str(exc)
            continue
        RESULTS.setdefault(reader, {})[f"{case}: {target.name}"] = "accepted (counted)"
        assert case not in STRICT, f"{reader}: {case} of {target.name} was accepted"
        gzipped_or_binary = target.name.endswith(".gz") or target.name in example.binary
        assert not (case.startswith("truncated_") and gzipped_or_binary), \
            f"{reader}: a truncated compressed/binary file {target.name} was accepted"
        _check_ok(meta, example.record)
    if case in ("empty", "truncated_10", "truncated_50"):
        assert seen == len(example.files)


def test_reader_specific_damage_gives_the_documented_outcome(pristine, tmp_path):
    reader = pristine[0]
    _, example = _copy(pristine, tmp_path)
    assert example.corruptions, f"{reader}: its example documents no layout-specific damage"
    for name, (damage, expected) in example.corruptions.items():
        work = tmp_path / name
        shutil.copytree(tmp_path / "data", work / "data")
        damage(work / "data")
        if expected == "error":
            with pytest.raises(InputError) as info:
                _run(work / "data", example, work)
            text = str(info.value)
            assert "\n" not in text and text.startswith("downstream.datasets.x"), text
            assert example.record in text, text
            assert "[" in text or "has no channel" in text, text  # the cause in brackets
            RESULTS.setdefault(reader, {})[name] = text
            continue
        meta = _run(work / "data", example, work)
        _check_ok(meta, example.record)
        if expected.startswith("drop:"):
            reason = expected.split(":", 1)[1]
            counts = [info["dropped"][reason] for info in meta["records"][example.record].values()]
            assert max(counts) >= 1, f"{reader}: {name} dropped no window as {reason}"
            good = [info["dropped"][reason]
                    for info in meta["records"][_other(meta, example.record)].values()]
            assert max(good) == 0  # the intact record loses nothing: the count is the damage's
        RESULTS.setdefault(reader, {})[name] = f"accepted: {expected}"


def _other(meta: dict, record: str) -> str:
    return next(r for r in meta["records"] if r != record)


def test_skip_counts_the_bad_record_by_cause_and_keeps_the_good_one(pristine, tmp_path):
    data, example = _copy(pristine, tmp_path)
    damaged = example.files[0]  # the first file: the signals (or the header) of the record
    path = data / damaged.relative_to(pristine[1] / "data")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(InputError, match=damaged.name):
        _run(data, example, tmp_path / "strict")
    meta = _run(data, example, tmp_path / "skip", on_bad_record="skip")
    assert list(meta["skipped_records"]) == [example.record]
    cause = meta["skipped_records"][example.record]["cause"]
    assert meta["skipped_by_cause"] == {cause: 1}
    assert cause in BAD_RECORD_CAUSES and cause != "reader_error"
    assert example.record not in meta["records"] and meta["n_records"] == 1
    summary = (tmp_path / "skip" / "suite" / "summary.md").read_text()
    assert f"| {example.record} | - | - | skipped | {cause} |" in summary
    assert "1 records skipped" in summary


def test_pristine_example_reads_and_counts_labels(pristine, tmp_path):
    """Positive control: the undamaged example is read, every window kept, labelled."""
    data, example = _copy(pristine, tmp_path)
    meta = _run(data, example, tmp_path)
    assert meta["skipped_records"] == {} and meta["n_records"] == 2
    for record in meta["records"].values():
        for info in record.values():
            assert info["kept"] == info["windows_considered"] > 0
            for target in info["labels"].values():
                assert target["available"] + sum(target["dropped"].values()) == info["kept"]
    labelled = [t["available"] for r in meta["records"].values() for i in r.values()
                for t in i["labels"].values()]
    assert max(labelled) > 0 and np.isfinite(labelled).all()


RESULTS: dict[str, dict[str, str]] = {}


def teardown_module() -> None:
    """Write the corruption table (case -> message, per reader) where
    ``PHYSIO_BENCH_CORRUPTION_TABLE`` says (nothing otherwise)."""
    target = os.environ.get("PHYSIO_BENCH_CORRUPTION_TABLE")
    if not RESULTS or not target:
        return
    out = Path(target)
    lines = ["| reader | case | outcome |", "|---|---|---|"]
    for reader, cases in sorted(RESULTS.items()):
        for case, text in cases.items():
            lines.append(f"| {reader} | {case} | {text.replace('|', '/')} |")
    out.write_text("\n".join(lines) + "\n")


# --- the two reproductions of issue 27, on a shipped BIDMC record -----------------------


@pytest.fixture()
def bidmc_copy(tmp_path) -> Path:
    from physio_bench.config import REPO_ROOT

    folder = tmp_path / "bidmc"
    folder.mkdir()
    for record in ("bidmc_01", "bidmc_02"):
        for path in (REPO_ROOT / "data" / "bidmc").glob(f"{record}_*"):
            shutil.copy(path, folder / path.name)
    return folder


def _bidmc_meta(folder: Path, tmp: Path, on_bad_record: str = "error",
                kind: str = "rsp") -> dict:
    entry = {"reader": "bidmc-csv", "path": str(folder),
             "channels": {kind: {"rsp": "RESP", "ppg": "PLETH"}[kind]},
             "max_windows_per_record": 3}
    return make_real_suite(_config(tmp, entry, on_bad_record), "x", tmp / "suite")


def test_issue27_truncated_signals_gz_is_one_line_not_a_traceback(bidmc_copy, tmp_path):
    path = bidmc_copy / "bidmc_01_Signals.csv.gz"
    path.write_bytes(path.read_bytes()[:20_000])
    with pytest.raises(InputError) as info:
        _bidmc_meta(bidmc_copy, tmp_path)
    assert str(info.value).startswith(
        "downstream.datasets.x: record bidmc_01: bidmc_01_Signals.csv.gz: compressed file is "
        "damaged or ends early (EOFError")
    assert str(info.value).endswith("[truncated]")
    meta = _bidmc_meta(bidmc_copy, tmp_path / "skip", "skip")
    assert meta["skipped_by_cause"] == {"truncated": 1} and list(meta["records"]) == ["bidmc_02"]


def test_issue27_garbled_breaths_is_refused_not_silently_unlabelled(bidmc_copy, tmp_path):
    good = _bidmc_meta(bidmc_copy, tmp_path / "good")["records"]["bidmc_01"]["rsp"]
    assert good["labels"]["resp_rate_bpm"]["available"] == good["kept"] == 3
    (bidmc_copy / "bidmc_01_Breaths.csv").write_text("garbage,,\n12,x,\n")
    with pytest.raises(InputError, match=r"^downstream\.datasets\.x: record bidmc_01: "
                       r"bidmc_01_Breaths\.csv: unknown column 'garbage'.*\[bad_columns\]$"):
        _bidmc_meta(bidmc_copy, tmp_path / "bad")
    meta = _bidmc_meta(bidmc_copy, tmp_path / "skip", "skip")
    assert meta["skipped_by_cause"] == {"bad_columns": 1}


def test_a_record_without_breaths_counts_its_windows_as_unlabelled(bidmc_copy, tmp_path):
    """PPG windows of a record without breath annotations (and no RESP channel to detect
    them on) are kept for heart rate but counted as unlabelled for respiratory rate."""
    (bidmc_copy / "bidmc_01_Breaths.csv").unlink()
    meta = _bidmc_meta(bidmc_copy, tmp_path, kind="ppg")
    labels = meta["records"]["bidmc_01"]["ppg"]["labels"]["resp_rate_bpm"]
    assert labels == {"available": 0,
                      "dropped": {"no_reference": 3, "rate_undefined": 0, "mixed_class": 0}}
    other = meta["records"]["bidmc_02"]["ppg"]["labels"]["resp_rate_bpm"]
    assert other["available"] >= 2 and other["dropped"]["no_reference"] == 0
    assert other["available"] + other["dropped"]["rate_undefined"] == 3
    summary = (tmp_path / "suite" / "summary.md").read_text()
    assert "resp_rate_bpm 0 (no_reference 3)" in summary


def test_dataset_summary_cli_writes_the_report_page(bidmc_copy, tmp_path, capsys):
    from physio_bench.cli import main

    (bidmc_copy / "bidmc_01_Breaths.csv").write_text("garbage,,\n12,x,\n")
    _bidmc_meta(bidmc_copy, tmp_path, "skip")
    out = tmp_path / "page.html"
    assert main(["dataset-summary", "--meta", str(tmp_path / "suite" / "meta.json"),
                 "--out", str(out)]) == 0
    page = out.read_text()
    assert "<td>bidmc_01</td><td>-</td><td>-</td><td>skipped</td><td>bad_columns</td>" in page
    assert "<td>bidmc_02</td><td>rsp</td><td>RESP</td>" in page
    assert "1 records skipped (bad_columns 1)" in capsys.readouterr().out
