"""Save and reload N freshly trained checkpoints; count how many are wrongly refused (issue 10).

    python benchmarks/checkpoint_saves.py --n 1000

Each round trains a tiny model (its own seed, data and epoch count, so headers differ in size
the way real saves do), saves it, and loads the bytes back. It also counts how many files the
old test (``data[:1] == b"\\x80"`` or ``data[:2] == b"PK"``) would have refused as pickles, and
the distribution of the header length's first byte.

    python benchmarks/checkpoint_saves.py --race 20

The save race instead (issue 17, item 7): two processes, released together by a barrier, save
the same free name without overwrite, ROUNDS times; it counts the rounds in which both saves
claimed success (the second silently replaced the first), exactly one did, or none did.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_core import checkpoint  # noqa: E402
from lstm_core.config import Config  # noqa: E402
from lstm_core.data.demos import synthetic  # noqa: E402
from lstm_core.errors import CheckpointError  # noqa: E402
from lstm_core.forecaster import Forecaster  # noqa: E402


def old_test_refuses(data: bytes) -> bool:
    return data[:2] == b"\x80\x02" or data[:1] == b"\x80" or data[:2] == b"PK"


def racer(source: Path, folder: str, rounds: int, barrier, results) -> None:
    """One of the two racing processes: each round, wait for the other, then save."""
    fc = checkpoint.load(source)
    for i in range(rounds):
        barrier.wait(timeout=120)
        try:
            checkpoint.save(fc, f"race{i}", folder, overwrite=False)
            results.put((i, True))
        except CheckpointError:  # CheckpointExists where it is defined
            results.put((i, False))


def race(rounds: int) -> None:
    source = Path(checkpoint.CHECKPOINT_DIR) / "demo.safetensors"
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        procs = [ctx.Process(target=racer, args=(source, tmp, rounds, barrier, results))
                 for _ in range(2)]
        for p in procs:
            p.start()
        saved = collections.Counter()
        for _ in range(2 * rounds):
            i, ok = results.get(timeout=300)
            saved[i] += ok
        for p in procs:
            p.join()
    counts = collections.Counter(saved[i] for i in range(rounds))
    print(f"rounds: {rounds}; both saved: {counts[2]}; exactly one: {counts[1]}; "
          f"none: {counts[0]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--race", type=int, metavar="ROUNDS", help="run the save race instead")
    args = ap.parse_args()
    if args.race:
        race(args.race)
        return
    refused, old_refused, first_bytes = [], 0, collections.Counter()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            df, _ = synthetic(n=100 + i % 50, seed=i)
            cfg = Config().replace(
                data={"time_col": "time", "targets": ["y"], "covariates": ["x1"], "lookback": 8,
                      "horizon": 2},
                lstm={"hidden_size": 4, "num_layers": 1, "dropout": 0.0},
                training={"epochs": 1 + i % 4, "batch_size": 32, "seed": i},
            )
            fc = Forecaster(cfg).fit(df)
            data = checkpoint.save(fc, f"m{i}", tmp).read_bytes()
            first_bytes[data[0]] += 1
            old_refused += old_test_refuses(data)
            try:
                again = checkpoint.loads(data, f"m{i}")
                assert again.fingerprint() == fc.fingerprint()
            except CheckpointError as e:
                refused.append((i, str(e)))
    seconds = time.perf_counter() - start
    print(f"saves: {args.n} in {seconds:.0f} s")
    print(f"refused on load (new loader): {len(refused)}")
    for i, why in refused[:5]:
        print(f"  save {i}: {why}")
    print(f"refused by the old pickle test: {old_refused} ({100 * old_refused / args.n:.1f}%)")
    print(f"header length first byte 0x80: {first_bytes[0x80]}; distinct first bytes: "
          f"{len(first_bytes)} (lengths are multiples of 8)")


if __name__ == "__main__":
    main()
