"""Training on synthetic physiology: the loss curve, and trained versus untrained per metric.

Both exist only when the config enables a finetune run.

- ``ft_loss_curve``: one panel per enabled finetune run, the training loss (uni2ts's
  packed negative log-likelihood of the masked patches) of every step from
  ``results/finetune/<run>/loss.csv``, with its 10-step running mean.
- ``ft_trained_vs_untrained``: for every model that evaluates a run's checkpoint and its
  twin (the same architecture before training, see
  :func:`physio_bench.finetune.trained_models`), each leaderboard metric (layer
  ``last``) of both, with their 95% intervals; one panel per (stage, metric), one row
  per task. The intervals are each model's own; the paired interval of the difference
  is the compare stage's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physio_bench.report.kinds import FigureContext, FigureKind
from physio_bench.report.plotting import filled_panels, new_grid, placeholder, title

RUNNING_MEAN_STEPS = 10
TWIN_COLOR = "0.55"


def loss_data(ctx: FigureContext) -> dict[str, Any]:
    """Run -> (steps, losses) from each enabled run's ``loss.csv``."""
    import pandas as pd

    from physio_bench.finetune import enabled_runs

    curves, missing = {}, {}
    for run in enabled_runs(ctx.config):
        path = ctx.results / "finetune" / run / "loss.csv"
        if not path.exists():
            missing[run] = f"{path} does not exist"
            continue
        frame = pd.read_csv(path)
        curves[run] = (frame["step"].to_numpy(), frame["loss"].to_numpy(dtype=float))
    if not curves:
        missing["all"] = "; ".join(missing.values()) or "no enabled finetune run"
    return {"runs": list(enabled_runs(ctx.config)), "curves": curves, "missing": missing}


def running_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Mean of the last ``width`` values at each position (fewer at the start)."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(1, values.size + 1)
    start = np.maximum(0, index - width)
    return (cumulative[index] - cumulative[start]) / (index - start)


def draw_loss(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    fig, axes = new_grid(len(data["runs"]), 3, (3.2, 2.3))
    for ax, run in filled_panels(axes, data["runs"], data["curves"], data["missing"]):
        steps, losses = data["curves"][run]
        ax.plot(steps, losses, lw=0.6, color="0.7", label="per step")
        ax.plot(steps, running_mean(losses, RUNNING_MEAN_STEPS), lw=1.4,
                color=ctx.colors.color(run), label=f"{RUNNING_MEAN_STEPS}-step mean")
        ax.set_title(run, fontsize="small")
        ax.set_xlabel("step")
        ax.set_ylabel("training NLL (masked patches)")
        ax.legend(fontsize="x-small")
    title(fig, ctx, "Training loss of the finetune runs (uni2ts masked-prediction NLL)")
    return fig


def comparison_data(ctx: FigureContext) -> dict[str, Any]:
    """Per trained model: (stage, metric) -> task -> (trained, twin) (value, low, high)."""
    from physio_bench.finetune import trained_models

    pairs = [p for p in trained_models(ctx.config) if p.twin is not None]
    if not pairs:
        return {"missing": {"all": "no enabled model evaluates a finetune run next to its "
                                   "untrained twin"}}
    rows = ctx.rows
    rows = rows[rows["layer"] == "last"]
    panels: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    missing = {}
    for pair in pairs:
        mine, twin = rows[rows["model"] == pair.model], rows[rows["model"] == pair.twin]
        if mine.empty or twin.empty:
            missing[pair.model] = f"no leaderboard rows of {pair.model} or {pair.twin}"
            continue
        keyed = twin.set_index(["stage", "metric", "task"])
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for _, row in mine.iterrows():
            key = (row["stage"], row["metric"], row["task"])
            if key not in keyed.index:
                continue
            other = keyed.loc[key]
            other = other.iloc[0] if getattr(other, "ndim", 1) > 1 else other
            found.setdefault(key[:2], {})[key[2]] = (
                (row["value"], row["ci_low"], row["ci_high"]),
                (other["value"], other["ci_low"], other["ci_high"]))
        panels[pair.model] = found
    if not panels:
        missing["all"] = "; ".join(missing.values())
    return {"pairs": {p.model: p.twin for p in pairs if p.model in panels}, "panels": panels,
            "missing": missing}


def _dumbbell(ax: Any, tasks: dict[str, Any], color: str) -> None:
    names = sorted(tasks)
    for y, task in enumerate(names):
        (value, low, high), (twin, twin_low, twin_high) = tasks[task]
        ax.plot([twin, value], [y, y], color="0.8", lw=1.0, zorder=1)
        for x, lo, hi, c, dy in ((twin, twin_low, twin_high, TWIN_COLOR, 0.15),
                                 (value, low, high, color, -0.15)):
            if np.isfinite(lo) and np.isfinite(hi):
                ax.plot([lo, hi], [y + dy, y + dy], color=c, lw=0.8, zorder=2)
            ax.scatter([x], [y + dy], color=c, s=10, zorder=3)
    ax.set_yticks(range(len(names)), names, fontsize="xx-small")
    ax.invert_yaxis()


def draw_comparison(data: dict[str, Any], ctx: FigureContext) -> Any:
    if "all" in data["missing"]:
        return placeholder(data["missing"]["all"])
    panels = [(model, key, tasks) for model, found in data["panels"].items()
              for key, tasks in sorted(found.items())]
    if not panels:
        return placeholder("the trained model and its twin share no leaderboard metric")
    fig, axes = new_grid(len(panels), 3, (3.0, 2.6))
    for ax, (model, (stage, metric), tasks) in zip(axes, panels, strict=True):
        _dumbbell(ax, tasks, ctx.colors.color(model))
        ax.set_title(f"{stage}: {metric}", fontsize="x-small")
        ax.set_xlabel(f"{model} (colour) vs {data['pairs'][model]} (grey)", fontsize="xx-small")
    title(fig, ctx, "Trained on synthetic physiology versus the untrained twin (layer last)")
    return fig


def finetune_inputs(config: dict[str, Any], results: Path) -> list[str]:
    """Files the finetune figures read: loss curves, and result CSVs of trained and twins."""
    from physio_bench.config import instance_groups
    from physio_bench.finetune import enabled_runs, trained_models
    from physio_bench.report.leaderboard import PROBES

    groups = instance_groups(config)  # a replicated twin is read through its seed instances
    paths = [str(results / "finetune" / run / "loss.csv") for run in enabled_runs(config)]
    for pair in trained_models(config):
        for model in (pair.model, pair.twin):
            for instance in groups.get(model, [model]) if model is not None else []:
                paths += [str(results / "probes" / instance / f"{p}.csv") for p in PROBES]
                paths.append(str(results / "downstream" / f"{instance}.csv"))
    return sorted(set(paths))


def has_runs(config: dict[str, Any]) -> bool:
    """The finetune figures exist only when a finetune run is enabled."""
    from physio_bench.finetune import enabled_runs

    return bool(enabled_runs(config))


KINDS = [
    FigureKind("ft_loss_curve", "finetune", "Training loss on synthetic physiology",
               loss_data, draw_loss, applies=has_runs),
    FigureKind("ft_trained_vs_untrained", "finetune", "Trained versus untrained twin",
               comparison_data, draw_comparison, applies=has_runs),
]
