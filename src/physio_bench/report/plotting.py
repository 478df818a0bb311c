"""Small drawing helpers shared by the figure modules (panel grids, labels, placeholders)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from physio_bench.report.style import grid_shape, note_missing, shows_titles

SUBSAMPLE_SEED = 0
UNITS = {"_bpm": "bpm", "_rad": "rad", "_au": "a.u.", "_hz": "Hz", "_s": "s", "_mv": "mV",
         "_pct": "%"}


def new_grid(n_panels: int, max_columns: int, panel_size: tuple[float, float],
             **kwargs: Any) -> tuple[Any, np.ndarray]:
    """A figure with a grid of at least ``n_panels`` axes; extra axes are hidden.

    Returns the figure and the first ``n_panels`` axes, flat.
    """
    import matplotlib.pyplot as plt

    rows, columns = grid_shape(n_panels, max_columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns,
                                                     panel_size[1] * rows),
                             squeeze=False, **kwargs)
    flat = axes.ravel()
    for ax in flat[max(1, n_panels):]:
        ax.set_visible(False)
    return fig, flat[: max(1, n_panels)]


def placeholder(reason: str, size: tuple[float, float] = (4.0, 1.5)) -> Any:
    """A figure holding only the reason why it has no data."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    note_missing(ax, reason)
    return fig


def title(fig: Any, ctx: Any, text: str) -> None:
    """A figure title, drawn in the default style only (publication: the caption says it)."""
    if shows_titles(ctx.style):
        fig.suptitle(text)


def unit_of(name: str) -> str:
    """The unit from a column or task name: ``ecg:heart_rate_bpm`` -> ``bpm``;
    respiratory rates are in breaths per minute."""
    base = name.rsplit(":", 1)[-1].lower()
    if base.startswith("resp") and base.endswith("_bpm"):
        return "breaths/min"
    return next((unit for suffix, unit in UNITS.items() if base.endswith(suffix)), "")


def axis_label(name: str, prefix: str = "") -> str:
    """``true heart_rate (bpm)`` from ``ecg:heart_rate_bpm``."""
    base = name.rsplit(":", 1)[-1]
    unit = unit_of(name)
    for suffix in UNITS:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
            break
    text = f"{prefix} {base}".strip()
    return f"{text} ({unit})" if unit else text


def subsample(n: int, limit: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``n`` points (fixed seed: same points each run)."""
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(SUBSAMPLE_SEED)
    return np.sort(rng.choice(n, size=limit, replace=False))


def identity_line(ax: Any, x: np.ndarray, y: np.ndarray) -> None:
    """A dashed y = x line over the joint finite range of ``x`` and ``y``."""
    both = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
    if both.size:
        low, high = float(both.min()), float(both.max())
        ax.plot([low, high], [low, high], ls="--", lw=0.7, color="0.5", zorder=0)


def r2_score(true: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination on the finite pairs (NaN when undefined)."""
    mask = np.isfinite(true) & np.isfinite(pred)
    if mask.sum() < 2:
        return float("nan")
    t, p = true[mask], pred[mask]
    total = float(((t - t.mean()) ** 2).sum())
    return float("nan") if total == 0 else 1.0 - float(((t - p) ** 2).sum()) / total


def interval_line(ax: Any, ctx: Any, x: np.ndarray, value: np.ndarray, low: np.ndarray,
                  high: np.ndarray, member: str, label: str, style: str) -> None:
    """One line of ``value`` against ``x`` with error bars to ``low`` and ``high`` (a NaN
    or inverted bound draws no bar), in ``member``'s colour and marker."""
    below = np.nan_to_num(np.clip(value - low, 0, None))
    above = np.nan_to_num(np.clip(high - value, 0, None))
    ax.errorbar(x, value, yerr=[below, above], lw=1.0, ls=style,
                color=ctx.colors.color(member), marker=ctx.colors.marker(member), ms=3,
                capsize=2, label=label)


def shared_legend(fig: Any, axes: Any) -> None:
    """One legend below the panels, each label once (its first handle); none when no
    panel has a labelled line."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(name, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                   ncol=min(3, len(handles)), fontsize="small")


def filled_panels(axes: Any, items: Any, found: Any, missing: Any) -> Iterator[tuple[Any, Any]]:
    """``(ax, item)`` for each of ``items`` that is in ``found``; the panel of any other
    item says why it is empty (``missing[item]``)."""
    for ax, item in zip(axes, items, strict=True):
        if item not in found:
            note_missing(ax, missing[item])
            continue
        yield ax, item


def finish(fig: Any, axes: Any, ctx: Any, text: str) -> Any:
    """The figure with its :func:`shared_legend` and its :func:`title` ``text``."""
    shared_legend(fig, axes)
    title(fig, ctx, text)
    return fig
