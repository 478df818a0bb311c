"""The model plug-in protocol: a name, a description, and ``embed``.

A plug-in is any object with these three members, returned by a factory registered in
the entry-point group ``physio_bench.models``. The factory is called as
``factory(name=<name in the config>, seed=<int>, **options)`` where ``options`` is the
model's config entry without the keys the core reads itself (``plugin``, ``enabled``,
``input_hz``, ``context_s``, ``replicates``, ``threads``, ``shard_size``;
:data:`physio_bench.models.registry.RESERVED_OPTIONS`); it raises
:class:`physio_bench.errors.ModelError` (one line) for options it does not know.

Optional members the embed stage uses when present:

- ``context_samples(n_channels) -> int | None``: the longest window (samples at the input
  rate) the model takes for windows of ``n_channels`` channels, when that depends on the
  channels (Moirai's token budget is shared by all channels); otherwise
  ``ModelInfo.max_window_samples``. Longer windows arrive in consecutive chunks.
- on the factory: ``weights_files(options) -> (weights, files) | None``, the ``weights``
  value (hub id, directory or ``random``) the options resolve to, plug-in defaults
  included, and the files its loader needs; the pre-flight checks them before any job.

``ModelInfo.signal_kinds``: the signal kinds a domain model accepts (``["ppg"]``,
``["ecg"]``; None: every kind). Rows of tasks that feed it other kinds are reported as
``n/a: model is PPG-only`` instead of a number (:mod:`physio_bench.applicability`). The
list is mirrored into ``extra["signal_kinds"]``, which the embed stage copies into
``model.json`` whole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from physio_bench.applicability import check_kinds


@dataclass
class ModelInfo:
    """What a model is and where its weights came from (stored in ``model.json``)."""

    name: str
    plugin: str
    architecture: str
    n_parameters: int
    pretrained: bool
    weights_source: str  # hub id, local directory, "random (seed=...)", or "none" for baselines
    layer_names: list[str]
    weights_sha256: str | None = None
    # longest window (samples at the input rate) the model takes in one piece; the embed
    # stage feeds longer windows in consecutive chunks (None: any length)
    max_window_samples: int | None = None
    # the rate (Hz) the model wants its input at, chosen from its pretraining; the config
    # entry's input_hz wins; None: windows arrive at the suite's rate
    default_input_hz: float | None = None
    device: str = "cpu"  # where embed() runs ("cpu", "cuda:0", ...)
    dtype: str = "float32"  # compute dtype of embed()
    versions: dict[str, str] = field(default_factory=dict)  # package -> version
    extra: dict[str, Any] = field(default_factory=dict)
    # the signal kinds the model accepts (domain models: ["ppg"], ["ecg"]); None: every kind
    signal_kinds: list[str] | None = None

    def __post_init__(self) -> None:
        kinds = check_kinds(self.signal_kinds if self.signal_kinds is not None
                            else self.extra.get("signal_kinds"),
                            f"model {self.name!r} signal_kinds")
        self.signal_kinds = None if kinds is None else list(kinds)
        if kinds is None:
            self.extra.pop("signal_kinds", None)
        else:  # model.json keeps extra whole: the copy the later stages read
            self.extra = {**self.extra, "signal_kinds": list(kinds)}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_any(cls, obj: Any) -> ModelInfo:
        """Build from a ``ModelInfo``, another dataclass, an object with ``to_dict()`` or a
        mapping with the same field names (plug-ins need not import physio_bench)."""
        if isinstance(obj, cls):
            return obj
        if hasattr(obj, "to_dict"):
            data = obj.to_dict()
        elif is_dataclass(obj) and not isinstance(obj, type):
            data = asdict(obj)
        else:
            data = dict(obj)
        known = {f.name for f in fields(cls)}
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known})
        return cls(**{k: v for k, v in data.items() if k in known and k != "extra"}, extra=extra)


@dataclass
class TokenEmbeddings:
    """Per-layer token embeddings of a batch of windows.

    Attributes:
        layers: layer name -> float32 array (windows x tokens x dim), shallow to deep;
            the last entry is the model's output representation.
        token_spans: int64 array (tokens x 2): ``[start, stop)`` sample indices of the
            input window that each token covers.
        token_channels: int64 array (tokens,): the channel each token comes from, or -1
            when a token summarises all channels.
    """

    layers: dict[str, np.ndarray]
    token_spans: np.ndarray
    token_channels: np.ndarray

    @classmethod
    def from_any(cls, obj: Any) -> TokenEmbeddings:
        """Build from any object (or mapping) with ``layers``, ``token_spans`` and
        ``token_channels``; arrays become float32 / int64."""
        get = obj.get if isinstance(obj, dict) else lambda key: getattr(obj, key)
        return cls(
            layers={str(k): np.asarray(v, dtype=np.float32) for k, v in get("layers").items()},
            token_spans=np.asarray(get("token_spans"), dtype=np.int64),
            token_channels=np.asarray(get("token_channels"), dtype=np.int64),
        )

    def validate(self, n_windows: int) -> None:
        """Raise ``ValueError`` if shapes disagree with each other or with ``n_windows``."""
        n_tokens = self.token_spans.shape[0]
        if self.token_spans.shape != (n_tokens, 2):
            raise ValueError(f"token_spans must be tokens x 2, got {self.token_spans.shape}")
        if self.token_channels.shape != (n_tokens,):
            raise ValueError(
                f"token_channels must have {n_tokens} entries, got {self.token_channels.shape}"
            )
        if not self.layers:
            raise ValueError("a model must return at least one layer")
        for name, array in self.layers.items():
            if array.ndim != 3 or array.shape[:2] != (n_windows, n_tokens):
                raise ValueError(
                    f"layer {name!r} must be {n_windows} x {n_tokens} x dim, got {array.shape}"
                )


@runtime_checkable
class EmbeddingModel(Protocol):
    """What the embed stage needs from a model."""

    name: str

    def describe(self) -> ModelInfo:
        """Architecture, parameter count, weights provenance, layer names."""
        ...

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> TokenEmbeddings:
        """Embed float32 windows (windows x channels x samples) sampled at ``sampling_rate_hz``."""
        ...
