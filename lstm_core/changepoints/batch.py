"""Change points of every series of a panel: one ``detect`` per series, run serially, on local
processes or on a Ray cluster, with the same result whichever runs it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from lstm_core import threads
from lstm_core.changepoints.pipeline import detect
from lstm_core.changepoints.results import Detection
from lstm_core.errors import LstmCoreError
from lstm_core.panel import Panel
from lstm_core.safeio import clip

CHUNKS_PER_WORKER = 4  # more chunks than workers evens out series of different lengths
# Below this many rows in all, a panel is analysed in this process by default: starting the
# worker processes (each imports torch and pandas, ~3-5 s on a loaded 2-core machine) would cost
# more than it saves (detection takes ~0.1 ms per row, so 50,000 rows take ~5 s serially).
PARALLEL_ROWS = 50_000
# A panel's series are read without a model unless asked: a detection model per series (the
# single-series default, about 0.7 s for 500 rows) would make 1,000 series take 12 min, not 2.
PANEL_FEATURES = "raw"
# (id, the series' rows) -> (id, its Detection or why detection failed)
Chunk = list[tuple[str, pd.DataFrame]]
Outcome = list[tuple[str, "Detection | str"]]


class ClusterError(LstmCoreError):
    """Ray is not installed, or no cluster answers at the address given."""


@dataclass(frozen=True)
class PanelDetection:
    """Each series' Detection, in the panel's order; ``to_dict`` is the same whichever way the
    work ran (``mode`` and ``seconds`` say how it ran and are not part of it)."""

    ids: tuple[str, ...]
    detections: Mapping[str, Detection]
    failed: Mapping[str, str]  # id -> why detection could not run on that series
    mode: str = field(default="serial", compare=False)
    seconds: float = field(default=0.0, compare=False)

    def table(self) -> pd.DataFrame:
        """Every change point as a row: id, then the columns of ``Detection.table()``."""
        parts = [d.table().assign(id=sid) for sid, d in self.detections.items()]
        if not parts:
            return pd.DataFrame(columns=["id", "index", "time", "kind", "columns"])
        out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        return out[["id", *[c for c in out.columns if c != "id"]]]

    def counts(self) -> pd.DataFrame:
        """One row per series: id, rows, change points, their kinds (or why it failed)."""
        rows = []
        for sid in self.ids:
            d = self.detections.get(sid)
            if d is None:
                rows.append(
                    {
                        "id": sid,
                        "rows": 0,
                        "change points": 0,
                        "kinds": "",
                        "problem": self.failed.get(sid, ""),
                    }
                )
                continue
            kinds = pd.Series([c.kind for c in d.change_points], dtype=object).value_counts()
            rows.append(
                {
                    "id": sid,
                    "rows": len(d.score),
                    "change points": len(d.change_points),
                    "kinds": ", ".join(f"{k} {v}" for k, v in kinds.items()),
                    "problem": "",
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """Plain JSON-ready data: one entry per series (``Detection.to_dict`` plus its id)."""
        return {
            "series": [
                {"id": sid, **self.detections[sid].to_dict()}
                for sid in self.ids
                if sid in self.detections
            ],
            "failed": dict(self.failed),
        }


def detect_panel(
    panel: Panel,
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    **options,
) -> PanelDetection:
    """``changepoints.detect`` on every series of ``panel``.

    Args:
        panel: the series; each is read with the panel's time column and value columns.
        workers: local processes; 1 runs in this process. Default: every core, or this
            process alone for a panel under PARALLEL_ROWS rows. Ignored with ``ray_address``.
        ray_address: run on a Ray cluster: "auto" (the one this machine belongs to) or its
            address (``ray://host:10001``, ``host:6379``); a Ray session already started in
            this process (``ray.init``) is used as it is.
        on_chunk: progress callback (chunks done, chunks in all).
        **options: keywords of ``detect`` (sensitivity, features, classical_method, config,
            min_size, margin, settings); ``known`` is per series and cannot be given. Features
            default to PANEL_FEATURES (None too), not ``detect``'s own default.

    Returns:
        PanelDetection; a series that cannot be analysed (too short, constant...) is in
        ``failed`` with the reason instead of stopping the others.

    Raises:
        ClusterError: Ray is not installed or the cluster cannot be reached.
    """
    if "known" in options or "data" in options:
        raise TypeError("detect_panel takes no per-series 'known' or 'data'")
    options = {**options, "time_col": panel.time_col, "columns": list(panel.columns)}
    options["features"] = options.get("features") or PANEL_FEATURES
    items = [(sid, panel.select(sid)) for sid in panel.ids]
    if workers is None:
        small = sum(len(frame) for _, frame in items) < PARALLEL_ROWS
        workers = 1 if small else threads.cores()
    n_workers = max(1, workers)
    start = time.perf_counter()
    if ray_address:
        outcomes, mode = _run_ray(items, options, ray_address, on_chunk)
    elif n_workers > 1 and len(items) > 1:
        chunks = _chunks(items, n_workers)
        outcomes, mode = (
            _run_processes(chunks, options, n_workers, on_chunk),
            (f"{n_workers} local processes"),
        )
    else:
        outcomes, mode = [], "serial"
        chunks = _chunks(items, 1)
        for i, chunk in enumerate(chunks):
            outcomes.append(detect_chunk(chunk, options))
            if on_chunk:
                on_chunk(i + 1, len(chunks))
    results = {sid: r for outcome in outcomes for sid, r in outcome}
    detections = {sid: r for sid, r in results.items() if isinstance(r, Detection)}
    failed = {sid: r for sid, r in results.items() if isinstance(r, str)}
    return PanelDetection(
        panel.ids,
        MappingProxyType(detections),
        MappingProxyType(failed),
        mode,
        time.perf_counter() - start,
    )


def detect_chunk(chunk: Chunk, options: dict) -> Outcome:
    """Detect change points in each series of ``chunk`` (what a worker runs); a user error in
    one series is its result, not the chunk's failure."""
    out: Outcome = []
    for sid, frame in chunk:
        try:
            out.append((sid, detect(frame, **options)))
        except LstmCoreError as e:
            out.append((sid, clip(str(e), 300)))
    return out


def _chunks(items: Sequence, n_workers: int) -> list[Chunk]:
    """Consecutive slices of ``items``: CHUNKS_PER_WORKER per worker, at least one series."""
    n = max(1, min(len(items), n_workers * CHUNKS_PER_WORKER))
    size = math.ceil(len(items) / n) if items else 1
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _run_processes(
    chunks: list[Chunk], options: dict, workers: int, on_chunk: Callable | None
) -> list[Outcome]:
    """Chunks on fresh local processes (spawned: nothing of this process' state is inherited,
    so results match the serial run); results in submission order."""
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)), mp_context=get_context("spawn")
    ) as pool:
        futures = [pool.submit(detect_chunk, c, options) for c in chunks]
        out = []
        for i, f in enumerate(futures):
            out.append(f.result())
            if on_chunk:
                on_chunk(i + 1, len(chunks))
    return out


def init_ray(address: str | None = None, **kwargs) -> None:
    """Open a Ray session whose workers can import this package: it is shipped to the cluster
    with the job (``py_modules``), so the nodes need its requirements, not a copy of it.

    Args:
        address: "auto", a cluster's address, or None for a new local Ray.
        **kwargs: more ``ray.init`` keywords (``num_cpus=2`` for a small local Ray).

    Raises:
        ClusterError: Ray is not installed or no cluster answers at ``address``.
    """
    ray = _ray()
    package = str(Path(__file__).resolve().parents[1])
    try:
        ray.init(
            address=address,
            runtime_env={"py_modules": [package]},
            log_to_driver=False,
            logging_level="ERROR",
            **kwargs,
        )
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ClusterError(
            f"no Ray cluster answered at {clip(str(address), 80)} ({clip(str(e), 120)}); start "
            "one with `ray start --head`, or give its address"
        ) from None


def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterError(
            "--ray needs Ray: pip install 'ray>=2.9' (or pip install -r requirements-dev.txt)"
        ) from None
    return ray


def _run_ray(
    items: Chunk, options: dict, address: str, on_chunk: Callable | None
) -> tuple[list[Outcome], str]:
    """Chunks as Ray tasks (CHUNKS_PER_WORKER per cluster CPU), in the session open in this
    process or one opened here (and closed at the end) with ``init_ray``."""
    ray = _ray()
    opened = not ray.is_initialized()
    if opened:
        init_ray(address)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        chunks = _chunks(items, max(1, cpus))
        task = ray.remote(detect_chunk)
        refs = [task.remote(c, options) for c in chunks]
        out = []
        for i, ref in enumerate(refs):
            try:
                out.append(ray.get(ref))
            except ray.exceptions.RayTaskError as e:
                if "No module named 'lstm_core'" not in str(e):
                    raise
                raise ClusterError(
                    "the Ray workers cannot import lstm_core: open the session with "
                    "lstm_core.changepoints.batch.init_ray, or install lstm_core on every node"
                ) from None
            if on_chunk:
                on_chunk(i + 1, len(chunks))
    finally:
        if opened:
            ray.shutdown()
    return out, f"ray ({cpus} CPUs)"


def synthetic_changes(
    n_series: int = 100,
    n: int = 500,
    seed: int = 0,
    kinds: Sequence[str] = ("level", "spread", "trend"),
) -> tuple[pd.DataFrame, dict[str, tuple[int, ...]]]:
    """A long table (id, time, value) of seeded univariate series with known change points
    (``synthetic.pw_change``, the kinds in turn, 0 to 2 changes each), and those points."""
    from lstm_core.changepoints.synthetic import pw_change

    frames, known = [], {}
    time = pd.date_range("2024-01-01", periods=n, freq="h")
    for i in range(n_series):
        s = pw_change(kinds[i % len(kinds)], n=n, n_bkps=i % 3, seed=seed * 100_003 + i)
        sid = f"C{i:04d}"
        frames.append(pd.DataFrame({"id": sid, "time": time, "value": s.signal[:, 0]}))
        known[sid] = s.change_points
    return pd.concat(frames, ignore_index=True), known
