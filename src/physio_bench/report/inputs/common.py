"""Shared helpers of the readers: a missing-result error and key look-up with its path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class MissingResult(LookupError):  # noqa: N818 (it is a condition, not a bug)
    """A result file or key the report wants is absent; the message says which."""


def load_json(path: str | Path) -> dict[str, Any]:
    """Read a stage's JSON detail file, or raise :class:`MissingResult` naming it."""
    path = Path(path)
    if not path.exists():
        raise MissingResult(f"{path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MissingResult(f"{path} is not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise MissingResult(f"{path} does not hold a JSON object")
    data["__path__"] = str(path)
    return data


def get_key(data: dict[str, Any], keys: Sequence[str]) -> Any:
    """``data[k1][k2]...``, or :class:`MissingResult` naming the file and the missing key."""
    node: Any = data
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            where = data.get("__path__", "result")
            raise MissingResult(f"{where} lacks key '{'.'.join(keys[: depth + 1])}'")
        node = node[key]
    return node


def as_array(values: Any, what: str) -> np.ndarray:
    """A float64 array of ``values`` (JSON ``null`` becomes NaN), or :class:`MissingResult`."""
    try:
        array = np.asarray([np.nan if v is None else v for v in np.ravel(values)], dtype=float)
        return array.reshape(np.shape(values))
    except (TypeError, ValueError) as exc:
        raise MissingResult(f"{what} is not numeric") from exc


def layer_curves(data: dict[str, Any], layers_key: str, curves_key: str) -> dict[str, Any]:
    """``{"layers": [...], "curves": {metric: array per layer}}`` of a probe JSON."""
    layers = [str(x) for x in get_key(data, [layers_key])]
    curves = {}
    for metric, values in sorted(get_key(data, [curves_key]).items()):
        array = as_array(values, f"{curves_key}.{metric}")
        if array.shape != (len(layers),):
            raise MissingResult(
                f"{data.get('__path__')} key '{curves_key}.{metric}' has {array.size} values "
                f"for {len(layers)} layers"
            )
        curves[metric] = array
    return {"layers": layers, "curves": curves}
