"""Download whole PhysioNet databases (or some records) for the downstream stage.

Uses ``wfdb.dl_database``, which needs network access; ``dry_run`` describes what would be
downloaded (database, records, target paths, a config snippet) without any network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from physio_bench.config import REPO_ROOT
from physio_bench.errors import InputError

PHYSIONET_CONTENT_URL = "https://physionet.org/content/"
DATABASE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*(/[A-Za-z0-9._-]+)*$")
RECORD_PATTERN = re.compile(r"^[A-Za-z0-9._/-]+$")

# Channel and annotation names of databases whose records mostly share them; records
# differ (e.g. mitdb 102 and 104 have no MLII lead), so check each record's .hea file.
KNOWN_CHANNELS: dict[str, dict[str, str]] = {"mitdb": {"ecg": "MLII"}}
KNOWN_ANNOTATIONS: dict[str, str] = {"mitdb": "atr"}


@dataclass(frozen=True)
class DownloadPlan:
    """What to download: a PhysioNet database, some or all records, into ``out_dir``."""

    database: str
    out_dir: Path
    records: tuple[str, ...] | None  # None: every record in the database's RECORDS file
    annotators: tuple[str, ...] | None  # None: every annotator the database lists

    @property
    def url(self) -> str:
        return f"{PHYSIONET_CONTENT_URL}{self.database}/"


def plan_download(
    database: str,
    out_dir: str | Path,
    records: list[str] | None = None,
    annotators: list[str] | None = None,
) -> DownloadPlan:
    """Check the names and return a :class:`DownloadPlan` (no network).

    Raises:
        InputError: a database or record name that PhysioNet cannot have.
    """
    if not DATABASE_PATTERN.match(database):
        raise InputError(
            f"'{database}' is not a PhysioNet database name: use its short name, e.g. mitdb "
            "(see https://physionet.org/about/database/)"
        )
    for record in records or []:
        if not RECORD_PATTERN.match(record):
            raise InputError(f"'{record}' is not a WFDB record name: use e.g. 100")
    return DownloadPlan(
        database=database,
        out_dir=Path(out_dir).resolve(),
        records=tuple(records) if records else None,
        annotators=tuple(annotators) if annotators else None,
    )


def _config_path(path: Path) -> str:
    """A record path as the config takes it: relative to the repository when inside it."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def config_snippet(plan: DownloadPlan) -> str:
    """YAML lines to add the planned records to ``downstream.records``."""
    database = plan.database.split("/")[0]
    channels = KNOWN_CHANNELS.get(database, {"ecg": "<channel name from the record's .hea>"})
    channel_text = ", ".join(f"{k}: {v}" for k, v in channels.items())
    annotation = KNOWN_ANNOTATIONS.get(database, "<annotation extension, or remove>")
    records = plan.records or ("<record>",)
    lines = ["downstream:", "  records:"]
    for record in records:
        entry = (f"path: {_config_path(plan.out_dir / record)}, channels: {{{channel_text}}}, "
                 f"annotation: {annotation}")
        lines.append(f"    - {{{entry}}}")
    if plan.records is None:
        lines.append("    # ... one entry per record listed in the database's RECORDS file")
    return "\n".join(lines)


def describe_plan(plan: DownloadPlan) -> str:
    """Human-readable description of a plan: what, from where, to where."""
    records = ", ".join(plan.records) if plan.records else (
        "all records listed in the database's RECORDS file")
    annotators = ", ".join(plan.annotators) if plan.annotators else "all the database lists"
    if plan.records:
        targets = [f"  {plan.out_dir / r}.hea and the signal and annotation files it names"
                   for r in plan.records]
    else:
        targets = [f"  {plan.out_dir}/<record>.hea, .dat, ... for every record"]
    return "\n".join([
        f"database: {plan.database} ({plan.url})",
        f"records: {records}",
        f"annotators: {annotators}",
        f"target folder: {plan.out_dir}",
        "files:",
        *targets,
        "add them to your config (check each record's channel names in its .hea file):",
        config_snippet(plan),
    ])


def download(plan: DownloadPlan) -> list[Path]:
    """Download the planned files with ``wfdb.dl_database`` (network); return header paths."""
    import wfdb

    plan.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        wfdb.dl_database(
            plan.database,
            str(plan.out_dir),
            records=list(plan.records) if plan.records else "all",
            annotators=list(plan.annotators) if plan.annotators else "all",
        )
    except Exception as exc:  # network and HTTP errors come in many types
        raise InputError(
            f"download of PhysioNet database '{plan.database}' failed: {exc}".splitlines()[0]
            + " (check the network and the database name)"
        ) from exc
    return sorted(plan.out_dir.rglob("*.hea"))
