"""The spec's AttentiveLSTM (GatedSkipConnection, BiLSTMModule, AttentiveLSTM) and the forecast head."""

from __future__ import annotations

import torch
from torch import nn

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)


class GatedSkipConnection(nn.Module):
    """Per step and channel, mixes the LSTM output with the projected input (spec component 1)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(hidden_size * 2, hidden_size), nn.Sigmoid())

    def forward(
        self, current: torch.Tensor, skip: torch.Tensor, return_gate: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        gate = self.gate(torch.cat([current, skip], dim=-1))  # (B, T, W)
        out = gate * current + (1 - gate) * skip
        return (out, gate) if return_gate else out


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
        skip = self.input_proj(x)
        output, (h_n, _) = self.lstm(x)
        output, gate = self.skip_gate(output, skip, return_gate=True)
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
            query = self.query.expand(B, -1, -1)
            attended, attn = self.attention(
                query, lstm_out, lstm_out, average_attn_weights=not return_internals
            )
            output = attended.squeeze(1)  # (B, W)
            attn = attn.squeeze(-2)  # (B, T) or (B, heads, T)
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
    """AttentiveLSTM + a quantile head: (B, T, F) inputs -> (B, horizon, targets, quantiles).

    Each window is normalised by its own mean and spread (reversible instance normalisation,
    Kim et al. 2022) before the LSTM, and the forecast is mapped back afterwards. The head adds
    a linear map of the normalised target history to the pooled LSTM features, so the model
    starts near a simple linear forecaster and the LSTM learns what that misses.
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
    ):
        super().__init__()
        self.n_targets, self.lookback, self.horizon = n_targets, lookback, horizon
        self.register_buffer("quantiles", torch.tensor(quantiles, dtype=torch.float32))
        self.encoder = AttentiveLSTM(
            input_size, hidden_size, num_layers, dropout, bidirectional, use_attention, num_heads
        )
        if len(quantiles) % 2 == 0 or quantiles[len(quantiles) // 2] != 0.5:
            raise ValueError(f"quantiles must be odd in number with 0.5 in the middle, got {quantiles}")
        if list(quantiles) != sorted(quantiles):
            raise ValueError(f"quantiles must be increasing, got {quantiles}")
        width = self.encoder.output_size
        self.head = nn.Linear(width, horizon * n_targets)  # median correction
        self.spread = nn.Linear(width, horizon * n_targets * (len(quantiles) - 1))
        self.linear = nn.Linear(lookback, horizon)  # on each target's history, shared
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        # start the linear path at "repeat the last value"
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        with torch.no_grad():
            self.linear.weight[:, -1] = 1.0

    def forward(
        self, x: torch.Tensor, return_internals: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict]:
        """x (B, T, F) with the targets in the first ``n_targets`` columns -> (B, H, K, Q)."""
        B = x.shape[0]
        K, H = self.n_targets, self.horizon
        mu = x.mean(dim=1, keepdim=True)  # (B, 1, F)
        sd = x.std(dim=1, keepdim=True, unbiased=False).clamp_min(1e-3)
        z = (x - mu) / sd
        pooled, internals = self.encoder(z, return_internals=True)
        base = self.linear(z[:, :, :K].transpose(1, 2)).transpose(1, 2)  # (B, H, K)
        centre = (base + self.head(pooled).view(B, H, K)).unsqueeze(-1)  # (B, H, K, 1)
        # ordered quantiles: cumulative non-negative spreads below and above the median
        gaps = nn.functional.softplus(self.spread(pooled).view(B, H, K, -1))
        mid = gaps.shape[-1] // 2
        below = gaps[..., :mid].flip(-1).cumsum(-1).flip(-1)
        above = gaps[..., mid:].cumsum(-1)
        z_out = torch.cat([centre - below, centre, centre + above], dim=-1)  # (B, H, K, Q)
        y = z_out * sd[:, :, :K].unsqueeze(-1) + mu[:, :, :K].unsqueeze(-1)
        return (y, internals) if return_internals else y


def pinball_loss(y_hat: torch.Tensor, y: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean quantile (pinball) loss; y_hat (B, H, K, Q), y (B, H, K)."""
    err = y.unsqueeze(-1) - y_hat
    return torch.maximum(quantiles * err, (quantiles - 1) * err).mean()
