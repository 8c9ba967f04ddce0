"""The model a config builds, counted without building it: the resolved hidden size, the
parameters and the memory one training batch takes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lstm_core.config import Config, resolve_hidden_size
from lstm_core.network import build_net


@dataclass(frozen=True)
class ModelSummary:
    """The model a config builds for a given number of input columns."""

    input_width: int
    hidden_size: int  # resolved (the automatic rule applied)
    automatic: bool  # hidden_size was null in the config
    attention_width: int
    parameters: int
    batch_bytes: int  # estimated training memory for one batch (weights, optimiser, activations)


def summarize(cfg: Config, input_width: int, n_targets: int = 1) -> ModelSummary:
    """Resolve the hidden size, count parameters and estimate memory per training batch.

    The network is built on the ``meta`` device, so no weights are allocated. The memory
    estimate counts weights, gradients and AdamW's two moments (16 bytes per parameter) plus the
    activations kept for the backward pass: per time step and layer the LSTM's four gates, cell
    and output per direction, and the skip gate, LayerNorm and input projection.
    """
    lstm, d = cfg.lstm, cfg.data
    hidden = resolve_hidden_size(lstm, input_width)
    directions = 2 if lstm.bidirectional else 1
    with torch.device("meta"):
        net = build_net(cfg.replace(lstm={"hidden_size": hidden}), input_width, n_targets)
    params = sum(p.numel() for p in net.parameters())
    width = hidden * directions
    per_step = lstm.num_layers * directions * hidden * 6 + width * 6 + input_width * 2
    activations = cfg.training.batch_size * d.lookback * per_step * 4
    return ModelSummary(
        input_width, hidden, lstm.hidden_size is None, width, params, 16 * params + activations
    )
