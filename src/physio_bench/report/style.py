"""Figure style: colour-blind-safe palettes, one colour per model everywhere, reproducible files.

Two styles: ``default`` (PNG at 150 dpi, sans-serif, panel titles) and ``publication``
(vector PDF and SVG, serif fonts, small type, no figure titles). Files are written
reproducibly: fixed ``svg.hashsalt``, no creation dates in PDF/SVG metadata.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from physio_bench.errors import ConfigError

STYLES = ("default", "publication")
EXTENSIONS = {"default": (".png",), "publication": (".pdf", ".svg")}

# Okabe & Ito (2008), ordered so the first colours differ most; black last.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SEQUENTIAL_CMAP = "cividis"  # R², accuracies (colour-blind safe, perceptually uniform)
DIVERGING_CMAP = "PuOr_r"  # signed matrices centred on 0 (colour-blind safe)

_COMMON_RC: dict[str, Any] = {
    "svg.hashsalt": "physio_bench",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "image.cmap": SEQUENTIAL_CMAP,
    "path.simplify": False,
    "figure.constrained_layout.use": True,
}
_STYLE_RC: dict[str, dict[str, Any]] = {
    "default": {
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "font.size": 9,
        "axes.titlesize": 9,
        "figure.dpi": 100,
        "savefig.dpi": 150,
    },
    "publication": {
        "font.family": "serif",
        "font.serif": ["DejaVu Serif"],
        "mathtext.fontset": "dejavuserif",
        "font.size": 7,
        "axes.titlesize": 7,
        "axes.labelsize": 7,
        "xtick.labelsize": 6,
        "ytick.labelsize": 6,
        "legend.fontsize": 6,
        "axes.linewidth": 0.6,
        "lines.linewidth": 1.0,
        "pdf.fonttype": 42,
        "svg.fonttype": "path",
        "savefig.dpi": 300,
    },
}


def check_style(style: str) -> str:
    """Return ``style`` if known, else raise a one-line :class:`ConfigError`."""
    if style not in STYLES:
        raise ConfigError(f"report style {style!r} is unknown: use one of {', '.join(STYLES)}")
    return style


def rc_params(style: str) -> dict[str, Any]:
    """Matplotlib rcParams of a style (use with ``matplotlib.rc_context``)."""
    return {**_COMMON_RC, **_STYLE_RC[check_style(style)]}


def shows_titles(style: str) -> bool:
    """Whether figure-level titles are drawn (publication figures leave them to the caption)."""
    return style != "publication"


class ModelStyle:
    """Colour and marker of every configured model, fixed by its position in the config.

    The position in ``config["models"]`` (enabled or not) decides the colour, so a model
    keeps its colour across figures, presets and runs; the seed instances of a replicated
    model share its colour.
    """

    def __init__(self, model_names: Sequence[str], aliases: dict[str, str] | None = None):
        self._index = {name: i for i, name in enumerate(model_names)}
        for alias, name in (aliases or {}).items():
            self._index.setdefault(alias, self._index[name])

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModelStyle:
        from physio_bench.config import model_instances, replicate_of

        aliases = {i: replicate_of(config, i)[0]
                   for i in model_instances(config, include_disabled=True)}
        return cls(list(config["models"]), aliases)

    def _position(self, model: str) -> int:
        if model not in self._index:  # a model missing from the config: after the others
            self._index[model] = len(self._index)
        return self._index[model]

    def color(self, model: str) -> str:
        return OKABE_ITO[self._position(model) % len(OKABE_ITO)]

    def marker(self, model: str) -> str:
        return MARKERS[(self._position(model) // len(OKABE_ITO)) % len(MARKERS)]


def output_paths(stem: str | Path, style: str) -> list[Path]:
    """The file(s) written for one figure: ``stem.png`` or ``stem.pdf`` and ``stem.svg``."""
    stem = Path(stem)
    return [stem.with_name(stem.name + ext) for ext in EXTENSIONS[check_style(style)]]


def _metadata(ext: str) -> dict[str, Any]:
    if ext == ".pdf":
        return {"CreationDate": None, "ModDate": None, "Producer": "physio_bench"}
    if ext == ".svg":
        return {"Date": None}
    return {"Software": None}


def save_figure(fig: Any, paths: Iterable[Path], style: str) -> list[Path]:
    """Save ``fig`` to every path atomically, with metadata that does not vary between runs."""
    import matplotlib

    from physio_bench.io import atomic_write_bytes

    written = []
    with matplotlib.rc_context(rc_params(style)):
        for path in paths:
            path = Path(path)
            buffer = io.BytesIO()
            fig.savefig(buffer, format=path.suffix.lstrip("."), metadata=_metadata(path.suffix),
                        bbox_inches="tight", pad_inches=0.05)
            atomic_write_bytes(path, buffer.getvalue())
            written.append(path)
    return written


def grid_shape(n_panels: int, max_columns: int) -> tuple[int, int]:
    """Rows and columns of a panel grid holding ``n_panels`` (at least 1 x 1)."""
    n_panels = max(1, n_panels)
    columns = min(n_panels, max_columns)
    return -(-n_panels // columns), columns


def note_missing(ax: Any, reason: str, width: int = 40) -> None:
    """Blank a panel and say why it is empty (the note does not take part in the layout)."""
    import textwrap

    ax.set_axis_off()
    lines = textwrap.wrap(f"no data: {reason}", width=width, break_long_words=True)
    note = ax.text(0.5, 0.5, "\n".join(lines[:6]), ha="center", va="center", fontsize=5,
                   color="0.4", transform=ax.transAxes)
    note.set_in_layout(False)
