"""download-physionet: a fake PhysioNet release served from 127.0.0.1 (real HTTP, real
WFDB files written here) is downloaded and verified against its SHA256SUMS.txt; a
corrupted file is refused; the dry run plans without network; bad names fail in one line."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import wfdb
import yaml
from conftest import SHIPPED_OFF

from physio_bench.cli import main
from physio_bench.config import REPO_ROOT
from physio_bench.downstream import check_datasets
from physio_bench.preflight import load_config


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 over ``tmp_path/site``: (base URL, release folder)."""
    site = tmp_path / "site"
    release = site / "fakedb" / "1.0.0"
    release.mkdir(parents=True)
    fs = 125
    t = np.arange(30 * fs) / fs
    for name in ("r1", "r2", "r10"):
        wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["ECG"], fmt=["16"],
                    p_signal=np.sin(2 * np.pi * 1.2 * t)[:, None], adc_gain=[1000.0],
                    baseline=[0], write_dir=str(release))
        beats = np.arange(50, 30 * fs - 50, 100)
        wfdb.wrann(name, "atr", beats, symbol=["N"] * beats.size, write_dir=str(release))
    (release / "RECORDS").write_text("r1\nr2\nr10\n")
    (release / "csv").mkdir()
    (release / "csv" / "r1.csv").write_text("not part of the WFDB version\n")
    files = sorted(p for p in release.rglob("*") if p.is_file())
    (release / "SHA256SUMS.txt").write_text("".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.relative_to(release)}\n"
        for p in files))
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", release
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _download(base: str, out: Path, *extra: str) -> int:
    return main(["download-physionet", "--database", "fakedb", "--version", "1.0.0",
                 "--base-url", base, "--out", str(out), *extra])


def test_download_verifies_every_file_and_the_folder_is_a_dataset(server, tmp_path, capsys):
    base, release = server
    out = tmp_path / "db"
    assert _download(base, out) == 0
    text = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["RECORDS", "r1.atr", "r1.dat", "r1.hea", "r10.atr", "r10.dat", "r10.hea",
                     "r2.atr", "r2.dat", "r2.hea"]  # no csv/ sub-folder, no partial file
    for name in names:
        assert (out / name).read_bytes() == (release / name).read_bytes()
    assert "downloaded and verified 10 files" in text
    assert f"fakedb: {{reader: wfdb, path: {out}, channels: {{ecg: <channel name" in text
    # The folder works as a dataset with one config entry.
    entry = {"reader": "wfdb", "path": str(out), "channels": {"ecg": "ECG"}, "beats": "atr"}
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump({"downstream": {"datasets": {
        **SHIPPED_OFF, "fake": entry}},
        "window_samples": 1250}))
    assert [s.name for s in check_datasets(load_config([config_path]))] == ["fake"]
    # A second run downloads nothing new (the hashes already match).
    mtime = (out / "r1.dat").stat().st_mtime_ns
    assert _download(base, out) == 0
    assert (out / "r1.dat").stat().st_mtime_ns == mtime


def test_download_some_records(server, tmp_path):
    base, _ = server
    out = tmp_path / "some"
    assert _download(base, out, "--records", "r1") == 0
    assert sorted(p.name for p in out.iterdir()) == ["RECORDS", "r1.atr", "r1.dat", "r1.hea"]
    assert (out / "RECORDS").read_text() == "r1\n"  # r10 is not r1


def test_corrupted_file_is_refused_and_not_kept(server, tmp_path, capsys):
    base, release = server
    (release / "r2.dat").write_bytes(b"corrupted" + (release / "r2.dat").read_bytes()[9:])
    out = tmp_path / "bad"
    assert _download(base, out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checksum mismatch for r2.dat" in err
    assert not (out / "r2.dat").exists()
    assert not list(out.glob(".*part"))


def test_unreachable_server_fails_with_one_line(tmp_path, capsys):
    code = _download("http://127.0.0.1:9/", tmp_path / "none")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot download" in err


def test_dry_run_prints_plan_and_config_entry(tmp_path, capsys):
    out = REPO_ROOT / "data" / "physionet-bidmc"
    code = main(["download-physionet", "--database", "bidmc", "--out", str(out), "--dry-run"])
    text = capsys.readouterr().out
    assert code == 0
    assert "database: bidmc 1.0.0 (https://physionet.org/files/bidmc/1.0.0/)" in text
    assert ("    bidmc: {reader: wfdb, path: data/physionet-bidmc, channels: {ecg: II, ppg: "
            "PLETH, rsp: RESP}, breaths: breath}") in text
    assert text.rstrip().endswith("dry run: nothing downloaded")
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--database", "../etc"], "'../etc' is not a PhysioNet database name"),
    (["--database", "ltafdb"], "no known version of 'ltafdb': pass --version"),
    (["--database", "mitdb", "--records", "1;rm"], "'1;rm' is not a WFDB record name"),
])
def test_bad_names_fail_with_one_line(tmp_path, capsys, args, message):
    code = main(["download-physionet", *args, "--out", str(tmp_path), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
