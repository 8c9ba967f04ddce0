"""The spec's AttentiveLSTM (GatedSkipConnection, BiLSTMModule, AttentiveLSTM) and the forecast head."""

from __future__ import annotations

import math

import torch
from torch import nn

from lstm_core.config import Config

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
INIT_WINDOWS = 4096  # training windows that set the quantile spreads' start (an even subsample)


class GatedSkipConnection(nn.Module):
    """Per step and channel, mixes the LSTM output with the projected input (spec component 1)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(hidden_size * 2, hidden_size), nn.Sigmoid())

    def forward(
        self, current: torch.Tensor, skip: torch.Tensor, return_gate: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        gate = self.gate(torch.cat([current, skip], dim=-1))  # (B, T, W)
        out = torch.lerp(skip, current, gate)  # gate * current + (1 - gate) * skip, one kernel
        return (out, gate) if return_gate else out

    def forward_projected(
        self, current: torch.Tensor, x: torch.Tensor, proj: nn.Linear
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``forward(current, proj(x), return_gate=True)`` with ``proj`` folded into the gate.

        The gate's Linear acting on ``[current, proj(x)]`` is ``W_c current + W_s proj(x) + b``,
        and ``W_s proj(x)`` is ``(W_s W_p) x + W_s b_p``: with x narrower than the skip (a few
        input columns against 2 x hidden), this skips the concatenation and half of the gate's
        matrix products, forward and backward. Same function, to float rounding.

        Args:
            current: (B, T, W) the LSTM output; x: (B, T, F) the input; proj: Linear F -> W.

        Returns:
            out (B, T, W) and gate (B, T, W).
        """
        width = current.shape[-1]
        if x.shape[-1] >= width:  # folding only pays for inputs narrower than the output
            return self.forward(current, proj(x), return_gate=True)
        linear = self.gate[0]
        w_cur, w_skip = linear.weight[:, :width], linear.weight[:, width:]
        bias = linear.bias + w_skip @ proj.bias
        pre = nn.functional.linear(current, w_cur, bias) + x @ (w_skip @ proj.weight).T
        gate = torch.sigmoid(pre)
        return torch.lerp(proj(x), current, gate), gate


class BiLSTMModule(nn.Module):
    """Stacked (bi)LSTM whose output passes the gated skip and a LayerNorm (spec component 2)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.2,
        bidirectional: bool = True,
    ):
        super().__init__()
        self.bidirectional = bidirectional
        width = hidden_size * (2 if bidirectional else 1)
        self.lstm = nn.LSTM(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0,
        )
        self.input_proj = nn.Linear(input_size, width)
        # GatedSkipConnection(h) maps 2h -> h, so the spec passes the full output width
        self.skip_gate = GatedSkipConnection(width)
        self.layer_norm = nn.LayerNorm(width)
        self.output_size = width

    def forward(
        self, x: torch.Tensor, return_gate: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, F) -> output (B, T, W), final (B, W)[, gate (B, T, W)]; the state starts at zero."""
        output, (h_n, _) = self.lstm(x)
        output, gate = self.skip_gate.forward_projected(output, x, self.input_proj)
        output = self.layer_norm(output)
        # last layer's forward and backward final states
        final = torch.cat([h_n[-2], h_n[-1]], dim=-1) if self.bidirectional else h_n[-1]
        return (output, final, gate) if return_gate else (output, final)


class AttentiveLSTM(nn.Module):
    """BiLSTMModule pooled over time by one learned query (spec component 3).

    Extra keywords keep the spec's behaviour at their defaults: ``bidirectional=False`` runs one
    direction (width = hidden), ``use_attention=False`` pools with the final hidden state.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.2,
        bidirectional: bool = True,
        use_attention: bool = True,
        num_heads: int = 4,
    ):
        super().__init__()
        width = hidden_size * (2 if bidirectional else 1)
        if use_attention and width % num_heads:
            raise ValueError(
                f"attention width {width} (hidden_size {hidden_size}"
                f"{' x 2 directions' if bidirectional else ''}) must divide by num_heads {num_heads}"
            )
        self.use_attention = use_attention
        self.bilstm = BiLSTMModule(input_size, hidden_size, num_layers, dropout, bidirectional)
        if use_attention:
            self.attention = nn.MultiheadAttention(
                embed_dim=width, num_heads=num_heads, dropout=dropout, batch_first=True
            )
            self.query = nn.Parameter(torch.randn(1, 1, width))
        self.num_heads = num_heads if use_attention else 1
        self.output_size = width

    def pool(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``self.attention(query, values, values)`` for the one learned query, in a folded form.

        With a single query, head h's score of step t is ``values[t] . u_h`` plus a constant
        that the softmax cancels, where ``u_h = W_k,h^T q_h / sqrt(d)``; and its output is
        ``W_v,h (sum_t a_ht values[t]) + b_v,h sum_t a_ht``. So keys and values are never
        projected step by step: the same function with the MultiheadAttention's own weights
        (equal to its output to float rounding; tests pin it), at a fraction of its cost
        (benchmarks/throughput.py: it was a fifth of a training step).

        Args:
            values: (B, T, W) the LSTM output.

        Returns:
            pooled (B, W) and the attention weights (B, heads, T) (after dropout in training,
            as nn.MultiheadAttention returns them).
        """
        mha = self.attention
        B, _, W = values.shape
        heads, d = mha.num_heads, W // mha.num_heads
        w_q, w_k, w_v = mha.in_proj_weight.chunk(3)  # (W, W) each
        b_q, _, b_v = mha.in_proj_bias.chunk(3)
        q = (self.query.reshape(1, W) @ w_q.T + b_q).view(heads, d)  # (heads, d)
        u = torch.einsum("hd,hdw->wh", q, w_k.view(heads, d, W)) / math.sqrt(d)  # (W, heads)
        attn = torch.softmax((values @ u).transpose(1, 2), dim=-1)  # (B, heads, T)
        if self.training and mha.dropout > 0:
            attn = nn.functional.dropout(attn, mha.dropout)
        z = attn @ values  # (B, heads, W): attention-weighted steps, per head
        out = torch.einsum("bhw,hdw->bhd", z, w_v.view(heads, d, W))  # (B, heads, d)
        out = out + b_v.view(heads, d) * attn.sum(dim=-1, keepdim=True)
        return mha.out_proj(out.reshape(B, W)), attn

    def forward(
        self, x: torch.Tensor, return_attention: bool = False, return_internals: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, dict]:
        """x (B, T, F) -> pooled (B, W).

        ``return_attention`` adds the head-averaged weights (B, T), as in the spec.
        ``return_internals`` instead adds ``{"attention": (B, heads, T), "gate": (B, T, W)}``
        from the same forward pass (no hooks). Without attention, "attention" is one-hot on the
        last step.
        """
        B, T, _ = x.shape
        lstm_out, final, gate = self.bilstm(x, return_gate=True)
        if self.use_attention:
            output, attn = self.pool(lstm_out)  # (B, W), (B, heads, T)
            if not return_internals:
                attn = attn.mean(dim=1)  # (B, T), as nn.MultiheadAttention averages heads
        else:
            output = final
            attn = torch.zeros(B, T, device=x.device, dtype=lstm_out.dtype)
            attn[:, -1] = 1.0
            if return_internals:
                attn = attn.unsqueeze(1)
        if return_internals:
            return output, {"attention": attn, "gate": gate}
        if return_attention:
            return output, attn
        return output


class ForecastNet(nn.Module):
    """A linear forecast plus the AttentiveLSTM's correction: (B, T, F) -> (B, H, targets, quantiles).

    Two paths, summed:

    - linear: NLinear form, ``y[h] = x[-1] + sum_j w[h, j] (x[j] - x[-1]) + b[h]`` on each target's
      own window (weights shared by the targets). ``init_linear`` starts it at the closed-form
      ridge fit (``baselines.fit_linear``); untrained, it repeats the last value.
    - LSTM: the window is normalised by its own mean and spread (reversible instance
      normalisation, Kim et al. 2022) and cut into tokens of ``patch_len`` steps with every
      column (segment-wise input, SegRNN, Lin et al. 2023), so a long lookback is a short
      sequence. The pooled AttentiveLSTM output gives a correction to the linear forecast (zero
      at the start) and the quantile spreads, both in the window's own scale.

    So the network starts as the linear fit and the LSTM learns what that misses; with the start
    kept as a candidate in early stopping, training cannot end much worse than the linear fit.
    """

    def __init__(
        self,
        input_size: int,
        n_targets: int,
        lookback: int,
        horizon: int,
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.2,
        bidirectional: bool = True,
        use_attention: bool = True,
        num_heads: int = 4,
        quantiles: tuple[float, ...] = QUANTILES,
        patch_len: int = 1,
        window_level: bool = False,
    ):
        super().__init__()
        if len(quantiles) % 2 == 0 or quantiles[len(quantiles) // 2] != 0.5:
            raise ValueError(f"quantiles must be odd in number with 0.5 in the middle: {quantiles}")
        if list(quantiles) != sorted(quantiles):
            raise ValueError(f"quantiles must be increasing, got {quantiles}")
        if patch_len < 1:
            raise ValueError(f"patch_len must be >= 1, got {patch_len}")
        self.n_targets, self.lookback, self.horizon = n_targets, lookback, horizon
        self.patch_len = patch_len
        # data.window_norm "level": each window's targets are divided by the window's level
        # and the forecast multiplied back (the network forecasts the ratio to the level)
        self.window_level = window_level
        n_tokens = -(-lookback // patch_len)
        self.pad = n_tokens * patch_len - lookback  # steps repeated before the window's start
        self.register_buffer("quantiles", torch.tensor(quantiles, dtype=torch.float32))
        self.encoder = AttentiveLSTM(
            input_size * patch_len, hidden_size, num_layers, dropout, bidirectional,
            use_attention, num_heads,
        )
        width = self.encoder.output_size
        self.head = nn.Linear(width, horizon * n_targets)  # correction of the linear forecast
        self.spread = nn.Linear(width, horizon * n_targets * (len(quantiles) - 1))
        self.nlinear = nn.Linear(lookback, horizon)  # on (window - last value), per target
        for layer in (self.head, self.nlinear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        # token of each step, and each step's share of its token (the padded first token
        # covers fewer real steps), to hand back internals per step
        token = (torch.arange(lookback) + self.pad) // patch_len
        steps = torch.full((n_tokens,), float(patch_len))
        steps[0] -= self.pad
        self.register_buffer("step_token", token, persistent=False)
        self.register_buffer("step_share", 1.0 / steps[token], persistent=False)

    @classmethod
    def from_config(cls, config: Config, input_size: int, n_targets: int) -> ForecastNet:
        """The network ``config`` describes, read whole (its ``lstm`` section, with
        ``hidden_size`` resolved, and the data's lookback and horizon), for ``input_size``
        columns of which the first ``n_targets`` are forecast."""
        lstm = config.lstm
        assert lstm.hidden_size is not None, "lstm.hidden_size must be resolved before building"
        return cls(
            input_size,
            n_targets,
            config.data.lookback,
            config.data.horizon,
            hidden_size=lstm.hidden_size,
            num_layers=lstm.num_layers,
            dropout=lstm.dropout,
            bidirectional=lstm.bidirectional,
            use_attention=lstm.use_attention,
            num_heads=lstm.num_heads,
            quantiles=QUANTILES,
            patch_len=resolve_patch_len(config),
            window_level=config.data.window_norm == "level",
        )

    def param_groups(self, weight_decay: float) -> list[dict]:
        """AdamW's parameter groups: weight decay on the LSTM and the heads, none on the linear
        path, where it would pull the ridge fit towards "repeat the last value"."""
        linear = {id(p) for p in self.nlinear.parameters()}
        return [
            {"params": [p for p in self.parameters() if id(p) not in linear],
             "weight_decay": weight_decay},
            {"params": list(self.nlinear.parameters()), "weight_decay": 0.0},
        ]

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator) -> None:
        """Draw every weight again from torch's default initialisations, from ``generator``.

        Module constructors draw from torch's process-wide generator, which every thread
        shares; a training that starts from ``generator`` instead is reproducible whatever else
        runs. The same distributions as the constructors: Linear kaiming-uniform, LSTM
        U(-1/sqrt(hidden), 1/sqrt(hidden)), attention in-projection xavier-uniform with zero
        biases, LayerNorm ones and zeros, the query N(0, 1); the head and the linear path at zero.
        """
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    bound = 1 / math.sqrt(m.in_features) if m.in_features else 0.0
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
            elif isinstance(m, nn.LSTM):
                bound = 1 / math.sqrt(m.hidden_size)
                for w in m.parameters():
                    nn.init.uniform_(w, -bound, bound, generator=generator)
            elif isinstance(m, nn.MultiheadAttention):
                nn.init.xavier_uniform_(m.in_proj_weight, generator=generator)
                nn.init.zeros_(m.in_proj_bias)
            elif isinstance(m, nn.LayerNorm):
                m.reset_parameters()
        for m in self.modules():  # after the Linear pass, which also drew out_proj's bias
            if isinstance(m, nn.MultiheadAttention):
                nn.init.zeros_(m.out_proj.bias)
            elif isinstance(m, AttentiveLSTM) and m.use_attention:
                nn.init.normal_(m.query, generator=generator)
        for layer in (self.head, self.nlinear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    @torch.no_grad()
    def init_linear(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        x: torch.Tensor | None = None,
        y: torch.Tensor | None = None,
    ) -> None:
        """Start the linear path at a fitted NLinear map, and the quantile spreads at its errors.

        Args:
            weight: (H, L) weights on the window minus its last value; bias: (H,).
            x, y: training windows (N, L, F) and targets (N, H, K); if given, the spreads start
                at the quantiles of the linear fit's errors there (in each window's own scale),
                so the start is a calibrated forecaster that early stopping can keep.
        """
        self.nlinear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        self.nlinear.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
        if x is None or y is None:
            return
        K = self.n_targets
        n = min(len(x), INIT_WINDOWS)  # an even subsample bounds the cost on long series
        idx = torch.linspace(0, len(x) - 1, n).long()
        xs, ys = x[idx].float(), y[idx].float()
        sd = xs[:, :, :K].std(dim=1, unbiased=False).clamp_min(1e-3).unsqueeze(1)  # (n, 1, K)
        err = (ys - self._linear(xs)) / sd  # (n, H, K)
        q = torch.quantile(err.flatten(1).T, self.quantiles.to(err.dtype), dim=1).T  # (H*K, Q)
        gaps = (q[:, 1:] - q[:, :-1]).clamp_min(1e-4)  # (H*K, Q-1) from low to high
        # softplus^-1 of the gaps: the spread head's output before any training
        self.spread.weight.zero_()
        self.spread.bias.copy_((gaps + torch.log(-torch.expm1(-gaps))).reshape(-1))

    def level(self, x: torch.Tensor) -> torch.Tensor | None:
        """x (B, T, F) -> each window's level (B, 1, K): the mean absolute value of each
        target over the window (a whole number of cycles when the lookback is), or None
        without ``window_level``."""
        if not self.window_level:
            return None
        return x[:, :, : self.n_targets].abs().mean(dim=1, keepdim=True).clamp_min(1e-3)

    def relative(
        self, x: torch.Tensor, y_hat: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forecasts y_hat (B, H, K[, Q]) and targets y (B, H, K) of windows x in the units the
        loss is taken in: divided by each window's level with ``window_level``, else as given."""
        level = self.level(x)
        if level is None:
            return y_hat, y
        return y_hat / level.view(*level.shape, *[1] * (y_hat.dim() - 3)), y / level

    def _linear(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, F) -> the linear path's forecast (B, H, K)."""
        targets = x[:, :, : self.n_targets].transpose(1, 2)  # (B, K, T)
        last = targets[:, :, -1:]
        return (self.nlinear(targets - last) + last).transpose(1, 2)

    def forward(
        self, x: torch.Tensor, return_internals: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict]:
        """x (B, T, F) with the targets in the first ``n_targets`` columns -> (B, H, K, Q).

        ``return_internals`` adds the encoder's ``{"attention": (B, heads, T), "gate": (B, T, W)}``
        per step: a token's gate on each step it covers, its attention shared among them.
        """
        B, _, F = x.shape
        K, H, P = self.n_targets, self.horizon, self.patch_len
        level = self.level(x)  # (B, 1, K) or None
        if level is not None:
            x = torch.cat([x[:, :, :K] / level, x[:, :, K:]], dim=2)  # targets as ratios
        mu = x.mean(dim=1, keepdim=True)  # (B, 1, F)
        sd = x.std(dim=1, keepdim=True, unbiased=False).clamp_min(1e-3)
        z = (x - mu) / sd
        if P > 1:
            z = torch.cat([z[:, :1].expand(B, self.pad, F), z], dim=1)  # repeat the first step
            z = z.reshape(B, -1, P * F)  # (B, tokens, P*F): a token is P steps of every column
        pooled, internals = self.encoder(z, return_internals=True)
        sd_k = sd[:, :, :K].unsqueeze(-1)  # (B, 1, K, 1)
        centre = self._linear(x).unsqueeze(-1) + self.head(pooled).view(B, H, K, 1) * sd_k
        # ordered quantiles: cumulative non-negative spreads below and above the median
        gaps = nn.functional.softplus(self.spread(pooled).view(B, H, K, -1)) * sd_k
        mid = gaps.shape[-1] // 2
        below = gaps[..., :mid].flip(-1).cumsum(-1).flip(-1)
        above = gaps[..., mid:].cumsum(-1)
        y = torch.cat([centre - below, centre, centre + above], dim=-1)  # (B, H, K, Q)
        if level is not None:
            y = y * level.unsqueeze(-1)  # back to the series' units
        if not return_internals:
            return y
        if P > 1:
            internals = {
                "attention": internals["attention"][..., self.step_token] * self.step_share,
                "gate": internals["gate"][:, self.step_token],
            }
        return y, internals


def resolve_patch_len(config: Config) -> int:
    """Steps per LSTM token: the configured ``lstm.patch_len``, or lookback // 24 (at least 1),
    so a window is read as 24 to 47 tokens and lookbacks under 48 step by step."""
    return config.lstm.patch_len or max(1, config.data.lookback // 24)


def pinball_loss(y_hat: torch.Tensor, y: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean quantile (pinball) loss; y_hat (B, H, K, Q), y (B, H, K)."""
    err = y.unsqueeze(-1) - y_hat
    return torch.maximum(quantiles * err, (quantiles - 1) * err).mean()
