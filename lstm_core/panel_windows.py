"""The windows one network learns a panel from: every series scaled on its own rows and laid
end to end, each epoch drawing the same number of windows from every series."""

from __future__ import annotations

import math

import numpy as np
import torch

from lstm_core import baselines
from lstm_core.config import Config
from lstm_core.data import Prepared, make_windows
from lstm_core.fitted import SeriesFit
from lstm_core.forecaster import held_out_parts
from lstm_core.model import INIT_WINDOWS, ForecastNet
from lstm_core.network import check_memory, start_network, train_checked
from lstm_core.train import History, OnBatch, OnEpoch, RunningLoss, pick_device


class FairOrder:
    """The windows of one epoch (``train``'s ``order`` hook): every series gives ``share``
    windows, a fresh random choice each epoch (a short series' windows repeat, a long one's
    are subsampled), then all are shuffled. Positions only: no window is copied.

    Args:
        first: (S,) position of each series' first training window among all windows.
        counts: (S,) training windows of each series.
        share: windows per series and epoch (default: the mean count, rounded up, so an epoch
            is about as long as one pass over every window).
    """

    def __init__(self, first: torch.Tensor, counts: torch.Tensor, share: int | None = None):
        self.counts = counts.long()
        self.share = share or math.ceil(int(self.counts.sum()) / len(self.counts))
        owner = torch.repeat_interleave(torch.arange(len(counts)), self.counts)  # (N,)
        begin = torch.cumsum(self.counts, 0) - self.counts  # (S,) first slot of each series
        self.owner, self.begin = owner, begin
        self.positions = first.long()[owner] + torch.arange(len(owner)) - begin[owner]  # (N,)

    def __len__(self) -> int:
        return self.share * len(self.counts)

    def __call__(self, gen: torch.Generator) -> torch.Tensor:
        keys = torch.rand(len(self.owner), generator=gen, dtype=torch.float64)
        shuffled = torch.argsort(self.owner + keys)  # grouped by series, random within each
        slot = torch.arange(self.share)
        pick = self.begin[:, None] + slot[None, :] % self.counts[:, None]  # (S, share)
        chosen = self.positions[shuffled[pick.reshape(-1)]]
        return chosen[torch.randperm(len(chosen), generator=gen)]


class PanelWindows:
    """Every series' scaled rows end to end, and the windows a panel's network trains,
    validates and is checked on (views: windows spanning two series are never used)."""

    def __init__(
        self,
        config: Config,
        preps: dict[str, Prepared],
        series: dict[str, SeriesFit],
        columns: tuple[str, ...],
        k: int,
    ):
        L, H = config.data.lookback, config.data.horizon
        self.k, self.width = k, len(columns)
        self.rows = [
            torch.as_tensor(
                s.scaler.transform(prep.frame[list(columns)].to_numpy(np.float64)),
                dtype=torch.float32,
            )
            for prep, s in zip(preps.values(), series.values())
        ]
        self.lengths = torch.tensor([len(r) for r in self.rows])
        self.splits = torch.tensor([s.split for s in series.values()])
        self.offsets = torch.cumsum(self.lengths, 0) - self.lengths  # first row of each series
        self.n_train = self.splits - L - H + 1  # windows whose targets end before the held-out end
        check_memory(
            config, self.width, int(self.n_train.sum()), int((self.lengths - self.splits).sum())
        )
        self.device = pick_device(config.training.device)
        stacked = torch.cat(self.rows).to(self.device)  # (sum T, F): every series, end to end
        self.x, self.y = make_windows(stacked, L, H, k)
        self.order = FairOrder(self.offsets, self.n_train)
        # each series' held-out end is cut as a single series' is (``held_out_parts``):
        # validation windows' targets lie in its validation part, check windows' in its check
        # part; its test part is the backtest's alone (a window at position p forecasts from
        # row p + L of the rows laid end to end)
        val, check = [], []
        for o, s, n in zip(self.offsets.tolist(), self.splits.tolist(), self.lengths.tolist()):
            val_end, test = held_out_parts(n, s, H)
            val.append(torch.arange(o + s - L, o + val_end - L - H + 1))
            check.append(o + val_end - L + torch.arange(max(0, test - val_end - H + 1)))
        self.val = torch.cat(val).to(self.device)
        self.check = torch.cat(check).to(self.device)  # empty: no series has a check part
        positions = self.order.positions
        self.sub = positions[
            torch.linspace(0, len(positions) - 1, min(INIT_WINDOWS, len(positions))).long()
        ].to(self.device)  # the windows that set the quantile spreads' start

    def train(
        self,
        config: Config,
        held_out: bool,
        run: tuple[OnEpoch | None, OnBatch | None, RunningLoss | None],
    ) -> tuple[ForecastNet, History]:
        """A network started at the ridge fit of every series' training rows (with
        ``held_out``, of all their rows) and trained on their windows in equal shares; early
        stopping watches the validation windows. Without ``held_out``, where series have a
        check part, the start is kept unless the trained network beats it there by
        ``training.start_margin`` (``network.train_checked``, as for a single series); with
        ``held_out`` (a refit for the epochs validation chose) every epoch runs and the last
        one's weights are kept. ``run``: on_epoch, on_batch, running.

        Returns:
            The trained network (CPU, eval mode) and its History.
        """
        L, H, k = config.data.lookback, config.data.horizon, self.k
        ends = self.lengths.tolist() if held_out else self.splits.tolist()
        lin = baselines.fit_linear([r[:e, :k].double().numpy() for r, e in zip(self.rows, ends)], L, H)
        net = start_network(
            config, lin, (self.x[self.sub], self.y[self.sub]), self.width, k, self.device
        )
        order = (
            FairOrder(self.offsets, self.lengths - L - H + 1, self.order.share)
            if held_out
            else self.order
        )
        # as a single series': the linear start unless the LSTM beats it on the check part
        check = len(self.check) > 0 and not held_out
        history = train_checked(
            net,
            (self.x, self.y),
            (self.x[self.val], self.y[self.val]),
            (self.x[self.check], self.y[self.check]) if check else None,
            config,
            self.device,
            run,
            order,
            keep_last=held_out,  # a refit: for the epochs validation chose, the last kept
        )
        return net.cpu().eval(), history
