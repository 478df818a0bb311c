"""TinyTimeMixer (TTM, ``granite-tsfm``'s ``tsfm_public``) backbone states per block.

How windows become tokens (``TinyTimeMixerModel.forward``, the backbone that
``TinyTimeMixerForPrediction`` runs before its decoder and head):

* a window of ``n <= context_length`` samples (512 for the published TTM-R2 default) is
  right-aligned in the context and left-padded with zeros whose ``past_observed_mask`` is
  0, so the scaler (``std``: mean and standard deviation per channel) ignores them;
* the context is cut into ``num_patches`` patches of ``patch_length`` samples (stride
  ``patch_stride``; 8 patches of 64 for TTM-R2 512) and each channel is mixed on its own
  (``mode: common_channel``, the published models), so tokens are channel-major and
  channel-independent;
* TTM is an MLP-Mixer: every block mixes *all* patches of a channel (no causal or masked
  attention), so padding patches influence the others. Patches that hold no window sample
  are not exported; a partly padded first patch is (its span starts at sample 0).

Layers: ``layer_00`` .. ``layer_NN`` (the output of every block of
``encoder.mlp_mixer_encoder.mixers``: with adaptive patching, each level mixes at its own
resolution and returns to ``num_patches`` x ``d_model``, which is what is exported); the
last is the backbone's ``last_hidden_state``, what the decoder reads (TTM has no final
norm in the backbone).

Input assumptions: at most ``context_length`` samples (longer windows are refused; the
core resamples to ``input_hz`` and feeds chunks), any number of channels. Recommended
input rate (``default_input_hz``): **25 Hz**, chosen by physio_bench's sensitivity study
on simulated windows (its docs/models.md, "TTM-R2's input rate": the highest heart- and
breathing-rate probe R² among the rates at which TTM-R2's forecasts work on some signal
kind): a 32-s window is 800 samples, two chunks of the 512-sample context, tokens of
2.56 s; the band below 10 Hz keeps heart and breathing rhythms and the PPG waveform.

Pretraining data: about 1B samples from the Monash archive, LibCity and other public
forecasting sets, augmented by downsampling (TTM paper, Ekambaram et al. 2024; R2 adds
more public data); no physiological recordings named. Weights
``ibm-granite/granite-timeseries-ttm-r2`` are licensed Apache-2.0 and read from
``model.safetensors`` only, strictly (every tensor of the model must be in the file).
When the checkpoint directory holds ``SHA256SUMS`` (the copy shipped in
``data/weights/ttm-r2`` does), ``config.json`` and ``model.safetensors`` must match it
before anything is loaded.

Untrained twin: ``weights: random`` with ``config: DIR`` builds
``TinyTimeMixerForPrediction(TinyTimeMixerConfig.from_pretrained(DIR))`` under
``torch.manual_seed(seed)``: the library's own initialisation (PyTorch's constructor
defaults, as ``post_init: false`` in the published config asks) of the identical
architecture; ``pretrained: false``, ``weights_source: random (seed=N)``, and
``weights_sha256`` the SHA-256 of the initial state dict (names, dtypes, shapes, bytes).

Zero-shot forecast (``forecast``): TTM's own forecasting head
(``TinyTimeMixerForPrediction(...).prediction_outputs``, ``prediction_length`` steps, 96
for TTM-R2 512-96) on the last ``context_length`` samples of each channel (a shorter
context is right-aligned and left-padded with unobserved zeros, as for ``embed``). TTM-R2
is a point forecaster trained with MSE: the forecast is returned as the single quantile
level 0.5, with no likelihood. ``describe().extra`` names ``forecast_horizon_samples``
and ``forecast_context_samples``.

Options: ``weights`` (hub id, read from the local Hugging Face cache only, a local
directory written by ``save_pretrained``, or ``random``; default
``ibm-granite/granite-timeseries-ttm-r2``), ``config`` (with ``weights: random`` only: the
directory whose ``config.json`` gives the architecture), ``device`` (auto | cpu | cuda),
``batch_size`` (windows per forward pass, default 64).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from physio_bench_kit import (
    check_covers,
    embed_in_batches,
    file_sha256,
    info_dict,
    state_dict_sha256,
)
from physio_bench_kit import checkpoint_directory as kit_checkpoint_directory

DEFAULT_WEIGHTS = "ibm-granite/granite-timeseries-ttm-r2"
SAFETENSORS = "model.safetensors"
CONFIG = "config.json"
CHECKSUMS = "SHA256SUMS"
RANDOM = "random"
DEFAULT_INPUT_HZ = 25.0


class InputError(ValueError):
    """A window TTM cannot take (mapped to physio_bench's InputError by name)."""


def verify_checksums(directory: Path, files: tuple[str, ...], name: str) -> dict[str, str]:
    """Check ``files`` against ``directory/SHA256SUMS`` when it exists (``sha256sum``
    format); return the verified digests. Same rule as physio_bench's pre-flight."""
    listing = directory / CHECKSUMS
    if not listing.is_file():
        return {}
    expected: dict[str, str] = {}
    for line in listing.read_text().splitlines():
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.rstrip())
        if match:
            expected[match.group(2)] = match.group(1).lower()
    verified = {}
    for file in files:
        if file not in expected:
            raise ValueError(f"model {name!r}: {listing} does not list {file}")
        actual = file_sha256(directory / file)
        if actual != expected[file]:
            raise ValueError(f"model {name!r}: {directory / file} does not match {CHECKSUMS} "
                             f"(sha256 {actual[:16]}..., expected {expected[file][:16]}...): "
                             f"the file is corrupted or truncated")
        verified[file] = actual
    return verified


def checkpoint_directory(weights: str, name: str) -> tuple[Path, str | None]:
    """The local checkpoint directory of ``weights`` and its hub revision (None if local),
    read by the kit (never downloads), then checked against ``SHA256SUMS`` when present."""
    directory, revision = kit_checkpoint_directory(weights, name, (CONFIG, SAFETENSORS))
    verify_checksums(directory, (CONFIG, SAFETENSORS), name)
    return directory, revision


def config_directory(config: Any, name: str) -> Path:
    """The directory holding the ``config.json`` of an untrained twin (checked)."""
    if not isinstance(config, str) or not config:
        raise ValueError(f"model {name!r}: weights: random needs option config: the "
                         f"checkpoint directory whose config.json gives the architecture")
    directory = Path(config).expanduser()
    if not (directory / CONFIG).is_file():
        raise ValueError(f"model {name!r}: config directory {config} lacks {CONFIG}")
    verify_checksums(directory, (CONFIG,), name)
    return directory


def patch_spans(n_samples: int, context: int, length: int, stride: int, n_patches: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the patches holding window samples, their ``[start, stop)`` in the
    window), for a window right-aligned in a context of ``context`` samples."""
    first = context - (length + stride * (n_patches - 1))  # TinyTimeMixerPatchify
    starts = first + np.arange(n_patches, dtype=np.int64) * stride - (context - n_samples)
    stops = starts + length
    keep = np.flatnonzero(stops > 0).astype(np.int64)
    return keep, np.stack([np.maximum(starts[keep], 0), stops[keep]], axis=1)


class TTMModel:
    """TinyTimeMixer backbone as an embedding model (see the module docstring)."""

    default_input_hz = DEFAULT_INPUT_HZ

    def __init__(self, name: str, seed: int = 0, weights: str = DEFAULT_WEIGHTS,
                 config: str | None = None, device: str = "auto", batch_size: int = 64
                 ) -> None:
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"model {name!r}: device must be auto, cpu or cuda, got {device!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"model {name!r}: batch_size must be a positive integer")
        self.name, self.weights, self.seed, self.batch_size = name, weights, int(seed), batch_size
        self.pretrained = weights != RANDOM
        if self.pretrained:
            if config is not None:
                raise ValueError(f"model {name!r}: option config is for weights: random only")
            directory, self.revision = checkpoint_directory(weights, name)  # cheap: first
        else:
            directory, self.revision = config_directory(config, name), None
        self.config_source = None if self.pretrained else str(config)
        import torch
        from tsfm_public.models.tinytimemixer import (
            TinyTimeMixerConfig,
            TinyTimeMixerForPrediction,
        )

        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" \
            else device
        try:
            if self.pretrained:
                model = TinyTimeMixerForPrediction.from_pretrained(str(directory),
                                                                   use_safetensors=True)
                check_covers(model, directory / SAFETENSORS)
            else:
                architecture = TinyTimeMixerConfig.from_pretrained(str(directory))
                state = torch.random.get_rng_state()
                torch.manual_seed(self.seed)
                try:
                    model = TinyTimeMixerForPrediction(architecture)
                finally:
                    torch.random.set_rng_state(state)
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise ValueError(f"model {name!r}: cannot load TTM weights from {directory} "
                             f"({type(exc).__name__}: {first})") from exc
        config = model.config
        unsupported = [key for key in ("resolution_prefix_tuning", "register_tokens",
                                       "fft_length") if getattr(config, key, None)]
        if config.mode != "common_channel":
            unsupported.append(f"mode {config.mode}")
        if unsupported:
            raise ValueError(f"model {name!r}: TTM checkpoints with {', '.join(unsupported)} "
                             f"are not supported (extra tokens without a time span, or "
                             f"channel mixing this adapter does not document)")
        self.model = model.to(self.device).eval()
        self.config = config
        self.mixers = list(self.model.backbone.encoder.mlp_mixer_encoder.mixers)
        self.layer_names = [f"layer_{i:02d}" for i in range(len(self.mixers))]
        self.sha256 = file_sha256(directory / SAFETENSORS) if self.pretrained \
            else state_dict_sha256(self.model)
        self.config_sha256 = file_sha256(directory / CONFIG)

    def describe(self) -> dict[str, Any]:
        config = self.config
        extra: dict[str, Any] = {
            "context_length": config.context_length, "patch_length": config.patch_length,
            "patch_stride": config.patch_stride, "num_patches": config.num_patches,
            "adaptive_patching_levels": config.adaptive_patching_levels,
            "token_order": ("channel-major; window right-aligned in the context, padding "
                            "unobserved; patches without window samples dropped"),
            "config_sha256": self.config_sha256,
            "forecast_horizon_samples": int(config.prediction_length),
            "forecast_context_samples": int(config.context_length),
            "forecast": ("TinyTimeMixerForPrediction prediction_outputs (point forecast, "
                         "returned as quantile level 0.5; no likelihood)"),
            "n_parameters_with_head": int(sum(p.numel() for p in self.model.parameters())),
        }
        if self.config_source is not None:
            extra["config_source"] = self.config_source
        return info_dict(
            name=self.name, plugin="ttm", default_input_hz=self.default_input_hz,
            architecture=(f"TinyTimeMixer (granite-tsfm TinyTimeMixerModel backbone): "
                          f"{len(self.mixers)} blocks, d_model {config.d_model}, "
                          f"{config.num_patches} patches of {config.patch_length}, context "
                          f"{config.context_length}, channel-independent"),
            n_parameters=sum(p.numel() for p in self.model.backbone.parameters()),
            pretrained=self.pretrained,
            weights_source=self.weights if self.pretrained else f"random (seed={self.seed})",
            weights_sha256=self.sha256, layer_names=self.layer_names,
            max_window_samples=int(config.context_length), device=self.device,
            distributions=("granite-tsfm", "torch", "transformers", "numpy"),
            weights_revision=self.revision, extra=extra)

    def _context(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``past_values`` and ``past_observed_mask`` (windows x context x channels): each
        window right-aligned in the context, the padding zeros unobserved."""
        context = int(self.config.context_length)
        n_windows, n_channels, n_samples = windows.shape
        values = np.zeros((n_windows, context, n_channels), dtype=np.float32)
        values[:, context - n_samples:] = windows.transpose(0, 2, 1)
        observed = np.zeros_like(values)
        observed[:, context - n_samples:] = 1.0
        return values, observed

    def forward(self, windows: np.ndarray) -> list[np.ndarray]:
        """Every block's output (windows x channels x patches x d_model)."""
        import torch

        values, observed = self._context(windows)
        captured: dict[int, Any] = {}
        hooks = [mixer.register_forward_hook(
            lambda _m, _i, out, index=index: captured.__setitem__(
                index, out[0] if isinstance(out, tuple) else out))
            for index, mixer in enumerate(self.mixers)]
        try:
            with torch.inference_mode():
                self.model.backbone(torch.from_numpy(values).to(self.device),
                                    past_observed_mask=torch.from_numpy(observed).to(self.device))
        finally:
            for hook in hooks:
                hook.remove()
        return [captured[index].float().cpu().numpy() for index in range(len(self.mixers))]

    def embed(self, windows: np.ndarray, sampling_rate_hz: float) -> dict[str, Any]:
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        n_samples = windows.shape[2]
        config = self.config
        if n_samples > config.context_length:
            raise InputError(f"windows of {n_samples} samples are longer than TTM's context of "
                             f"{config.context_length}; set input_hz so that a window fits, "
                             f"or let the core feed chunks")
        keep, spans = patch_spans(n_samples, config.context_length, config.patch_length,
                                  config.patch_stride, config.num_patches)
        return embed_in_batches(self.forward, windows, self.batch_size, self.layer_names,
                                spans, keep)

    def forecast(self, context: np.ndarray, horizon_samples: int, sampling_rate_hz: float,
                 targets: np.ndarray | None = None) -> dict[str, Any]:
        """Zero-shot point forecast of the next ``horizon_samples`` samples of every channel.

        Args:
            context: float32 windows x channels x samples at the input rate; only the last
                ``context_length`` samples are used (a shorter context is left-padded with
                unobserved zeros).
            horizon_samples: 1 .. ``prediction_length`` (the head's horizon).
            sampling_rate_hz: the context's rate (TTM takes no rate; recorded by callers).
            targets: ignored (TTM-R2 gives no likelihood).

        Returns:
            ``{"quantile_levels": [0.5], "quantiles": float32 windows x channels x 1 x
            horizon_samples}``: the head's ``prediction_outputs``.
        """
        import torch

        del sampling_rate_hz, targets  # a point forecaster: neither changes the output
        context = np.asarray(context, dtype=np.float32)
        horizon = int(self.config.prediction_length)
        if context.ndim != 3 or context.shape[2] < 1:
            raise InputError(f"context must be windows x channels x samples, got shape "
                             f"{context.shape}")
        if isinstance(horizon_samples, bool) or not 1 <= int(horizon_samples) <= horizon:
            raise InputError(f"horizon of {horizon_samples} samples: TTM's head forecasts 1 to "
                             f"{horizon} samples")
        if not np.isfinite(context).all():
            raise InputError("context contains NaN or infinite values")
        limit = int(self.config.context_length)
        context = np.ascontiguousarray(context[:, :, -limit:])
        out = []
        for start in range(0, context.shape[0], self.batch_size):
            values, observed = self._context(context[start:start + self.batch_size])
            with torch.inference_mode():
                output = self.model(past_values=torch.from_numpy(values).to(self.device),
                                    past_observed_mask=torch.from_numpy(observed).to(
                                        self.device), return_loss=False)
            prediction = output.prediction_outputs.float().cpu().numpy()  # b x horizon x c
            out.append(prediction[:, :int(horizon_samples)].transpose(0, 2, 1))
        quantiles = np.concatenate(out)[:, :, None, :].astype(np.float32)
        return {"quantile_levels": [0.5], "quantiles": quantiles}
