"""Training throughput: lstm_core's trainer against a bare loop over the same model and tensors
(the floor), and where a training step's time goes (torch.profiler).

    python benchmarks/throughput.py --data ../shared/data/ett/ETTh1.csv
    python benchmarks/throughput.py --data ETTh1.csv --device cuda --epochs 3 --repeats 3
    python benchmarks/throughput.py --threads 1 2      # no file: an ETTh1-shaped table

Setting: the default model on ETTh1 (lookback 96, horizon 24, batch 256), with 1 input (OT) and
with 7 (every column). (a) ``lstm_core.train.train`` as the app runs it, validation and early
stopping included; (b) the floor: forward + pinball loss + backward + AdamW step over the same
start weights, the same batches already gathered on the device, nothing else. Each is run
``--repeats`` times, alternating; the table gives the best of each and the spread
(slowest / fastest). Times are wall-clock; CPU seconds per window are printed beside them
because other jobs share this machine's cores.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

# as in the app's training processes (background.Scheduler): idle OpenMP threads sleep rather than
# spin, which on shared cores made 2 threads 5-10x slower than 1 (set before torch loads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_core.config import Config, TrainConfig, resolve_hidden_size
from lstm_core.data.prepare import prepare
from lstm_core.data.readers import read_table
from lstm_core.data.scaling import Scaler
from lstm_core.data.windows import held_out_start, make_windows
from lstm_core.model import resolve_patch_len
from lstm_core.network import init_network
from lstm_core.model import ForecastNet, pinball_loss
from lstm_core.threads import cores
from lstm_core.train import device_name, evaluate, pick_device, train

from ett_like import table  # an ETTh1-shaped table of random walks (run as a script)

# which profiler category each module belongs to (by its name in ForecastNet)
CATEGORIES = {
    "encoder.bilstm.lstm": "nn.LSTM",
    "encoder.attention": "attention",
    "encoder.bilstm.skip_gate": "gate+norm",
    "encoder.bilstm.layer_norm": "gate+norm",
    "encoder.bilstm.input_proj": "gate+norm",
    "head": "head",
    "spread": "head",
    "nlinear": "head",
}
METHODS = {  # methods that stand in for a module call (see model.py)
    "encoder.pool": "attention",
    "encoder.bilstm.skip_gate.forward_projected": "gate+norm",
}
ORDER = ("nn.LSTM", "attention", "gate+norm", "head", "loss", "optimizer", "other")


def setting(path: str | None, n_inputs: int, device: torch.device, batch_size: int, epochs: int):
    """The benchmark's model and windows, built as ``Forecaster.fit`` builds them."""
    df = read_table(path) if path else table(17_420)  # ETTh1's shape where the file is absent
    cols = [c for c in df.columns if c not in ("date", "OT")]
    cfg = Config().replace(
        data={"time_col": "date", "targets": ["OT"], "covariates": cols[: n_inputs - 1]},
        training={"batch_size": batch_size, "epochs": epochs, "patience": epochs + 1},
    )
    prep = prepare(df, cfg.data)
    values = prep.frame.to_numpy(np.float64)
    n = len(values)
    split = held_out_start(n, cfg.data.horizon, cfg.training.val_fraction)
    scaler = Scaler.fit(values[:split])
    cfg = cfg.replace(
        lstm={
            "hidden_size": resolve_hidden_size(cfg.lstm, values.shape[1]),
            "patch_len": resolve_patch_len(cfg),
        }
    )
    x = torch.as_tensor(scaler.transform(values), dtype=torch.float32, device=device)
    L, H = cfg.data.lookback, cfg.data.horizon
    net = init_network(cfg, x[:split], 1, device)
    return cfg, net, make_windows(x[:split], L, H, 1), make_windows(x[split - L :], L, H, 1)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, cfg: TrainConfig):
    return torch.autocast(
        "cuda", dtype=torch.bfloat16, enabled=device.type == "cuda" and cfg.mixed_precision
    )


def floor(
    net0: ForecastNet, train_xy, cfg: TrainConfig, device: torch.device
) -> tuple[float, float]:
    """Seconds (wall, CPU) of the bare loop over ``cfg.epochs`` epochs of pre-gathered batches."""
    net = copy.deepcopy(net0).train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    x, y = train_xy
    gen = torch.Generator().manual_seed(cfg.seed)
    batches = []
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(x), generator=gen).to(device)
        for idx in perm.split(cfg.batch_size):
            batches.append((x[idx].contiguous(), y[idx].contiguous()))
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    for xb, yb in batches:
        with autocast(device, cfg):
            loss = pinball_loss(net(xb).float(), yb, net.quantiles)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def trainer(net0: ForecastNet, train_xy, val_xy, cfg: TrainConfig, device: torch.device):
    """Seconds (wall, CPU) of ``train`` over the same epochs, validation included, and the
    wall seconds of its batch loops alone (from the batch callbacks; CPU only, as on a GPU the
    host runs ahead of the device)."""
    net = copy.deepcopy(net0)
    stamps: dict[int, list[float]] = defaultdict(list)

    def stamp(epoch: int, batch: int, batches: int) -> None:
        stamps[epoch].append(time.perf_counter())

    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    h = train(net, train_xy, val_xy, cfg, device, on_batch=stamp)
    sync(device)
    assert len(h.train_loss) == cfg.epochs, h.message
    # each epoch: from its first batch's end to its last's, scaled up by one batch
    loops = sum((t[-1] - t[0]) * len(t) / (len(t) - 1) for t in stamps.values() if len(t) > 1)
    return time.perf_counter() - wall, time.process_time() - cpu, loops


def validation_seconds(net0: ForecastNet, val_xy, epochs: int, device: torch.device) -> float:
    """Seconds the trainer spends validating: once before training and after each epoch."""
    net = copy.deepcopy(net0)
    evaluate(net, *val_xy)  # warm-up
    sync(device)
    start = time.perf_counter()
    for _ in range(epochs + 1):
        evaluate(net, *val_xy)
    sync(device)
    return time.perf_counter() - start


def labelled(fn, label: str):
    """``fn`` inside a profiler range named ``label``."""
    from torch.profiler import record_function

    def wrapper(*args, **kwargs):
        with record_function(label):
            return fn(*args, **kwargs)

    return wrapper


def shares(net0: ForecastNet, train_xy, cfg: TrainConfig, device: torch.device, steps: int = 8):
    """Share of a training step's time per part: nn.LSTM, attention, gate+norm (input
    projection, gated skip, LayerNorm), head (correction, spreads, linear path), loss,
    optimizer, other (instance norm, patching, quantile assembly, autograd bookkeeping).

    Forward ops are labelled by ``record_function`` ranges opened by module hooks; a backward
    op inherits the label of the forward op with the same autograd sequence number. On CUDA the
    kernels' device time is counted, else CPU time.
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    net = copy.deepcopy(net0).train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate)
    x, y = train_xy
    xb, yb = x[: cfg.batch_size].contiguous(), y[: cfg.batch_size].contiguous()
    handles = label_parts(net)

    def step():
        with record_function("part::forward"), autocast(device, cfg):
            out = net(xb).float()
        with record_function("part::loss"):
            loss = pinball_loss(out, yb, net.quantiles)
        opt.zero_grad(set_to_none=True)
        with record_function("part::backward"):
            loss.backward()
        with record_function("part::optimizer"):
            opt.step()

    for _ in range(3):
        step()
    sync(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        sync(device)
    for h in handles:
        h.remove()
    total = tally(prof.events(), device.type == "cuda")
    whole = sum(total.values())
    return {k: total.get(k, 0.0) / whole for k in ORDER}, whole / steps / 1e3  # ms per step


def label_parts(net: ForecastNet) -> list:
    """Open a ``part::<name>`` profiler range around each part of ``net`` (CATEGORIES by module
    hooks, METHODS by wrapping); returns the hooks' handles."""
    from torch.profiler import record_function

    open_ranges: dict[str, object] = {}
    handles = []
    for name, module in net.named_modules():
        if name in CATEGORIES:
            label = "part::" + CATEGORIES[name]

            def pre(m, args, label=label, name=name):
                r = record_function(label)
                r.__enter__()
                open_ranges[name] = r

            def post(m, args, out, name=name):
                open_ranges.pop(name).__exit__(None, None, None)

            handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]

    for path, label in METHODS.items():  # parts computed by a method, not a module call
        owner_name, method = path.rsplit(".", 1)
        owner = net.get_submodule(owner_name)
        if hasattr(owner, method):
            setattr(owner, method, labelled(getattr(owner, method), "part::" + label))
    return handles


def tally(events, use_device: bool) -> dict[str, float]:
    """Time per part over the profiled ``events``: forward ops by their range, backward ops by
    the label of the forward op with their sequence number, the rest as "other"."""

    def cost(e) -> float:
        return e.device_time_total if use_device else e.cpu_time_total

    def label_of(e) -> str | None:
        p = e
        while p is not None:
            if p.name.startswith("part::") and p.name not in ("part::forward", "part::backward"):
                return p.name[6:]
            p = p.cpu_parent
        return None

    seq_label: dict[int, str] = {}
    total: dict[str, float] = defaultdict(float)
    for e in events:
        outermost = label_of(e.cpu_parent) is None
        if (
            e.name.startswith("part::")
            and e.name not in ("part::forward", "part::backward")
            and outermost
        ):
            total[e.name[6:]] += cost(e)
        if e.sequence_nr >= 0 and not e.name.startswith("autograd::") and "Backward" not in e.name:
            # nested ops can share a sequence number; a labelled one names the node
            label = label_of(e)
            if label is not None or e.sequence_nr not in seq_label:
                seq_label[e.sequence_nr] = label or "other"
    forward = sum(cost(e) for e in events if e.name == "part::forward")
    backward = sum(cost(e) for e in events if e.name == "part::backward")
    labelled_fwd = sum(v for k, v in total.items() if k in CATEGORIES.values())
    total["other"] += forward - labelled_fwd
    labelled_bwd = 0.0
    for e in events:
        if e.name.startswith("autograd::engine::evaluate_function: "):
            label = seq_label.get(e.sequence_nr)
            if label is None and "AccumulateGrad" in e.name:
                label = "optimizer"
            label = label or "other"
            total[label] += cost(e)
            labelled_bwd += cost(e)
    total["other"] += max(0.0, backward - labelled_bwd)
    return total


def commit() -> str:
    """The checked-out commit, with "+changes" when tracked files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(device: torch.device) -> str:
    where = device_name(device) if device.type != "cpu" else f"{cores()} cores"
    return f"{platform.processor() or platform.machine()}, {where}, torch {torch.__version__}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="ETTh1.csv (default: an ETTh1-shaped synthetic table)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    ap.add_argument("--inputs", type=int, nargs="+", default=[1, 7])
    ap.add_argument(
        "--threads",
        type=int,
        nargs="*",
        default=None,
        help="CPU thread counts to run (default: torch's, i.e. every core)",
    )
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--json", help="also write the figures to this file")
    return ap.parse_args(argv)


def measure(
    net0: ForecastNet, train_xy, val_xy, tc: TrainConfig, device: torch.device, repeats: int
) -> dict:
    """One row: the floor and the trainer per window (best of ``repeats``), their ratios and
    spreads, and validation's share of the trainer's time."""
    windows = len(train_xy[0]) * tc.epochs
    floor(
        net0,
        (train_xy[0][:2048], train_xy[1][:2048]),
        tc.__class__(**{**tc.__dict__, "epochs": 1}),
        device,
    )  # warm-up
    f_runs, t_runs = [], []
    for _ in range(repeats):
        f_runs.append(floor(net0, train_xy, tc, device))
        t_runs.append(trainer(net0, train_xy, val_xy, tc, device))
    val = validation_seconds(net0, val_xy, tc.epochs, device)
    f_best, t_best = min(w for w, _ in f_runs), min(w for w, _, _ in t_runs)
    row = {
        "device": device.type,
        "threads": torch.get_num_threads(),
        "train_windows": len(train_xy[0]),
        "epochs": tc.epochs,
        "floor_us": 1e6 * f_best / windows,
        "trainer_us": 1e6 * t_best / windows,
        "ratio": t_best / f_best,
        "ratio_cpu": min(c for _, c, _ in t_runs) / min(c for _, c in f_runs),
        # the batch loops alone against the floor (CPU: the host's clock is the device's)
        "steps_ratio": (
            min(loop for _, _, loop in t_runs) / f_best if device.type == "cpu" else None
        ),
        "floor_spread": max(w for w, _ in f_runs) / f_best,
        "trainer_spread": max(w for w, _, _ in t_runs) / t_best,
        "validation_share": val / t_best,
        "floor_cpu_us": 1e6 * min(c for _, c in f_runs) / windows,
        "trainer_cpu_us": 1e6 * min(c for _, c, _ in t_runs) / windows,
    }
    return row


def print_tables(rows: list[dict], profile_rows: list[dict]) -> None:
    """The README's tables: throughput per setting, then the profiled shares per part."""
    print()
    print(
        "| inputs | device | threads | floor µs/window | trainer µs/window | ratio (wall) | "
        "ratio (CPU s) | batch loops / floor | validation share | spread floor / trainer |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        loops = f"{r['steps_ratio']:.3f}" if r["steps_ratio"] else "n/a"
        print(
            f"| {r['inputs']} | {r['device']} | {r['threads']} | {r['floor_us']:.1f} | "
            f"{r['trainer_us']:.1f} | **{r['ratio']:.3f}** | {r['ratio_cpu']:.3f} | {loops} | "
            f"{100 * r['validation_share']:.1f}% | "
            f"{r['floor_spread']:.2f} / {r['trainer_spread']:.2f} |"
        )
    if profile_rows:
        print()
        print("| inputs | device | ms/step (profiled) | " + " | ".join(ORDER) + " |")
        print("| --- | --- | --- | " + " | ".join("---" for _ in ORDER) + " |")
        for r in profile_rows:
            print(
                f"| {r['inputs']} | {r['device']} | {r['ms_per_step']:.1f} | "
                + " | ".join(f"{100 * r[k]:.1f}%" for k in ORDER)
                + " |"
            )


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = pick_device(args.device)
    threads = args.threads or [torch.get_num_threads()]
    rows, profile_rows = [], []
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, commit {commit()}, {machine(device)}")
    for n_inputs in args.inputs:
        cfg, net0, train_xy, val_xy = setting(
            args.data, n_inputs, device, args.batch_size, args.epochs
        )
        tc = cfg.training
        for n_threads in threads if device.type == "cpu" else [torch.get_num_threads()]:
            torch.set_num_threads(n_threads)  # this benchmark's own process
            row = {"inputs": n_inputs, **measure(net0, train_xy, val_xy, tc, device, args.repeats)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        if not args.no_profile:
            share, ms = shares(net0, train_xy, tc, device)
            profile_rows.append(
                {
                    "inputs": n_inputs,
                    "device": device.type,
                    "threads": torch.get_num_threads(),
                    "ms_per_step": ms,
                    **share,
                }
            )
            print(json.dumps(profile_rows[-1]), flush=True)
    print_tables(rows, profile_rows)
    out = {
        "machine": machine(device),
        "commit": commit(),
        "date": time.strftime("%Y-%m-%d"),
        "throughput": rows,
        "profile": profile_rows,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
