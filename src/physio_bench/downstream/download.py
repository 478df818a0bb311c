"""Download a PhysioNet database (WFDB version) with SHA-256 verification.

``physio-bench download-physionet --database bidmc --out data/physionet-bidmc`` reads the
database's ``SHA256SUMS.txt`` from ``{base_url}{database}/{version}/``, downloads every
file of the WFDB version (the files at the top of the release; sub-folders such as CSV or
MATLAB copies are skipped), or those of the ``--records`` given, and keeps a file only if
its SHA-256 matches the list: a mismatch stops with one line and leaves no partial file.
Files already present with the right hash are not downloaded again, so an interrupted
download resumes. It prints the ``downstream.datasets`` entry that uses the folder.

``--dry-run`` prints the plan and the entry without any network access. ``--base-url``
points at a mirror (tests serve a fake database from ``127.0.0.1``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from physio_bench.errors import InputError

PHYSIONET_FILES_URL = "https://physionet.org/files/"
DATABASE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
RECORD_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
VERSION_PATTERN = re.compile(r"^[0-9][0-9A-Za-z.-]*$")
SUMS_FILE = "SHA256SUMS.txt"
TIMEOUT_S = 60

#: versions and config entries of the databases the default benchmark uses
KNOWN: dict[str, dict[str, str]] = {
    "mitdb": {"version": "1.0.0",
              "entry": "reader: wfdb, path: {path}, channels: {{ecg: [MLII, V5]}}, beats: atr"},
    "bidmc": {"version": "1.0.0",
              "entry": "reader: wfdb, path: {path}, channels: {{ecg: II, ppg: PLETH, "
                       "rsp: RESP}}, breaths: breath"},
}
GENERIC_ENTRY = ("reader: wfdb, path: {path}, channels: {{ecg: <channel name from a .hea "
                 "file>}}")


@dataclass(frozen=True)
class DownloadPlan:
    """What to download: a PhysioNet database release, some or all records, into ``out_dir``."""

    database: str
    version: str
    out_dir: Path
    records: tuple[str, ...] | None  # None: the whole WFDB version
    base_url: str

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.database}/{self.version}/"


def plan_download(database: str, out_dir: str | Path, records: list[str] | None = None,
                  version: str | None = None, base_url: str = PHYSIONET_FILES_URL,
                  ) -> DownloadPlan:
    """Check the names and return a :class:`DownloadPlan` (no network).

    Raises:
        InputError: a database, version or record name that PhysioNet cannot have.
    """
    if not DATABASE_PATTERN.match(database):
        raise InputError(
            f"'{database}' is not a PhysioNet database name: use its short name, e.g. mitdb "
            "or bidmc (see https://physionet.org/about/database/)"
        )
    version = version or KNOWN.get(database, {}).get("version")
    if version is None:
        raise InputError(f"no known version of '{database}': pass --version (e.g. 1.0.0, as "
                         f"in https://physionet.org/content/{database}/)")
    if not VERSION_PATTERN.match(version):
        raise InputError(f"'{version}' is not a PhysioNet version: use e.g. 1.0.0")
    for record in records or []:
        if not RECORD_PATTERN.match(record):
            raise InputError(f"'{record}' is not a WFDB record name: use e.g. 100")
    return DownloadPlan(database=database, version=version, out_dir=Path(out_dir).resolve(),
                        records=tuple(records) if records else None, base_url=base_url)


def _config_path(path: Path) -> str:
    """A folder as the config takes it: relative to the working directory (where relative
    config paths start) when inside it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def config_entry(plan: DownloadPlan) -> str:
    """The ``downstream.datasets`` entry (YAML) that uses the downloaded folder."""
    template = KNOWN.get(plan.database, {}).get("entry", GENERIC_ENTRY)
    body = template.format(path=_config_path(plan.out_dir))
    if plan.records:
        body += f", records: [{', '.join(plan.records)}]"
    return f"downstream:\n  datasets:\n    {plan.database}: {{{body}}}"


def describe_plan(plan: DownloadPlan) -> str:
    """Human-readable description of a plan: what, from where, to where, and the entry."""
    records = ", ".join(plan.records) if plan.records else "all (the database's WFDB files)"
    return "\n".join([
        f"database: {plan.database} {plan.version} ({plan.url})",
        f"records: {records}",
        f"target folder: {plan.out_dir}",
        f"checksums: every file is checked against {plan.url}{SUMS_FILE}",
        "config entry (merge it into your config):",
        config_entry(plan),
    ])


def _fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise InputError(f"cannot download {url}: {reason} (check the network and the "
                         "database name and version)") from exc


def parse_sums(text: str) -> dict[str, str]:
    """``path -> sha256`` from a ``sha256sum`` listing (``HASH  PATH`` or ``HASH *PATH``)."""
    sums = {}
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def _wanted(name: str, records: tuple[str, ...] | None) -> bool:
    """A top-level file of the release that belongs to the plan."""
    if "/" in name or name == SUMS_FILE:
        return False
    if records is None:
        return True
    stem = name.split(".")[0]
    return any(stem == r or (stem.startswith(r) and not stem[len(r)].isdigit())
               for r in records)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(plan: DownloadPlan) -> list[Path]:
    """Download and verify the planned files; return their paths (sorted).

    Raises:
        InputError: network errors, an empty selection, or a checksum mismatch.
    """
    sums = parse_sums(_fetch(plan.url + SUMS_FILE).decode("utf-8", errors="replace"))
    names = sorted(n for n in sums if _wanted(n, plan.records))
    if not names:
        raise InputError(f"{plan.url}{SUMS_FILE} lists no file for records "
                         f"{', '.join(plan.records or ())}: check the record names")
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        target = plan.out_dir / name
        if target.exists() and _sha256(target) == sums[name]:
            written.append(target)
            continue
        data = _fetch(plan.url + name)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sums[name]:
            raise InputError(f"checksum mismatch for {name}: expected {sums[name][:12]}..., got "
                             f"{actual[:12]}...; nothing was kept: try again or report it")
        fd, tmp = tempfile.mkstemp(dir=plan.out_dir, prefix=f".{name}.", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        written.append(target)
    if plan.records:  # the release's RECORDS lists every record: list the chosen ones
        (plan.out_dir / "RECORDS").write_text("".join(f"{r}\n" for r in plan.records))
    return written
