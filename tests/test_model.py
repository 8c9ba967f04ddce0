"""Model: parity with the spec's own code, shapes, internals in one pass, the forecast head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lstm_core.baselines import fit_linear
from lstm_core.model import QUANTILES, AttentiveLSTM, BiLSTMModule, ForecastNet, pinball_loss


@pytest.fixture(autouse=True)
def _seeded():
    """Every test draws its random inputs and weights from the same seed: a failure repeats."""
    torch.manual_seed(0)


# ---- the spec's code, verbatim (../shared/spec/seed-attentive-lstm.md) ----
class SpecGatedSkipConnection(nn.Module):
    def __init__(self, hidden_size: int):
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(hidden_size * 2, hidden_size), nn.Sigmoid())

    def forward(self, current, skip):
        combined = torch.cat([current, skip], dim=-1)
        gate = self.gate(combined)
        return gate * current + (1 - gate) * skip


class SpecBiLSTMModule(nn.Module):
    def __init__(self, input_size, hidden_size=128, num_layers=2, dropout=0.2):
        super().__init__()
        self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size,
                            num_layers=num_layers, batch_first=True, bidirectional=True,
                            dropout=dropout if num_layers > 1 else 0)
        self.input_proj = nn.Linear(input_size, hidden_size * 2)
        self.skip_gate = SpecGatedSkipConnection(hidden_size * 2)
        self.layer_norm = nn.LayerNorm(hidden_size * 2)
        self.output_size = hidden_size * 2

    def forward(self, x):
        skip = self.input_proj(x)
        output, (h_n, c_n) = self.lstm(x)
        output = self.skip_gate(output, skip)
        output = self.layer_norm(output)
        final = torch.cat([h_n[-2], h_n[-1]], dim=-1)
        return output, final


class SpecAttentiveLSTM(nn.Module):
    def __init__(self, input_size, hidden_size=128, num_layers=2, dropout=0.2):
        super().__init__()
        self.bilstm = SpecBiLSTMModule(input_size, hidden_size, num_layers, dropout)
        self.attention = nn.MultiheadAttention(embed_dim=hidden_size * 2, num_heads=4,
                                               dropout=dropout, batch_first=True)
        self.query = nn.Parameter(torch.randn(1, 1, hidden_size * 2))
        self.output_size = hidden_size * 2

    def forward(self, x, return_attention=False):
        batch_size = x.shape[0]
        lstm_out, _ = self.bilstm(x)
        query = self.query.expand(batch_size, -1, -1)
        attended, attn_weights = self.attention(query, lstm_out, lstm_out)
        output = attended.squeeze(1)
        if return_attention:
            return output, attn_weights.squeeze(1)
        return output
# ---- end of the spec's code ----


def test_spec_state_dict_loads_and_gives_the_same_outputs():
    torch.manual_seed(0)
    spec = SpecAttentiveLSTM(5, hidden_size=8).eval()
    ours = AttentiveLSTM(5, hidden_size=8).eval()
    ours.load_state_dict(spec.state_dict())  # strict: same names and shapes
    x = torch.randn(3, 11, 5)
    out_s, attn_s = spec(x, return_attention=True)
    out_o, attn_o = ours(x, return_attention=True)
    assert torch.allclose(out_s, out_o, atol=1e-6) and torch.allclose(attn_s, attn_o, atol=1e-6)
    assert torch.allclose(spec(x), ours(x), atol=1e-6)
    bi_s, bi_o = SpecBiLSTMModule(5, 8).eval(), BiLSTMModule(5, 8).eval()
    bi_o.load_state_dict(bi_s.state_dict())
    for a, b in zip(bi_s(x), bi_o(x)):
        assert torch.allclose(a, b, atol=1e-6)


def test_defaults_are_the_specs():
    m = AttentiveLSTM(3)
    assert m.output_size == 256 and m.bilstm.lstm.hidden_size == 128
    assert m.bilstm.lstm.num_layers == 2 and m.bilstm.lstm.dropout == 0.2
    assert m.attention.num_heads == 4 and m.bilstm.lstm.bidirectional


@pytest.mark.parametrize("bidirectional, use_attention", [(True, True), (False, True),
                                                          (True, False), (False, False)])
def test_shapes_and_internals(bidirectional, use_attention):
    m = AttentiveLSTM(3, hidden_size=8, bidirectional=bidirectional, use_attention=use_attention,
                      num_heads=2).eval()
    width = 16 if bidirectional else 8
    x = torch.randn(4, 10, 3)
    out, attn = m(x, return_attention=True)
    assert out.shape == (4, width) and attn.shape == (4, 10)
    assert torch.allclose(attn.sum(-1), torch.ones(4), atol=1e-5)
    out2, internals = m(x, return_internals=True)
    assert torch.allclose(out, out2)
    heads = 2 if use_attention else 1
    assert internals["attention"].shape == (4, heads, 10)
    assert internals["gate"].shape == (4, 10, width)
    assert ((internals["gate"] >= 0) & (internals["gate"] <= 1)).all()
    assert torch.allclose(internals["attention"].mean(1), attn, atol=1e-6)


def test_internals_need_no_hooks_and_one_pass():
    m = AttentiveLSTM(2, hidden_size=4).eval()
    calls = []
    m.bilstm.lstm.register_forward_hook(lambda *a: calls.append(1))
    m(torch.randn(1, 5, 2), return_internals=True)
    assert calls == [1]
    assert not m.bilstm.skip_gate._forward_hooks


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divide by num_heads 3"):
        AttentiveLSTM(2, hidden_size=4, num_heads=3)


def test_forecast_head_shapes_and_ordered_quantiles():
    net = ForecastNet(3, 2, lookback=12, horizon=5, hidden_size=8)
    y = net(torch.randn(6, 12, 3) * 10 + 3)
    assert y.shape == (6, 5, 2, len(QUANTILES))
    assert (y.diff(dim=-1) >= 0).all()


def test_untrained_head_starts_at_the_last_value():
    net = ForecastNet(1, 1, lookback=8, horizon=3, hidden_size=4).eval()
    x = torch.randn(2, 8, 1) * 5 + 100
    median = net(x)[..., 1]
    assert torch.allclose(median, x[:, -1:, :].expand(-1, 3, -1), atol=1e-3)


def test_pinball_loss_is_zero_when_exact_and_asymmetric():
    q = torch.tensor([0.1, 0.5, 0.9])
    y = torch.zeros(1, 1, 1)
    assert pinball_loss(torch.zeros(1, 1, 1, 3), y, q) == 0
    under = pinball_loss(torch.full((1, 1, 1, 3), -1.0), y, q)  # forecast below the truth
    assert torch.isclose(under, torch.tensor((0.1 + 0.5 + 0.9) / 3))


@pytest.mark.parametrize("lookback, patch_len", [(12, 4), (10, 4), (7, 1), (5, 8)])
def test_patches_hand_back_internals_per_step(lookback, patch_len):
    """A token of several steps: each step shows its token's gate and an equal share of its
    attention, so attention still sums to one over the window's real steps."""
    torch.manual_seed(0)
    net = ForecastNet(2, 1, lookback, 3, hidden_size=4, num_heads=2, patch_len=patch_len).eval()
    x = torch.randn(5, lookback, 2)
    y, inner = net(x, return_internals=True)
    assert y.shape == (5, 3, 1, 3)
    assert inner["attention"].shape == (5, 2, lookback) and inner["gate"].shape == (5, lookback, 8)
    assert torch.allclose(inner["attention"].sum(-1), torch.ones(5, 2), atol=1e-5)
    tokens = -(-lookback // patch_len)
    assert net.encoder.bilstm.lstm.input_size == 2 * patch_len
    # steps of one token share its gate; the first token may cover fewer real steps
    token_of_step = (torch.arange(lookback) + tokens * patch_len - lookback) // patch_len
    for t in range(tokens):
        steps = (token_of_step == t).nonzero().flatten()
        first = inner["gate"][:, steps[:1]]
        assert torch.equal(inner["gate"][:, steps], first.expand(-1, len(steps), -1))
        a = inner["attention"][..., steps]
        assert torch.allclose(a, a[..., :1].expand_as(a))
    assert torch.allclose(net(x), y)


def test_init_linear_starts_at_the_ridge_fit_with_calibrated_intervals():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    series = np.sin(2 * np.pi * t / 12) + 0.3 * rng.normal(size=600) + 0.01 * t
    L, H = 24, 6
    lin = fit_linear(series[:, None], L, H)
    x = torch.tensor(series, dtype=torch.float32).unfold(0, L + H, 1).unsqueeze(-1)  # (N, L+H, 1)
    xs, ys = x[:, :L], x[:, L:]
    net = ForecastNet(1, 1, L, H, hidden_size=4, num_layers=1).eval()
    net.init_linear(torch.from_numpy(lin.weight), torch.from_numpy(lin.bias), xs, ys)
    with torch.no_grad():
        q = net(xs)
    expected = lin.predict(xs.double().numpy())
    np.testing.assert_allclose(q[..., 1].numpy(), expected, atol=1e-4)
    inside = ((ys >= q[..., 0]) & (ys <= q[..., 2])).float().mean()
    assert 0.75 < float(inside) < 0.85  # the 0.1..0.9 band holds about 80% where it was fitted


@pytest.mark.parametrize("heads, train", [(4, False), (2, True)])
def test_folded_attention_is_multihead_attention(heads, train):
    """``pool`` computes nn.MultiheadAttention(query, values, values) from its own weights:
    outputs, weights and gradients agree (dropout off so that both are deterministic)."""
    torch.manual_seed(0)
    m = AttentiveLSTM(3, hidden_size=8, num_heads=heads, dropout=0.0).train(train)
    with torch.no_grad():
        m.attention.in_proj_bias.normal_()  # zero at construction; the fold must handle biases
        m.attention.out_proj.bias.normal_()
    values = torch.randn(5, 7, 16, requires_grad=True)
    out, attn = m.pool(values)
    ref, ref_attn = m.attention(m.query.expand(5, -1, -1), values, values,
                                average_attn_weights=False)
    assert torch.allclose(out, ref.squeeze(1), atol=1e-6)
    assert torch.allclose(attn, ref_attn.squeeze(-2), atol=1e-6)
    grads = torch.autograd.grad(out.square().sum(), [values, m.query, m.attention.in_proj_weight])
    ref_grads = torch.autograd.grad(ref.square().sum(), [values, m.query,
                                                         m.attention.in_proj_weight])
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-5)


def test_folded_gate_is_the_gated_skip_of_the_projection():
    from lstm_core.model import GatedSkipConnection

    torch.manual_seed(0)
    gsc, proj = GatedSkipConnection(16), nn.Linear(3, 16)
    current, x = torch.randn(4, 9, 16), torch.randn(4, 9, 3)
    out, gate = gsc.forward_projected(current, x, proj)
    ref, ref_gate = gsc(current, proj(x), return_gate=True)
    assert torch.allclose(out, ref, atol=1e-6) and torch.allclose(gate, ref_gate, atol=1e-6)
    wide = nn.Linear(40, 16)  # wider input than output: the unfolded path
    x = torch.randn(4, 9, 40)
    assert torch.allclose(gsc.forward_projected(current, x, wide)[0], gsc(current, wide(x)))


def test_reset_parameters_draws_from_the_generator_only():
    """Same generator seed, same weights; torch's process-wide generator is neither used nor
    moved (another thread's dropout stays its own)."""
    a = ForecastNet(2, 1, 12, 3, hidden_size=8)
    b = ForecastNet(2, 1, 12, 3, hidden_size=8)
    state = torch.random.get_rng_state()
    a.reset_parameters(torch.Generator().manual_seed(5))
    b.reset_parameters(torch.Generator().manual_seed(5))
    assert torch.equal(torch.random.get_rng_state(), state)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k
    assert a.head.weight.abs().sum() == 0 and a.nlinear.weight.abs().sum() == 0
    lstm = a.encoder.bilstm.lstm
    bound = 1 / lstm.hidden_size**0.5
    assert lstm.weight_hh_l0.abs().max() <= bound and lstm.weight_hh_l0.std() > bound / 4
    c = ForecastNet(2, 1, 12, 3, hidden_size=8)
    c.reset_parameters(torch.Generator().manual_seed(6))
    assert not torch.equal(c.encoder.query, a.encoder.query)


def test_the_model_owns_its_optimizer_groups(tiny_cfg):
    """Every weight in exactly one group; the linear path (the ridge start) is never decayed."""
    from lstm_core.model import resolve_patch_len

    cfg = tiny_cfg.replace(lstm={"hidden_size": 4})
    net = ForecastNet.from_config(cfg, 2, 1)
    assert net.lookback == cfg.data.lookback and net.patch_len == resolve_patch_len(cfg)
    decayed, plain = net.param_groups(0.1)
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    ids = [id(p) for g in (decayed, plain) for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in net.parameters())
    assert {id(p) for p in plain["params"]} == {id(p) for p in net.nlinear.parameters()}


def test_window_level_forecasts_the_ratio_and_takes_the_loss_relative_to_it():
    torch.manual_seed(0)
    plain = ForecastNet(1, 1, 48, 12, hidden_size=8, patch_len=4).eval()
    net = ForecastNet(1, 1, 48, 12, hidden_size=8, patch_len=4, window_level=True).eval()
    for m in (plain, net):
        nn.init.normal_(m.nlinear.bias)  # a bias is what is not scale-free without the level
    x = torch.rand(5, 48, 1) + 1
    with torch.no_grad():
        torch.testing.assert_close(net(3 * x), 3 * net(x))  # the forecast scales with the level
        assert not torch.allclose(plain(3 * x), 3 * plain(x))
        y_hat, y = net(x), torch.rand(5, 12, 1)
    level = x.abs().mean(dim=1, keepdim=True)  # (B, 1, K)
    rel_hat, rel_y = net.relative(x, y_hat, y)
    torch.testing.assert_close(rel_y, y / level)
    torch.testing.assert_close(rel_hat, y_hat / level.unsqueeze(-1))
    torch.testing.assert_close(net.relative(x, y_hat[..., 1], y)[0], y_hat[..., 1] / level)
    assert plain.level(x) is None and plain.relative(x, y_hat, y) == (y_hat, y)
