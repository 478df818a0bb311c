"""download-physionet: the dry run plans without network; bad names fail in one line."""

from __future__ import annotations

import wfdb

from physio_bench.cli import main
from physio_bench.config import REPO_ROOT


def _no_network(*args, **kwargs):
    raise AssertionError("the dry run must not download")


def test_dry_run_prints_plan_and_config_snippet(monkeypatch, capsys):
    monkeypatch.setattr(wfdb, "dl_database", _no_network)
    out = REPO_ROOT / "data" / "mitdb"
    code = main(["download-physionet", "--database", "mitdb", "--out", str(out),
                 "--records", "100", "101", "--dry-run"])
    text = capsys.readouterr().out
    assert code == 0
    assert "database: mitdb (https://physionet.org/content/mitdb/)" in text
    assert "records: 100, 101" in text
    assert f"{out / '100'}.hea" in text and f"{out / '101'}.hea" in text
    assert "    - {path: data/mitdb/101, channels: {ecg: MLII}, annotation: atr}" in text
    assert text.rstrip().endswith("dry run: nothing downloaded")
    assert not out.exists()


def test_dry_run_of_a_whole_database(tmp_path, capsys):
    code = main(["download-physionet", "--database", "ltafdb", "--out", str(tmp_path / "db"),
                 "--dry-run"])
    text = capsys.readouterr().out
    assert code == 0
    assert "records: all records listed in the database's RECORDS file" in text
    assert f"path: {tmp_path / 'db'}/<record>" in text


def test_bad_database_name_fails_with_one_line(tmp_path, capsys):
    code = main(["download-physionet", "--database", "../etc", "--out", str(tmp_path),
                 "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "'../etc' is not a PhysioNet database name" in err
