"""Provenance of every model in the report: config entry, weights, versions, speed.

Writes ``results/models.md`` and ``results/models.html`` (one row per enabled model) from
the config and ``results/embeddings/{model}/{suite}/model.json``, and
``results/configuration.html``: the merged, validated configuration of the run (the
Snakemake HTML report does not show config files itself).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from physio_bench import __version__
from physio_bench.config import enabled_models, model_entry
from physio_bench.io import atomic_write_bytes
from physio_bench.report.inputs.models import model_infos, model_kind
from physio_bench.report.leaderboard import html_page

COLUMNS = [
    "Model", "Type", "Config", "Weights source", "Weights SHA-256", "Parameters", "Layers",
    "Device / dtype", "Embedding time (s)", "Windows/s", "Versions",
]


def _config_entry(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(options.items()) if k != "enabled")


def _versions(versions: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted((versions or {}).items()))


def model_row(config: dict[str, Any], results: str | Path, model: str) -> dict[str, str]:
    """One table row; cells are empty where ``model.json`` does not exist yet."""
    infos = model_infos(results, model)
    first = next(iter(infos.values()), {})
    pretrained = first.get("pretrained")
    wall = [float(i["wall_time_s"]) for i in infos.values() if i.get("wall_time_s") is not None]
    speed = infos.get("factors", first).get("windows_per_second")
    n_params = first.get("n_parameters")
    return {
        "Model": model,
        "Type": model_kind(config, model, bool(pretrained), first) if infos else "",
        "Config": _config_entry(model_entry(config, model)),
        "Weights source": str(first.get("weights_source", "")),
        "Weights SHA-256": str(first.get("weights_sha256") or ""),
        "Parameters": f"{int(n_params):,}" if n_params is not None else "",
        "Layers": str(len(first.get("layer_names", []))) if first else "",
        "Device / dtype": f"{first.get('device', '')} / {first.get('dtype', '')}" if first else "",
        "Embedding time (s)": f"{sum(wall):.1f}" if wall else "",
        "Windows/s": f"{float(speed):.1f}" if speed is not None else "",
        "Versions": _versions(first.get("versions", {})),
    }


def provenance_table(config: dict[str, Any], results: str | Path) -> pd.DataFrame:
    """One row per enabled model (config order)."""
    return pd.DataFrame([model_row(config, results, m) for m in enabled_models(config)],
                        columns=COLUMNS)


NOTES = (
    f"physio_bench {__version__}. Embedding time: summed over the embedded suites "
    "(factors, sweeps, scenarios, real); windows/s on the factors suite.",
    "The full configuration of the run is in results/configuration.html (in the report "
    "beside this table).",
)


def markdown(table: pd.DataFrame) -> str:
    lines = ["# Models", "", "| " + " | ".join(table.columns) + " |",
             "|" + "|".join(["---"] * table.shape[1]) + "|"]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join([*lines, "", *NOTES]) + "\n"


def configuration_page(config: dict[str, Any]) -> str:
    """The configuration as YAML (sorted keys) in a self-contained HTML page."""
    text = yaml.safe_dump(config, sort_keys=True, allow_unicode=True)
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>physio_bench "
            "configuration</title></head><body><p>Merged and validated configuration of this "
            f"run (physio_bench {__version__}).</p><pre>{html.escape(text)}</pre></body></html>\n")


def write_provenance(config: dict[str, Any], results: str | Path) -> dict[str, Path]:
    """Write ``models.md``, ``models.html`` and ``configuration.html`` into ``results``."""
    results = Path(results)
    table = provenance_table(config, results)
    paths = {"markdown": results / "models.md", "html": results / "models.html",
             "configuration": results / "configuration.html"}
    atomic_write_bytes(paths["markdown"], markdown(table).encode())
    atomic_write_bytes(paths["html"], html_page(table, "physio_bench models", NOTES).encode())
    atomic_write_bytes(paths["configuration"], configuration_page(config).encode())
    return paths
