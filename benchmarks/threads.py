"""Training threads on a quiet and on a loaded machine: time per batch with the thread count
``threads.for_training`` chooses (the free cores) against torch's default (every core).

    python benchmarks/threads.py                    # quiet, then 2 busy-loop processes
    python benchmarks/threads.py --busy 0 1 2 --batches 40 --repeats 3

For each load, ``--busy N`` processes spin on the CPU (``while True: pass``); after ``--settle``
seconds (the 1-minute load average needs about a minute to see them) the training loop runs
``--batches`` batches of the default model (lookback 168, horizon 48, batch 64, hidden 32,
1 input, random-walk data) at the chosen count and at torch's default, alternating,
``--repeats`` times; the table gives the median seconds per batch and the load average that
the choice read. No OMP_WAIT_POLICY is set: what a plain `python -m lstm_core train` gets.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_core import threads
from lstm_core.config import Config
from lstm_core.network import fit_network


def seconds_per_batch(cfg: Config, rows: torch.Tensor, batches: int) -> float:
    """Train one epoch of ``batches`` batches (a tiny validation) and time it per batch."""
    d = cfg.data
    n_train = batches * cfg.training.batch_size + d.lookback + d.horizon - 1
    val = rows[n_train - d.lookback : n_train + d.horizon + 8]
    start = time.perf_counter()
    fit_network(cfg, rows[:n_train], val, 1, torch.device("cpu"))
    return (time.perf_counter() - start) / batches


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--busy", type=int, nargs="+", default=[0, 2], help="busy-loop processes")
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--settle", type=float, default=75.0, help="seconds before measuring")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(args.batches * 64 + 400, 1)), axis=0)
    rows = torch.as_tensor((walk - walk.mean()) / walk.std(), dtype=torch.float32)
    cfg = Config().replace(
        data={"lookback": 168, "horizon": 48},
        lstm={"hidden_size": 32, "patch_len": 7},
        training={"epochs": 1, "patience": 1},
    )
    default = torch.get_num_threads()
    print(f"{threads.cores()} cores; torch's default: {default} threads; torch {torch.__version__}")
    print("| busy processes | load (1 min) | chosen threads | s/batch chosen | s/batch default "
          f"({default}) | default / chosen |")
    print("| --- | --- | --- | --- | --- | --- |")
    for busy in args.busy:
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(busy)]
        try:
            if busy:
                time.sleep(args.settle)
            load, chosen = threads.load(), threads.for_training()
            times: dict[int, list[float]] = {chosen: [], default: []}
            for _ in range(args.repeats):
                for n in dict.fromkeys((chosen, default)):
                    c = cfg.replace(training={"threads": n})
                    times[n].append(seconds_per_batch(c, rows, args.batches))
        finally:
            for s in spinners:
                s.kill()
                s.wait()
        a, b = statistics.median(times[chosen]), statistics.median(times[default])
        print(f"| {busy} | {load:.2f} | {chosen} | {a:.4f} | {b:.4f} | {b / a:.2f} |", flush=True)


if __name__ == "__main__":
    main()
